package notebook

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTools writes stand-ins for gonb (which answers --install like the real
// one: a kernel.json and a logo in $JUPYTER_DATA_DIR/kernels/gonb),
// goimports, gopls and, if withJupyter, jupyter (which answers --data-dir).
// It returns the bin dir, to be used as the whole PATH.
func fakeTools(t *testing.T, withJupyter bool) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell-script stand-ins need a POSIX shell")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	mkdir, err1 := exec.LookPath("mkdir")
	cp, err2 := exec.LookPath("cp")
	if err1 != nil || err2 != nil {
		t.Skip("no mkdir or cp")
	}
	bin := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!"+sh+"\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// PATH holds only bin during the tests, so the script names mkdir and cp in full.
	write("gonb", `set -e
d="$JUPYTER_DATA_DIR/kernels/gonb"
`+mkdir+` -p "$d"
printf '{"argv":["%s","--kernel","{connection_file}","-raw_error=false"],"display_name":"Go (gonb)","language":"go","interrupt_mode":"message","env":{}}\n' "$0" > "$d/kernel.json"
echo '<svg/>' > "$d/logo-svg.svg"
`+cp+` "$0" "$d/gonb"
`)
	write("goimports", "exit 0\n")
	write("gopls", "exit 0\n")
	write("go", "exit 0\n")
	if withJupyter {
		write("jupyter", `if [ "$1" = --data-dir ]; then echo "${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}"; exit 0; fi
exit 1
`)
	}
	return bin
}

func readSpec(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("kernel.json: %v\n%s", err, b)
	}
	return spec
}

