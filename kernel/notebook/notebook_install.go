package notebook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/kernel"
)

// The notebook kernel is GoNB (github.com/janpfeifer/gonb) installed as a
// Jupyter kernelspec of its own, so that notebooks of this repository name
// "alignlab" and get the Go toolchain and backend they need whatever the
// user's shell has.

// Defaults of KernelspecOptions.
const (
	DefaultKernelName        = "alignlab"
	DefaultKernelDisplayName = "Go (alignlab)"
	// DefaultToolchain is the GOTOOLCHAIN put in the kernel's environment
	// when the module's go.mod cannot be read; GoMLX needs Go ≥ 1.27.
	DefaultToolchain = "go1.27.3"
	// GoExperiment is the GOEXPERIMENT of the kernel's environment, as
	// make's: Go 1.27's SIMD kernels of the GoMLX backend (cells train
	// 2–9× faster; divergence checks do not rely on NaN, see algos/fit).
	// InstallKernelspec sets it only when the go command on PATH is the
	// fixed toolchain of scripts/gotoolchain.sh (see SIMDFixStamp).
	GoExperiment = "simd"
	// SIMDFixStamp is the file scripts/gotoolchain.sh leaves in the GOROOT
	// of its go1.27.3, whose SIMD partial loads stay inside their slices.
	// go1.27.3's own read past the end and can crash the backend
	// (bench/simd/README.md, section 4), so a kernel built on any other
	// go runs the scalar build.
	SIMDFixStamp = ".alignlab-simdfix"
)

// Versions of the helper tools GoNB wants, built each from its own module
// (built together in one module they conflict). gopls v0.24.0 needs Go 1.27,
// which DefaultToolchain provides.
const (
	goimportsModule = "golang.org/x/tools/cmd/goimports@v0.52.0"
	goplsModule     = "golang.org/x/tools/gopls@v0.24.0"
	gonbPackage     = "github.com/janpfeifer/gonb" // version pinned by the tool directive of go.mod
	modulePath      = "github.com/alignlab/alignlab"
)

// JupyterMissingHint is the install command given when Jupyter is not found.
const JupyterMissingHint = "apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel"

// Kernelspec scopes, as in `jupyter kernelspec install`.
const (
	ScopeUser      = "user"       // the Jupyter data dir (JUPYTER_DATA_DIR or ~/.local/share/jupyter)
	ScopeSysPrefix = "sys-prefix" // sys.prefix/share/jupyter of the Python that runs jupyter
	ScopePrefix    = "prefix"     // Prefix/share/jupyter
)

// KernelspecOptions say where InstallKernelspec puts the kernel and how it
// gets the binaries. The zero value installs "alignlab" for the user,
// building the tools into GOBIN (or GOPATH/bin).
type KernelspecOptions struct {
	Name        string // kernelspec name (folder), default DefaultKernelName
	DisplayName string // name shown in Jupyter's menus, default DefaultKernelDisplayName
	Scope       string // ScopeUser (default), ScopeSysPrefix or ScopePrefix
	Prefix      string // the prefix of ScopePrefix
	// BinDir receives gonb, goimports and gopls (GOBIN of the builds);
	// default `go env GOBIN`, else GOPATH/bin.
	BinDir string
	// ModuleDir is the alignlab checkout whose go.mod pins GoNB; default:
	// found upwards from the working directory.
	ModuleDir string
	// SkipBuild uses the binaries already in BinDir instead of building them.
	SkipBuild bool
	// Log receives the commands run and their output; nil discards them.
	Log io.Writer
}

// JupyterMissingError says that the jupyter command is not on PATH.
type JupyterMissingError struct{}

func (*JupyterMissingError) Error() string {
	return "notebook: jupyter not found in PATH; install it with: " + JupyterMissingHint
}

