package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func parseNB(t *testing.T, s string) *notebook {
	t.Helper()
	var nb notebook
	if err := json.Unmarshal([]byte(s), &nb); err != nil {
		t.Fatal(err)
	}
	return &nb
}

func TestOutputProblems(t *testing.T) {
	for _, tc := range []struct {
		name, cells string
		want        []string
	}{
		{"clean", `[{"cell_type":"code","source":"x","outputs":[
			{"output_type":"stream","name":"stdout","text":["the exit status is printed below\n","ok\n"]},
			{"output_type":"display_data","data":{"text/html":"<p>panic: not a stream</p>"}}]}]`, nil},
		{"error output", `[{"cell_type":"markdown","source":"# t"},{"cell_type":"code","source":"x","outputs":[
			{"output_type":"error","ename":"ERROR","evalue":"exit status 2\nmore","traceback":[]}]}]`,
			[]string{"cell 2: error output: ERROR: exit status 2"}},
		{"panic in a stream", `[{"cell_type":"code","source":"x","outputs":[
			{"output_type":"stream","name":"stderr","text":["goroutine 5:\n","panic: boom\n","main.f()\n"]}]}]`,
			[]string{"cell 1: stderr: panic: boom"}},
		{"exit status", `[{"cell_type":"code","source":"x","outputs":[
			{"output_type":"stream","name":"stderr","text":"bad input\nexit status 1\n"}]}]`,
			[]string{"cell 1: stderr: exit status 1"}},
		{"fatal error", `[{"cell_type":"code","source":"x","outputs":[
			{"output_type":"stream","name":"stderr","text":"fatal error: all goroutines are asleep - deadlock!\n"}]}]`,
			[]string{"cell 1: stderr: fatal error: all goroutines are asleep - deadlock!"}},
	} {
		got := outputProblems(parseNB(t, `{"cells":`+tc.cells+`}`))
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCleanProblems(t *testing.T) {
	first, _ := json.Marshal(FirstCell)
	good := `{"metadata":{"kernelspec":{"name":"alignlab"}},"cells":[{"cell_type":"markdown","source":"# t"},
		{"cell_type":"code","source":` + string(first) + `,"outputs":[],"execution_count":null},
		{"cell_type":"code","source":["%%\n","x"],"outputs":[],"execution_count":null}]}`
	if got := cleanProblems(parseNB(t, good)); len(got) != 0 {
		t.Errorf("clean notebook: got %q, want no problems", got)
	}
	bad := `{"metadata":{"kernelspec":{"name":"gonb"}},"cells":[
		{"cell_type":"code","source":"%%\nx","outputs":[{"output_type":"stream","name":"stdout","text":"1"}],"execution_count":3}]}`
	got := strings.Join(cleanProblems(parseNB(t, bad)), "|")
	for _, want := range []string{`kernelspec is "gonb"`, "first code cell must be exactly", "cell 1 has 1 outputs", "cell 1 has an execution count"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to say %q", got, want)
		}
	}
}

func TestInjectProbe(t *testing.T) {
	page := []byte("<html><head><title>t</title></head><body>\n<script>var lib = '</body>';\n" +
		"let goecharts_a = echarts.init(document.getElementById('a'), \"white\");\n" +
		"let goecharts_b = echarts.init( document.getElementById(\"b_2\"));</script>\n</body></html>\n")
	got, err := injectProbe(page)
	if err != nil {
		t.Fatal(err)
	}
	probe := bytes.Index(got, []byte("setTimeout(probe"))
	if probe < 0 || probe < bytes.Index(got, []byte("var lib")) || !bytes.HasSuffix(got, []byte("</body></html>\n")) {
		t.Errorf("the probe must go before the last </body>:\n%s", got)
	}
	if c := bytes.Index(got, []byte("__nbcheckErrors = []")); c < 0 || c > bytes.Index(got, []byte("<title>")) {
		t.Errorf("the error catcher must open the head:\n%s", got)
	}
	if !bytes.Contains(got, []byte(`var ids = ["a","b_2"];`)) {
		t.Errorf("expected charts a and b_2 in the probe:\n%s", got)
	}
	if _, err := injectProbe([]byte("<html>no body")); err == nil {
		t.Error("a page without </body>: got nil error")
	}
}

func TestParseProbe(t *testing.T) {
	dom := []byte(`<script>var mark = 'NBCHECK' + '_RESULT';</script><pre>NBCHECK_RESULT{"charts":[{"id":"a","found":true,"instance":true,"paths":12,"pixels":0,"width":900,"height":440},` +
		`{"id":"b","found":true,"instance":false,"paths":0,"pixels":0,"width":900,"height":440}],"unnamed":0,"errors":["x &amp; y"]}NBCHECK_RESULT</pre>`)
	r, err := parseProbe(dom)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Charts) != 2 || !r.Charts[0].Drew() || r.Charts[1].Drew() || r.Errors[0] != "x & y" {
		t.Errorf("got %+v", r)
	}
	if _, err := parseProbe([]byte("<html></html>")); err == nil {
		t.Error("a DOM without a report: got nil error")
	}
}

// TestBrowserCatchesBrokenCharts is the negative test of the browser check:
// in headless Chromium, the fixture's good chart draws and its two broken
// charts (script before the library; hidden element) are reported.
func TestBrowserCatchesBrokenCharts(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath()); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium)", chromiumPath())
	}
	var out bytes.Buffer
	if err := selftest(context.Background(), t.TempDir(), &out); err != nil {
		t.Fatal(err)
	}
}

func TestMainUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
		t.Errorf("no args: got %d, %q; want 2 and the usage", code, stderr.String())
	}
	dir := t.TempDir()
	nb := dir + "/x.ipynb"
	if err := os.WriteFile(nb, []byte(`{"cells":[{"cell_type":"code","source":"","outputs":[{"output_type":"error","ename":"E","evalue":"v"}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"outputs", nb}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "cell 1: error output: E: v") {
		t.Errorf("outputs of a failed notebook: got %d, %q", code, stderr.String())
	}
}
