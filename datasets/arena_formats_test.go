package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, text []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipBytes(t *testing.T, text []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A weighted file and the same file with its rows repeated (integer
// weights) have the same summed weights per pair and outcome; the weighted
// one keeps one row per battle, grouped by weight in Cells.
func TestLoadArenaWeights(t *testing.T) {
	const weighted = `{"model_a":"alpha","model_b":"beta","winner":"model_a","weight":3}
{"model_a":"beta","model_b":"alpha","winner":"model_a"}
{"model_a":"alpha","model_b":"beta","winner":"tie","weight":2}
{"model_a":"gamma","model_b":"alpha","winner":"model_b","weight":1}
{"model_a":"gamma","model_b":"beta","winner":"tie (bothbad)","weight":0}
{"model_a":"beta","model_b":"gamma","winner":"model_b","weight":2}
`
	const repeated = `{"model_a":"alpha","model_b":"beta","winner":"model_a"}
{"model_a":"alpha","model_b":"beta","winner":"model_a"}
{"model_a":"alpha","model_b":"beta","winner":"model_a"}
{"model_a":"beta","model_b":"alpha","winner":"model_a"}
{"model_a":"alpha","model_b":"beta","winner":"tie"}
{"model_a":"alpha","model_b":"beta","winner":"tie"}
{"model_a":"gamma","model_b":"alpha","winner":"model_b"}
{"model_a":"beta","model_b":"gamma","winner":"model_b"}
{"model_a":"beta","model_b":"gamma","winner":"model_b"}
`
	dir := t.TempDir()
	csvText := "model_a,model_b,winner,weight\n" +
		"alpha,beta,model_a,3\nbeta,alpha,model_a,1\nalpha,beta,tie,2\ngamma,alpha,model_b,1\ngamma,beta,tie (bothbad),0\nbeta,gamma,model_b,2\n"
	array := "[" + strings.ReplaceAll(strings.TrimSpace(weighted), "\n", ",\n") + "]"
	rep, err := LoadArenaCounts(writeFile(t, dir, "repeated.jsonl", []byte(repeated)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Weighted() || rep.Battles() != 9 {
		t.Fatalf("repeated: weighted %v, %d battles", rep.Weighted(), rep.Battles())
	}
	for _, f := range []struct{ name, text string }{
		{"weighted.jsonl", weighted}, {"weighted.json", array}, {"weighted.csv", csvText},
	} {
		c, err := LoadArenaCounts(writeFile(t, dir, f.name, []byte(f.text)))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if !reflect.DeepEqual(c.Models, rep.Models) {
			t.Errorf("%s: models %v, want %v", f.name, c.Models, rep.Models)
		}
		if got, want := c.Weights(), rep.Weights(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: weights\ngot  %v\nwant %v", f.name, got, want)
		}
		if got, want := fmt.Sprint(c.WeightedStats()), fmt.Sprint(rep.Stats()); got != want {
			t.Errorf("%s: weighted stats %s, want the repeated file's stats %s", f.name, got, want)
		}
		if c.Battles() != 5 || c.TotalWeight() != 9 || c.Skipped.ZeroWeight != 1 {
			t.Errorf("%s: %d battles, weight %v, %d of weight 0; want 5, 9, 1", f.name, c.Battles(), c.TotalWeight(), c.Skipped.ZeroWeight)
		}
		// alpha–beta: alpha won once with weight 3, beta once (as model_a).
		want := []WeightCell{
			{Pair: 0, Outcome: OutcomeWinA, Weight: 3, Battles: 1},
			{Pair: 0, Outcome: OutcomeWinB, Weight: 1, Battles: 1},
			{Pair: 0, Outcome: OutcomeTie, Weight: 2, Battles: 1},
			{Pair: 1, Outcome: OutcomeWinA, Weight: 1, Battles: 1},
			{Pair: 2, Outcome: OutcomeWinB, Weight: 2, Battles: 1},
		}
		if !reflect.DeepEqual(c.Cells, want) {
			t.Errorf("%s: cells\ngot  %v\nwant %v", f.name, c.Cells, want)
		}
	}
	// Weights of 1 everywhere are no weights at all.
	ones, err := LoadArenaCounts(writeFile(t, dir, "ones.jsonl", []byte(strings.ReplaceAll(repeated, "}", `,"weight":1}`))))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ones.Pairs, rep.Pairs) || ones.Weighted() {
		t.Errorf("weight 1: got %v (weighted %v), want %v unweighted", ones.Pairs, ones.Weighted(), rep.Pairs)
	}
}

func TestWriteBattlesWeights(t *testing.T) {
	in := []Battle{
		{ModelA: "a", ModelB: "b", Winner: WinnerA},
		{ModelA: "b", ModelB: "a", Winner: WinnerTie, Weight: 0.1},
		{ModelA: "a", ModelB: "b", Winner: WinnerB, Weight: 1},
	}
	var b bytes.Buffer
	if err := WriteBattlesJSONL(&b, in); err != nil {
		t.Fatal(err)
	}
	want := `{"model_a":"a","model_b":"b","winner":"model_a"}
{"model_a":"b","model_b":"a","winner":"tie","weight":0.1}
{"model_a":"a","model_b":"b","winner":"model_b","weight":1}
`
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
	back, err := ReadBattles(&b, "w.jsonl")
	if err != nil || !reflect.DeepEqual(back, in) {
		t.Errorf("read back %v, %v; want %v", back, err, in)
	}
}

func TestLoadArenaSelfBattles(t *testing.T) {
	text := `{"model_a":"a","model_b":"b","winner":"model_a"}
{"model_a":"a","model_b":"a","winner":"tie"}
{"model_a":"b","model_b":"a","winner":"model_a"}
{"model_a":"b","model_b":"b","winner":"model_b"}
`
	path := writeFile(t, t.TempDir(), "self.jsonl", []byte(text))
	_, err := LoadArena(nil, path)
	var de *Error
	if !errors.As(err, &de) || de.Line != 2 || de.Field != "model_b" || !strings.HasSuffix(err.Error(), "; set self_battles=skip to drop such battles") {
		t.Errorf("default: got %v, want an *Error at line 2, model_b, naming self_battles=skip", err)
	}
	c, err := LoadArena(&ArenaOptions{SelfBattles: SelfBattlesSkip}, path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Battles() != 2 || c.Skipped.Self != 2 || fmt.Sprint(c.Models) != "[a b]" || fmt.Sprint(c.Formats) != "[battles]" {
		t.Errorf("skip: %d battles, %d skipped, models %v, formats %v", c.Battles(), c.Skipped.Self, c.Models, c.Formats)
	}
	only := writeFile(t, t.TempDir(), "only.csv", []byte("model_a,model_b,winner\nx,x,tie\n"))
	_, err = LoadArena(&ArenaOptions{SelfBattles: SelfBattlesSkip}, only)
	if err == nil || !strings.HasSuffix(err.Error(), "only.csv: want at least one battle, got none kept: skipped 1 of a model against itself") {
		t.Errorf("nothing left: got %v", err)
	}
	if _, err := LoadArena(&ArenaOptions{SelfBattles: "drop"}, path); err == nil ||
		err.Error() != `datasets: self_battles: want one of error, skip, got "drop"` {
		t.Errorf("bad option: got %v", err)
	}
}

// Gzip files load as the plain ones, by their magic bytes, whatever their
// name; their errors name the file and the line of the decompressed text.
func TestLoadGzip(t *testing.T) {
	dir := t.TempDir()
	jsonl := sampleArenaHead(t, 50)
	csvText := []byte("model_a,model_b,winner,weight\nalpha,beta,model_a,2\nbeta,gamma,tie,1\ngamma,alpha,model_b,0.5\n")
	cases := []struct {
		plain, packed string
		text          []byte
	}{
		{"arena.jsonl", "arena.jsonl.gz", jsonl},
		{"arena.csv", "arena.csv.gz", csvText},
		{"arena.csv", "arena.CSV.GZ", csvText},
		{"arena.jsonl", "export.json", jsonl}, // gzip without the extension
	}
	for _, c := range cases {
		want, err := LoadBattles(writeFile(t, dir, c.plain, c.text))
		if err != nil {
			t.Fatalf("%s: %v", c.plain, err)
		}
		got, err := LoadBattles(writeFile(t, dir, c.packed, gzipBytes(t, c.text)))
		if err != nil {
			t.Errorf("%s: %v", c.packed, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d battles differ from %s's %d", c.packed, len(got), c.plain, len(want))
		}
	}
	bad := append(append([]byte{}, jsonl...), `{"model_a":"a","model_b":"b","winner":"draw"}`+"\n"...)
	_, err := LoadBattles(writeFile(t, dir, "bad.jsonl.gz", gzipBytes(t, bad)))
	checkMessage(t, "error in a gzip file", err, filepath.Join(dir, "bad.jsonl.gz")+`:51: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "draw"`)
	packed := gzipBytes(t, jsonl)
	_, err = LoadBattles(writeFile(t, dir, "cut.jsonl.gz", packed[:len(packed)/2]))
	var de *Error
	if !errors.As(err, &de) || de.File != filepath.Join(dir, "cut.jsonl.gz") || de.Line == 0 ||
		!strings.Contains(err.Error(), "want a complete gzip stream, got a truncated one") {
		t.Errorf("truncated gzip: got %v, want an *Error with the file, a line and the reason", err)
	}
	_, err = LoadBattles(writeFile(t, dir, "magic.jsonl", []byte{0x1f, 0x8b, 'x'}))
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "magic.jsonl: want a gzip stream after its magic bytes") {
		t.Errorf("gzip magic without a stream: got %v", err)
	}
	// Every loader opens its file with Open: preferences too.
	prefs := []byte(`{"features": [[1], [2]], "chosen": 0, "rejected": 1}` + "\n")
	p, err := LoadPrefs(writeFile(t, dir, "prefs.jsonl.gz", gzipBytes(t, prefs)))
	if err != nil || len(p.Pairs) != 1 {
		t.Errorf("gzipped preferences: %v", err)
	}
}

// sampleArenaHead returns the first n lines of the embedded sample arena.
func sampleArenaHead(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	lines := strings.SplitAfter(readAll(t, SampleArena()), "\n")
	for _, l := range lines[:n] {
		b.WriteString(l)
	}
	return b.Bytes()
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func ExampleLoadArena() {
	dir, _ := os.MkdirTemp("", "arena")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "arena.csv")
	os.WriteFile(path, []byte("model_a,model_b,winner,weight\n"+
		"alpha,beta,model_a,2.5\nbeta,alpha,tie,1\nbeta,beta,model_a,1\nalpha,beta,model_b,0\n"), 0o644)
	c, err := LoadArena(&ArenaOptions{SelfBattles: SelfBattlesSkip}, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	w := c.Weights()[0]
	fmt.Printf("%s vs %s: %d battles, weight %g (wins %g, losses %g, ties %g)\n",
		c.Models[0], c.Models[1], c.Battles(), c.TotalWeight(), w.WinsA, w.WinsB, w.Ties)
	fmt.Printf("skipped: %d self-battles, %d of weight 0\n", c.Skipped.Self, c.Skipped.ZeroWeight)
	// Output:
	// alpha vs beta: 2 battles, weight 3.5 (wins 2.5, losses 0, ties 1)
	// skipped: 1 self-battles, 1 of weight 0
}

func ExampleScanArena() {
	text := `{"model_a":"alpha","model_b":"beta","winner":"model_a","weight":2}
{"model_a":"beta","model_b":"beta","winner":"tie"}
{"model_a":"beta","model_b":"alpha","winner":"tie (bothbad)"}
`
	sc, err := ScanArena(strings.NewReader(text), "arena.jsonl", &ArenaOptions{SelfBattles: SelfBattlesSkip}, func(b Battle) error {
		fmt.Printf("%s vs %s: %s, weight %g\n", b.ModelA, b.ModelB, b.Winner, b.Weight)
		return nil
	})
	fmt.Println(sc.Format, sc.Skipped.Self, err)
	// Output:
	// alpha vs beta: model_a, weight 2
	// beta vs alpha: tie (bothbad), weight 0
	// battles 1 <nil>
}