func (o *KernelspecOptions) defaults() error {
	if o.Name == "" {
		o.Name = DefaultKernelName
	}
	if strings.ContainsAny(o.Name, `/\ `) || o.Name == "." || o.Name == ".." {
		return fmt.Errorf("notebook: kernel name %q: want a plain folder name", o.Name)
	}
	if o.DisplayName == "" {
		o.DisplayName = DefaultKernelDisplayName
	}
	switch o.Scope {
	case "":
		o.Scope = ScopeUser
	case ScopeUser, ScopeSysPrefix:
	case ScopePrefix:
		if o.Prefix == "" {
			return errors.New("notebook: --prefix needs a directory")
		}
	default:
		return fmt.Errorf("notebook: scope %q: want user, sys-prefix or prefix", o.Scope)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// KernelspecDir returns the folder that holds (or would hold) the kernelspec
// of opts, with the semantics of `jupyter kernelspec install`: the user's
// Jupyter data dir (`jupyter --data-dir`, which honours JUPYTER_DATA_DIR),
// PREFIX/share/jupyter/kernels, or sys.prefix/share/jupyter/kernels.
func KernelspecDir(opts KernelspecOptions) (string, error) {
	if err := opts.defaults(); err != nil {
		return "", err
	}
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		return "", &JupyterMissingError{}
	}
	var base string
	switch opts.Scope {
	case ScopeUser:
		out, err := exec.Command(jupyter, "--data-dir").Output()
		if err != nil {
			return "", fmt.Errorf("notebook: jupyter --data-dir: %v", commandError(err))
		}
		base = strings.TrimSpace(string(out))
	case ScopePrefix:
		base = filepath.Join(opts.Prefix, "share", "jupyter")
	case ScopeSysPrefix:
		prefix, err := jupyterSysPrefix(jupyter)
		if err != nil {
			return "", err
		}
		base = filepath.Join(prefix, "share", "jupyter")
	}
	if base == "" {
		return "", errors.New("notebook: jupyter --data-dir printed nothing")
	}
	abs, err := filepath.Abs(filepath.Join(base, "kernels", opts.Name))
	if err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	return abs, nil
}

// jupyterSysPrefix asks the Python that runs the jupyter script for its
// sys.prefix, as `jupyter kernelspec install --sys-prefix` uses it.
func jupyterSysPrefix(jupyter string) (string, error) {
	f, err := os.Open(jupyter)
	if err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	interp := strings.Fields(strings.TrimPrefix(line, "#!"))
	if !strings.HasPrefix(line, "#!") || len(interp) == 0 {
		return "", fmt.Errorf("notebook: --sys-prefix: %s is not a Python script; use --prefix", jupyter)
	}
	if filepath.Base(interp[0]) == "env" {
		interp = interp[1:]
	}
	if len(interp) == 0 {
		return "", fmt.Errorf("notebook: --sys-prefix: cannot read the interpreter of %s; use --prefix", jupyter)
	}
	args := append(interp[1:], "-c", "import sys; print(sys.prefix)")
	out, err := exec.Command(interp[0], args...).Output()
	if err != nil {
		return "", fmt.Errorf("notebook: --sys-prefix: %s: %v", interp[0], commandError(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// InstallKernelspec builds GoNB (at the version of the module's tool
// directive), goimports and gopls, and installs the Jupyter kernelspec
// opts.Name running GoNB with GOTOOLCHAIN, PATH, GOMLX_BACKEND and
// GOEXPERIMENT set. It replaces an earlier install in the same place, so
// running it twice is harmless. It returns the kernelspec folder.
//
// It refuses with a *JupyterMissingError when jupyter is not on PATH.
func InstallKernelspec(opts KernelspecOptions) (string, error) {
	dest, err := KernelspecDir(opts)
	if err != nil {
		return "", err
	}
	_ = opts.defaults() // already checked by KernelspecDir
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("notebook: the go command is not in PATH")
	}
	if opts.ModuleDir == "" {
		if opts.ModuleDir, err = findModuleDir(); err != nil && !opts.SkipBuild {
			return "", err
		}
	}
	toolchain := moduleToolchain(opts.ModuleDir)
	if opts.BinDir == "" {
		if opts.BinDir, err = defaultBinDir(goBin, opts.ModuleDir, toolchain); err != nil {
			return "", err
		}
	}
	if opts.BinDir, err = filepath.Abs(opts.BinDir); err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	if !opts.SkipBuild {
		if err := buildTools(goBin, opts, toolchain); err != nil {
			return "", err
		}
	}
	tools := map[string]string{}
	for _, name := range []string{"gonb", "goimports", "gopls"} {
		p := filepath.Join(opts.BinDir, name)
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("notebook: %s not found in %s (build it, or drop the skip-build option)", name, opts.BinDir)
		}
		tools[name] = p
	}

	// GoNB writes its own kernelspec (argv with its flags, logo) into a
	// scratch data dir; we take it from there under our name.
	scratch, err := os.MkdirTemp("", "alignlab-kernelspec-")
	if err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	defer os.RemoveAll(scratch)
	cmd := exec.Command(tools["gonb"], "--install")
	cmd.Env = append(os.Environ(),
		"JUPYTER_DATA_DIR="+scratch,
		"PATH="+opts.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOTOOLCHAIN="+toolchain)
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	fmt.Fprintf(opts.Log, "JUPYTER_DATA_DIR=%s %s --install\n", scratch, tools["gonb"])
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("notebook: gonb --install: %v", err)
	}
	src := filepath.Join(scratch, "kernels", "gonb")
	raw, err := os.ReadFile(filepath.Join(src, "kernel.json"))
	if err != nil {
		return "", fmt.Errorf("notebook: gonb --install wrote no kernel.json: %v", err)
	}
	experiment := ""
	if HasSIMDFix(goBin) {
		experiment = GoExperiment
	} else {
		fmt.Fprintf(opts.Log, "notebook: %s is not the toolchain of scripts/gotoolchain.sh: the kernel runs the scalar build (GOEXPERIMENT unset); put that toolchain first on PATH for the SIMD kernels\n", goBin)
	}
	spec, err := KernelJSON(raw, KernelEnv{
		DisplayName:  opts.DisplayName,
		Gonb:         tools["gonb"],
		Toolchain:    toolchain,
		GoExperiment: experiment,
		PathDirs:     []string{filepath.Dir(goBin), opts.BinDir},
	})
	if err != nil {
		return "", err
	}
	// Stage next to dest, then swap, so a failed install leaves the old one.
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	stage, err := os.MkdirTemp(filepath.Dir(dest), "."+opts.Name+"-")
	if err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	defer os.RemoveAll(stage)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		// GoNB copies its binary into the spec when it lives under /tmp;
		// ours is referenced in place.
		if e.IsDir() || e.Name() == "kernel.json" || strings.HasPrefix(e.Name(), "gonb") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return "", fmt.Errorf("notebook: %v", err)
		}
		if err := os.WriteFile(filepath.Join(stage, e.Name()), b, 0o644); err != nil {
			return "", fmt.Errorf("notebook: %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(stage, "kernel.json"), spec, 0o644); err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	if err := os.RemoveAll(dest); err != nil {
		return "", fmt.Errorf("notebook: replacing %s: %v", dest, err)
	}
	if err := os.Rename(stage, dest); err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	return dest, nil
}

// UninstallKernelspec removes the kernelspec of opts and returns its folder;
// removed is false when there was nothing to remove.
func UninstallKernelspec(opts KernelspecOptions) (dir string, removed bool, err error) {
	dir, err = KernelspecDir(opts)
	if err != nil {
		return "", false, err
	}
	if _, err := os.Stat(filepath.Join(dir, "kernel.json")); err != nil {
		return dir, false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return dir, false, fmt.Errorf("notebook: %v", err)
	}
	return dir, true, nil
}

// KernelEnv is what KernelJSON puts into a GoNB kernelspec.
type KernelEnv struct {
	DisplayName  string
	Gonb         string   // absolute path of the gonb binary (argv[0])
	Toolchain    string   // GOTOOLCHAIN, e.g. "go1.27.3"
	GoExperiment string   // GOEXPERIMENT: GoExperiment, or "" for the scalar build
	PathDirs     []string // put first on PATH: the dirs of go, gonb, goimports, gopls
}

// HasSIMDFix reports whether the go command at goBin belongs to a GOROOT
// that scripts/gotoolchain.sh made (it holds SIMDFixStamp).
func HasSIMDFix(goBin string) bool {
	if p, err := filepath.EvalSymlinks(goBin); err == nil {
		goBin = p
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(goBin)), SIMDFixStamp))
	return err == nil
}

// KernelJSON rewrites the kernel.json written by `gonb --install`: our
// display name, argv[0] pointing at env.Gonb, and an env with GOTOOLCHAIN,
// GOMLX_BACKEND=go, GOEXPERIMENT (env.GoExperiment) and PATH (env.PathDirs, then the PATH Jupyter was started
// with — Jupyter substitutes ${PATH} — then the usual system dirs, for
// Jupyter versions that do not substitute). Other fields are kept.
func KernelJSON(gonbSpec []byte, env KernelEnv) ([]byte, error) {
	var spec map[string]any
	if err := json.Unmarshal(gonbSpec, &spec); err != nil {
		return nil, fmt.Errorf("notebook: kernel.json of gonb: %v", err)
	}
	argv, _ := spec["argv"].([]any)
	if len(argv) == 0 {
		return nil, errors.New("notebook: kernel.json of gonb has no argv")
	}
	argv[0] = env.Gonb
	spec["argv"] = argv
	spec["display_name"] = env.DisplayName
	spec["language"] = "go"
	vars, _ := spec["env"].(map[string]any)
	if vars == nil {
		vars = map[string]any{}
	}
	var path []string
	seen := map[string]bool{}
	for _, d := range env.PathDirs {
		if d != "" && !seen[d] {
			seen[d] = true
			path = append(path, d)
		}
	}
	path = append(path, "${PATH}", "/usr/local/bin", "/usr/bin", "/bin")
	vars["PATH"] = strings.Join(path, string(os.PathListSeparator))
	vars["GOTOOLCHAIN"] = env.Toolchain
	vars[kernel.BackendEnv] = kernel.DefaultBackend
	vars["GOEXPERIMENT"] = env.GoExperiment
	spec["env"] = vars
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// buildTools runs `go install` for GoNB inside the module (its version comes
// from the tool directive; the proxy does not list GoNB's versions, so
// gonb@version fails) and for goimports and gopls at pinned versions.
func buildTools(goBin string, opts KernelspecOptions, toolchain string) error {
	env := append(os.Environ(), "GOBIN="+opts.BinDir, "GOTOOLCHAIN="+toolchain)
	for _, args := range [][]string{
		{"install", gonbPackage},
		{"install", goimportsModule},
		{"install", goplsModule},
	} {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = opts.ModuleDir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout = io.MultiWriter(&out, opts.Log)
		cmd.Stderr = cmd.Stdout
		fmt.Fprintf(opts.Log, "GOBIN=%s go %s\n", opts.BinDir, strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(out.String())
			if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
				msg = msg[i+1:]
			}
			return fmt.Errorf("notebook: go %s: %v: %s", strings.Join(args, " "), err, msg)
		}
	}
	return nil
}

// findModuleDir walks up from the working directory to the go.mod of this
// module: GoNB's version is pinned there.
func findModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("notebook: %v", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleLine(b) == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("notebook: not inside a checkout of %s (its go.mod pins GoNB): run this from the repository", modulePath)
		}
		dir = parent
	}
}

