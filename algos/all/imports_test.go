package all

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

const module = "github.com/alignlab/alignlab/"

// shared are the algos/ packages every family may import; every other
// folder under algos/ (but all) is a family.
var shared = map[string]bool{"artifact": true, "backend": true, "decoder": true, "fit": true, "pairloss": true}

// goList runs go list in the module root and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Plugins link neither the notebook side nor the chart library: nothing
// under algos/ depends, even indirectly, on GoNB, go-echarts, plots or the
// kernel's report and notebook packages.
func TestAlgosLinkNoNotebookOrCharts(t *testing.T) {
	for _, dep := range goList(t, "-deps", "./algos/...") {
		for _, bad := range []string{"github.com/janpfeifer/gonb", "github.com/go-echarts/", module + "plots", module + "kernel/report", module + "kernel/notebook"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("go list -deps ./algos/... includes %s", dep)
			}
		}
	}
}

// No family imports another: shared code lives in algos/fit, algos/decoder, algos/artifact,
// algos/pairloss or algos/backend, and those import no family.
func TestNoFamilyImportsAnother(t *testing.T) {
	families := 0
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./algos/...") {
		fields := strings.Fields(line)
		from := family(fields[0])
		if from == "" || from == "all" {
			continue
		}
		if !shared[from] {
			families++
		}
		for _, imp := range fields[1:] {
			to := family(imp)
			if to == "" || to == from || shared[to] {
				continue
			}
			t.Errorf("%s imports %s: a family imports only algos/fit, algos/pairloss, algos/decoder, algos/artifact and algos/backend", fields[0], imp)
		}
	}
	if families < 2 {
		t.Errorf("found %d families under algos/, want the project's", families)
	}
}

// family returns the folder under algos/ of an import path, or "".
func family(path string) string {
	rest, ok := strings.CutPrefix(path, module+"algos/")
	if !ok {
		return ""
	}
	f, _, _ := strings.Cut(rest, "/")
	return f
}

// Every plugin says in describe which float type it computes in (issue 19:
// "state the choice per plugin in describe").
func TestEveryPluginStatesItsPrecision(t *testing.T) {
	for _, id := range kernel.IDs() {
		p, err := kernel.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		prec := p.Info().Precision
		if !strings.HasPrefix(prec, "float32") && !strings.HasPrefix(prec, "float64") {
			t.Errorf("%s: Precision %q, want it to start with float32 or float64", id, prec)
			continue
		}
		d, err := kernel.Describe(id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(d, "\nPrecision: "+prec+"\n") {
			t.Errorf("describe %s does not show its precision", id)
		}
	}
}
