package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// goFiles returns the ```go blocks of a markdown text whose first line names
// a file ("// algos/coin/coin.go"), by that name. Other blocks are snippets
// (shell, notebook cells) and are not compiled.
func goFiles(md []byte) (map[string]string, error) {
	files := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(md))
	var (
		in    bool
		name  string
		block strings.Builder
		line  int
		start int
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case !in && text == "```go":
			in, name, start = true, "", line
			block.Reset()
		case in && text == "```":
			in = false
			if name == "" {
				return nil, fmt.Errorf("line %d: go block without a file name comment", start)
			}
			if _, dup := files[name]; dup {
				return nil, fmt.Errorf("line %d: second block for %s", start, name)
			}
			files[name] = block.String()
		case in && name == "" && block.Len() == 0:
			name = strings.TrimSpace(strings.TrimPrefix(text, "//"))
			if !strings.HasPrefix(text, "// ") || !strings.HasSuffix(name, ".go") {
				return nil, fmt.Errorf("line %d: go block starts with %q, want // path/to/file.go", line, text)
			}
			block.WriteString(text + "\n")
		case in:
			block.WriteString(text + "\n")
		}
	}
	if in {
		return nil, fmt.Errorf("line %d: go block not closed", start)
	}
	return files, sc.Err()
}

func TestGoFiles(t *testing.T) {
	md := "text\n```go\n// a/b.go\npackage b\n```\n```text\nnot go\n```\n```go\n// a/b_test.go\n\npackage b\n```\n"
	files, err := goFiles([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files["a/b.go"] != "// a/b.go\npackage b\n" || files["a/b_test.go"] != "// a/b_test.go\n\npackage b\n" {
		t.Errorf("got %q", files)
	}
	for _, bad := range []string{"```go\npackage b\n```\n", "```go\n// a/b.go\n", "```go\n// a.go\n```\n```go\n// a.go\n```\n"} {
		if _, err := goFiles([]byte(bad)); err == nil {
			t.Errorf("goFiles(%q): no error", bad)
		}
	}
}

// TestWritingAPlugin writes the plugin and test shown in writing-a-plugin.md
// into a scratch package inside the module and runs go vet and go test on
// it. The scratch directory begins with "_", so that "go build ./..." and
// "go vet ./..." running meanwhile do not pick it up.
func TestWritingAPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a package (several seconds)")
	}
	md, err := os.ReadFile("writing-a-plugin.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := goFiles(md)
	if err != nil {
		t.Fatalf("writing-a-plugin.md: %v", err)
	}
	var pkgDir string
	for name := range files {
		if dir := path.Dir(name); pkgDir == "" {
			pkgDir = dir
		} else if dir != pkgDir {
			t.Fatalf("the guide's files are in %s and %s, want one package", pkgDir, dir)
		}
	}
	if _, ok := files[pkgDir+"/coin.go"]; !ok || len(files) != 3 {
		t.Fatalf("want the plugin, its model and its test, got %v", keys(files))
	}

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	buildDir := filepath.Join(root, "build")
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		t.Fatal(err)
	}
	scratch, err := os.MkdirTemp(buildDir, "_docsplugin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(scratch, path.Base(name)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel, err := filepath.Rel(root, scratch)
	if err != nil {
		t.Fatal(err)
	}
	pkg := "./" + filepath.ToSlash(rel)
	for _, args := range [][]string{{"vet", pkg}, {"test", "-count=1", pkg}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		} else {
			t.Logf("go %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestAddingAFamily follows docs/adding-a-family.md literally: in a scratch
// copy of the module it writes the guide's family into algos/skill, adds the
// one blank import to algos/all (the only edit outside the folder), and runs
// go vet and go test on the family, the determinism test of every plugin
// for it, and the import-direction tests.
func TestAddingAFamily(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the module and builds it (a minute)")
	}
	md, err := os.ReadFile("adding-a-family.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := goFiles(md)
	if err != nil {
		t.Fatalf("adding-a-family.md: %v", err)
	}
	for name := range files {
		if path.Dir(name) != "algos/skill" {
			t.Fatalf("the guide writes %s, outside its family's folder algos/skill", name)
		}
	}
	const importLine = `_ "github.com/alignlab/alignlab/algos/skill"`
	if !bytes.Contains(md, []byte(importLine)) {
		t.Fatalf("the guide does not show the algos/all line %s", importLine)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	scratch, err := os.MkdirTemp(filepath.Join(root, "build"), "_family")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	if err := copyModule(root, scratch); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		dst := filepath.Join(scratch, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	allGo := filepath.Join(scratch, "algos", "all", "all.go")
	src, err := os.ReadFile(allGo)
	if err != nil {
		t.Fatal(err)
	}
	patched := strings.Replace(string(src), "import (\n", "import (\n\t"+importLine+"\n", 1)
	if patched == string(src) {
		t.Fatal("algos/all/all.go has no import block to add the family to")
	}
	if err := os.WriteFile(allGo, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args []string
		want string // in the output, when set
	}{
		{[]string{"vet", "./algos/skill"}, ""},
		{[]string{"test", "-count=1", "./algos/skill"}, ""},
		{[]string{"test", "-count=1", "-run", "TestEveryPluginDeterministic/skill.bt", "-v", "./replicate"}, "--- PASS: TestEveryPluginDeterministic/skill.bt"},
		{[]string{"test", "-count=1", "-run", "TestEveryTrainingPluginSavesItsModel/skill.bt", "-v", "./replicate"}, "--- PASS: TestEveryTrainingPluginSavesItsModel/skill.bt"},
		{[]string{"test", "-count=1", "./algos/all"}, ""},
	} {
		cmd := exec.Command("go", step.args...)
		cmd.Dir = scratch
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("go %s: %v\n%s", strings.Join(step.args, " "), err, out)
		} else if !strings.Contains(string(out), step.want) {
			t.Errorf("go %s: no %q in its output:\n%s", strings.Join(step.args, " "), step.want, out)
		}
	}
}

// copyModule copies the module's source tree (not .git, build outputs or
// notebooks) from root to dst.
func copyModule(root, dst string) error {
	skip := map[string]bool{".git": true, "build": true, "notebooks": true, "out": true}
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel != "." && (skip[d.Name()] || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