func moduleLine(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// moduleToolchain returns the toolchain go.mod asks for ("toolchain goX" or
// "go X"), so the kernel follows the module's pin.
func moduleToolchain(moduleDir string) string {
	b, err := os.ReadFile(filepath.Join(moduleDir, "go.mod"))
	if moduleDir == "" || err != nil {
		return DefaultToolchain
	}
	var goLine string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "toolchain":
			return f[1]
		case "go":
			goLine = "go" + f[1]
		}
	}
	if strings.Count(goLine, ".") == 2 { // a release: go1.27.3, not the language version go1.27
		return goLine
	}
	return DefaultToolchain
}

func defaultBinDir(goBin, moduleDir, toolchain string) (string, error) {
	cmd := exec.Command(goBin, "env", "GOBIN", "GOPATH")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain) // a local Go older than go.mod's refuses otherwise
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("notebook: go env: %v", commandError(err))
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) >= 1 && strings.TrimSpace(lines[0]) != "" {
		return strings.TrimSpace(lines[0]), nil
	}
	if len(lines) >= 2 {
		gopath := strings.Split(strings.TrimSpace(lines[1]), string(os.PathListSeparator))[0]
		if gopath != "" {
			return filepath.Join(gopath, "bin"), nil
		}
	}
	return "", errors.New("notebook: neither GOBIN nor GOPATH is set")
}

// commandError adds the first line of a failed command's stderr to err.
func commandError(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if msg := strings.TrimSpace(string(ee.Stderr)); msg != "" {
			msg, _, _ = strings.Cut(msg, "\n")
			return err.Error() + ": " + msg
		}
	}
	return err.Error()
}