func TestInstallKernelspecUserScope(t *testing.T) {
	bin := fakeTools(t, true)
	data := t.TempDir()
	t.Setenv("PATH", bin)
	t.Setenv("JUPYTER_DATA_DIR", data)
	opts := KernelspecOptions{BinDir: bin, SkipBuild: true, ModuleDir: "."}
	var dirs []string
	for i := 0; i < 2; i++ { // the second install replaces the first
		dir, err := InstallKernelspec(opts)
		if err != nil {
			t.Fatalf("install #%d: %v", i+1, err)
		}
		dirs = append(dirs, dir)
	}
	want := filepath.Join(data, "kernels", "alignlab")
	if dirs[0] != want || dirs[1] != want {
		t.Fatalf("installed in %v, want %s twice", dirs, want)
	}
	spec := readSpec(t, want)
	if got := spec["display_name"]; got != "Go (alignlab)" {
		t.Errorf("display_name: got %v, want %q", got, "Go (alignlab)")
	}
	argv, _ := spec["argv"].([]any)
	if len(argv) < 3 || argv[0] != filepath.Join(bin, "gonb") || argv[1] != "--kernel" || argv[2] != "{connection_file}" {
		t.Errorf("argv: got %v, want [%s --kernel {connection_file} ...]", argv, filepath.Join(bin, "gonb"))
	}
	env, _ := spec["env"].(map[string]any)
	if got := env["GOTOOLCHAIN"]; got != moduleToolchain(".") {
		t.Errorf("env GOTOOLCHAIN: got %v, want %s", got, moduleToolchain("."))
	}
	if got := env["GOMLX_BACKEND"]; got != "go" {
		t.Errorf("env GOMLX_BACKEND: got %v, want go", got)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	wantExp := ""
	if HasSIMDFix(goBin) {
		wantExp = "simd"
	}
	if got := env["GOEXPERIMENT"]; got != wantExp {
		t.Errorf("env GOEXPERIMENT: got %v, want %q (go on PATH: %s)", got, wantExp, goBin)
	}
	path, _ := env["PATH"].(string)
	if !strings.HasPrefix(path, bin+":") || !strings.Contains(path, "${PATH}") {
		t.Errorf("env PATH: got %q, want the tools' dir first and ${PATH} after", path)
	}
	entries, _ := os.ReadDir(want)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "kernel.json,logo-svg.svg" {
		t.Errorf("kernelspec files: got %v, want [kernel.json logo-svg.svg] (no copied binary, no leftovers)", names)
	}
	siblings, _ := os.ReadDir(filepath.Dir(want))
	if len(siblings) != 1 {
		t.Errorf("kernels dir holds %d entries, want only alignlab (staging dirs must go)", len(siblings))
	}

	dir, removed, err := UninstallKernelspec(opts)
	if err != nil || !removed || dir != want {
		t.Fatalf("uninstall: got (%s, %v, %v), want (%s, true, nil)", dir, removed, err, want)
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Errorf("after uninstall, stat %s: got %v, want not exist", want, err)
	}
	if _, removed, err := UninstallKernelspec(opts); err != nil || removed {
		t.Errorf("second uninstall: got (%v, %v), want (false, nil)", removed, err)
	}
}

func TestInstallKernelspecPrefixAndName(t *testing.T) {
	bin := fakeTools(t, true)
	t.Setenv("PATH", bin)
	prefix := t.TempDir()
	dir, err := InstallKernelspec(KernelspecOptions{
		Scope: ScopePrefix, Prefix: prefix, Name: "lab2", BinDir: bin, SkipBuild: true, ModuleDir: ".",
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(prefix, "share", "jupyter", "kernels", "lab2"); dir != want {
		t.Errorf("dir: got %s, want %s", dir, want)
	}
	readSpec(t, dir)
}

func TestInstallKernelspecWithoutJupyter(t *testing.T) {
	bin := fakeTools(t, false)
	t.Setenv("PATH", bin)
	_, err := InstallKernelspec(KernelspecOptions{BinDir: bin, SkipBuild: true})
	var jm *JupyterMissingError
	if !errors.As(err, &jm) {
		t.Fatalf("got %v, want a *JupyterMissingError", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "apt-get install jupyter-notebook jupyter-nbconvert") {
		t.Errorf("message %q: want one line naming the apt-get command", msg)
	}
}

func TestInstallKernelspecMissingTool(t *testing.T) {
	bin := fakeTools(t, true)
	t.Setenv("PATH", bin)
	t.Setenv("JUPYTER_DATA_DIR", t.TempDir())
	if err := os.Remove(filepath.Join(bin, "gopls")); err != nil {
		t.Fatal(err)
	}
	_, err := InstallKernelspec(KernelspecOptions{BinDir: bin, SkipBuild: true, ModuleDir: "."})
	if err == nil || !strings.Contains(err.Error(), "gopls not found") {
		t.Errorf("got %v, want an error naming gopls", err)
	}
}

func TestKernelJSON(t *testing.T) {
	in := `{"argv":["/tmp/x/gonb","--kernel","{connection_file}"],"display_name":"Go (gonb)","language":"go","interrupt_mode":"message","env":{"KEEP":"1"}}`
	b, err := KernelJSON([]byte(in), KernelEnv{
		DisplayName: "Go (alignlab)", Gonb: "/opt/bin/gonb", Toolchain: "go1.27.3", GoExperiment: "simd",
		PathDirs: []string{"/usr/local/go/bin", "/opt/bin", "/opt/bin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Argv          []string          `json:"argv"`
		DisplayName   string            `json:"display_name"`
		InterruptMode string            `json:"interrupt_mode"`
		Env           map[string]string `json:"env"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"KEEP":          "1",
		"GOTOOLCHAIN":   "go1.27.3",
		"GOMLX_BACKEND": "go",
		"GOEXPERIMENT":  "simd",
		"PATH":          "/usr/local/go/bin:/opt/bin:${PATH}:/usr/local/bin:/usr/bin:/bin",
	}
	for k, v := range want {
		if spec.Env[k] != v {
			t.Errorf("env %s: got %q, want %q", k, spec.Env[k], v)
		}
	}
	if spec.Argv[0] != "/opt/bin/gonb" || spec.DisplayName != "Go (alignlab)" || spec.InterruptMode != "message" {
		t.Errorf("got argv[0]=%q display_name=%q interrupt_mode=%q", spec.Argv[0], spec.DisplayName, spec.InterruptMode)
	}
	if _, err := KernelJSON([]byte(`{"argv":[]}`), KernelEnv{}); err == nil {
		t.Error("empty argv: got nil error, want one")
	}
}

func TestModuleToolchain(t *testing.T) {
	for _, tc := range []struct{ gomod, want string }{
		{"module m\n\ngo 1.27.3\n", "go1.27.3"},
		{"module m\n\ngo 1.27\n\ntoolchain go1.27.5\n", "go1.27.5"},
		{"module m\n\ngo 1.27\n", DefaultToolchain},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(tc.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := moduleToolchain(dir); got != tc.want {
			t.Errorf("go.mod %q: got %s, want %s", tc.gomod, got, tc.want)
		}
	}
}

// TestInstallKernelspecRealJupyter checks that the real Jupyter finds the
// kernel where InstallKernelspec put it (skipped without Jupyter).
func TestInstallKernelspecRealJupyter(t *testing.T) {
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		t.Skip("jupyter not installed")
	}
	bin := fakeTools(t, false)
	data := t.TempDir()
	t.Setenv("PATH", bin+":"+filepath.Dir(jupyter)+":"+os.Getenv("PATH"))
	t.Setenv("JUPYTER_DATA_DIR", data)
	dir, err := InstallKernelspec(KernelspecOptions{BinDir: bin, SkipBuild: true, ModuleDir: "."})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(jupyter, "kernelspec", "list", "--json").Output()
	if err != nil {
		t.Skipf("jupyter kernelspec list: %v (jupyter-client missing?)", err)
	}
	var list struct {
		Kernelspecs map[string]struct {
			ResourceDir string `json:"resource_dir"`
			Spec        struct {
				DisplayName string `json:"display_name"`
			} `json:"spec"`
		} `json:"kernelspecs"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("jupyter kernelspec list --json: %v", err)
	}
	ks, ok := list.Kernelspecs["alignlab"]
	if !ok || ks.ResourceDir != dir || ks.Spec.DisplayName != "Go (alignlab)" {
		t.Errorf("jupyter sees %+v, want alignlab in %s named Go (alignlab)", list.Kernelspecs["alignlab"], dir)
	}
}

// HasSIMDFix looks for the stamp of scripts/gotoolchain.sh in the GOROOT
// above the go command, through a symlink too.
func TestHasSIMDFix(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "goroot", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	goBin := filepath.Join(bin, "go")
	if err := os.WriteFile(goBin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "go")
	if err := os.Symlink(goBin, link); err != nil {
		t.Fatal(err)
	}
	if HasSIMDFix(goBin) || HasSIMDFix(link) {
		t.Error("HasSIMDFix without the stamp: true, want false")
	}
	if err := os.WriteFile(filepath.Join(root, "goroot", SIMDFixStamp), []byte("go1.27.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !HasSIMDFix(goBin) || !HasSIMDFix(link) {
		t.Error("HasSIMDFix with the stamp: false, want true")
	}
}
