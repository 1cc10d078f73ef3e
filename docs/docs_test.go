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
	if _, ok := files[pkgDir+"/coin.go"]; !ok || len(files) != 2 {
		t.Fatalf("want the plugin and its test, got %v", keys(files))
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
