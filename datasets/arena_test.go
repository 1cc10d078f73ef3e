package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateArenaSample = flag.Bool("update-arena", false, "rewrite samples/arena.jsonl from SampleArenaConfig")

func TestLoadBattlesFormats(t *testing.T) {
	want := []Battle{
		{"alpha", "beta", WinnerA},
		{"beta", "gamma", WinnerTieBothBad},
		{"gamma", "alpha", WinnerB},
		{"alpha", "gamma", WinnerTie},
	}
	files := []struct{ name, text string }{
		{"a.jsonl", `{"model_a":"alpha","model_b":"beta","winner":"model_a","judge":"x","turn":1}
{"model_a":"beta","model_b":"gamma","winner":"tie (bothbad)","conversation_a":[{"role":"user","content":"hi"}]}

{"winner":" Model_B ","model_a":"gamma","model_b":"alpha"}
{"model_a":"alpha","model_b":"gamma","winner":"TIE"}
`},
		{"a.json", ` [
  {"model_a":"alpha","model_b":"beta","winner":"model_a","anony":true},
  {"model_a":"beta","model_b":"gamma","winner":"tie (bothbad)"},
  {"model_a":"gamma","model_b":"alpha","winner":"model_b"},
  {"model_a":"alpha","model_b":"gamma","winner":"tie"}
]`},
		{"a.csv", "question_id,model_a,model_b,winner\n1,alpha,beta,model_a\n2,beta,gamma,tie (bothbad)\n3,gamma,alpha,model_b\n4,alpha,gamma,tie\n"},
		{"b.CSV", "winner,model_b,model_a\r\nmodel_a,beta,alpha\r\n\"tie (bothbad)\",gamma,beta\r\nmodel_b,alpha,gamma\r\ntie,gamma,alpha\r\n"},
		{"escaped.jsonl", `{"model_a":"\u0061lpha","model_b":"beta","winner":"model_a"}` + "\n" +
			`{"model_a":"beta","model_b":"gamma","winner":"tie (bothbad)"}` + "\n" +
			`{"model_a":"gamma","model_b":"alpha","winner":"model_b"}` + "\n" +
			`{"model_a":"alpha","model_b":"gamma","winner":"tie"}`},
	}
	dir := t.TempDir()
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadBattles(path)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", f.name, got, want)
		}
	}
}

func TestLoadBattlesErrors(t *testing.T) {
	ok := `{"model_a":"a","model_b":"b","winner":"model_a"}` + "\n"
	cases := []struct {
		name, file, text, want string
	}{
		{"missing field", "m.jsonl", ok + `{"model_a":"a","winner":"tie"}`,
			`m.jsonl:2: model_b: want a model name, got no such field`},
		{"missing winner", "m.jsonl", `{"model_a":"a","model_b":"b"}`,
			`m.jsonl:1: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got no such field`},
		{"unknown winner", "w.jsonl", ok + ok + `{"model_a":"a","model_b":"b","winner":"draw"}`,
			`w.jsonl:3: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "draw"`},
		{"empty file", "e.jsonl", "\n  \n", `e.jsonl: want at least one battle, got an empty file`},
		{"empty csv", "e.csv", "", `e.csv: want at least one battle, got an empty file`},
		{"header only csv", "h.csv", "model_a,model_b,winner\n", `h.csv: want at least one battle after the header, got none`},
		{"empty array", "e.json", "[ ]", `e.json:1: want at least one battle, got an empty array`},
		{"self play", "s.jsonl", ok + `{"model_a":"a","model_b":"a","winner":"tie"}`,
			`s.jsonl:2: model_b: want a model other than model_a, got "a" on both sides`},
		{"self play csv", "s.csv", "model_a,model_b,winner\nx,x,tie\n",
			`s.csv:2: model_b: want a model other than model_a, got "x" on both sides`},
		{"non utf8", "u.jsonl", ok + "{\"model_a\":\"a\xff\",\"model_b\":\"b\",\"winner\":\"tie\"}",
			`u.jsonl:2: want UTF-8 text, got byte 0xff at column 14`},
		{"non utf8 array", "u.json", "[" + strings.TrimSpace(ok) + ",\n  {\"model_a\":\"a\xff\",\"model_b\":\"b\",\"winner\":\"tie\"}]",
			`u.json:2: want UTF-8 text, got byte 0xff`},
		{"non utf8 csv", "u.csv", "model_a,model_b,winner\nab,c\xfe,tie\n",
			`u.csv:2: want UTF-8 text, got byte 0xfe at column 5`},
		{"truncated line", "t.jsonl", ok + `{"model_a":"a","model_b":"b","winner":"model_a"` + "\n" + ok,
			`t.jsonl:2: want a complete JSON object, got truncated JSON`},
		{"truncated array", "t.json", "[\n" + strings.TrimSpace(ok) + ",\n" + `{"model_a":"a",` + "\n\n",
			`t.json:3: want a complete JSON array, got truncated JSON`},
		{"unclosed array", "t.json", "[\n" + strings.TrimSpace(ok) + "\n",
			`t.json:2: want a complete JSON array, got truncated JSON`},
		{"wrong type", "y.jsonl", `{"model_a":"a","model_b":"b","winner":1}`,
			`y.jsonl:1: winner: want a string, got number`},
		{"wrong type array", "y.json", "[\n" + strings.TrimSpace(ok) + ",\n" + `{"model_a":["a"],"model_b":"b","winner":"tie"}]`,
			`y.json:3: model_a: want a string, got array`},
		{"null name", "n.jsonl", `{"model_a":null,"model_b":"b","winner":"tie"}`,
			`n.jsonl:1: model_a: want a string, got null`},
		{"not an object", "o.jsonl", ok + `["a","b","tie"]`,
			`o.jsonl:2: want a JSON object, got array`},
		{"empty name", "z.jsonl", `{"model_a":"","model_b":"b","winner":"tie"}`,
			`z.jsonl:1: model_a: want a model name, got an empty string`},
		{"bad csv header", "b.csv", "a,b,c\n1,2,3\n",
			`b.csv:1: model_a: want a header with columns model_a, model_b, winner, got "a,b,c"`},
		{"short csv row", "r.csv", "model_a,model_b,winner\nx,y\n",
			`r.csv:2: winner: want 3 fields, got 2`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, c.file)
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadBattles(path)
		var de *Error
		if !errors.As(err, &de) {
			t.Errorf("%s: got %v, want a *datasets.Error", c.name, err)
			continue
		}
		if got := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, got, c.want)
		}
	}
	_, err := LoadBattles(filepath.Join(dir, "absent.jsonl"))
	if err == nil || !strings.HasSuffix(err.Error(), "absent.jsonl: no such file or directory") {
		t.Errorf("missing file: got %v", err)
	}
}

func TestLoadBattlesLongLine(t *testing.T) {
	// Arena exports carry whole conversations: a 3 MB line must load.
	big := strings.Repeat("x", 3<<20)
	text := `{"conversation_a":"` + big + `","model_a":"a","model_b":"b","winner":"model_b"}` + "\n"
	got, err := ReadBattles(strings.NewReader(text), "long.jsonl")
	if err != nil || len(got) != 1 || got[0].Winner != WinnerB {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestAggregateBattles(t *testing.T) {
	battles := []Battle{
		{"b", "a", WinnerA}, {"a", "b", WinnerA}, {"a", "b", WinnerB},
		{"a", "b", WinnerTie}, {"b", "a", WinnerTieBothBad},
		{"c", "a", WinnerB}, {"a", "c", WinnerA},
	}
	c, err := AggregateBattles(battles)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Models) != "[a b c]" {
		t.Fatalf("models: got %v", c.Models)
	}
	want := []PairCounts{{A: 0, B: 1, WinsA: 1, WinsB: 2, Ties: 1, BothBad: 1}, {A: 0, B: 2, WinsA: 2}}
	if fmt.Sprint(c.Pairs) != fmt.Sprint(want) {
		t.Errorf("pairs: got %v, want %v", c.Pairs, want)
	}
	if c.Battles() != int64(len(battles)) {
		t.Errorf("battles: got %d, want %d", c.Battles(), len(battles))
	}
	st := c.Stats()
	if got, want := fmt.Sprint(st), "[{7 3 2 2} {5 2 1 2} {2 0 2 0}]"; got != want {
		t.Errorf("stats: got %v, want %v", got, want)
	}
	if _, err := AggregateBattles([]Battle{{"a", "b", "draw"}}); err == nil {
		t.Error("unnormalized winner accepted")
	}
}

func TestGenerateArena(t *testing.T) {
	const (
		n       = 40000
		tieRate = 0.25
		bothBad = 0.4
		tolRate = 0.01 // ≈ 4 binomial standard errors at n = 40k
	)
	battles, planted, err := GenerateArena(ArenaConfig{Models: 4, Battles: n, TieRate: tieRate, BothBad: bothBad, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := GenerateArena(ArenaConfig{Models: 4, Battles: n, TieRate: tieRate, BothBad: bothBad, Seed: 3})
	if fmt.Sprint(again[:50]) != fmt.Sprint(battles[:50]) {
		t.Error("same seed, different battles")
	}
	sum := 0.0
	for _, th := range planted {
		sum += th
	}
	if math.Abs(sum) > 1e-12 {
		t.Errorf("planted θ not centered: sum %v", sum)
	}
	c, err := AggregateBattles(battles)
	if err != nil {
		t.Fatal(err)
	}
	var ties, bb, aSide int
	for _, b := range battles {
		switch b.Winner {
		case WinnerTie:
			ties++
		case WinnerTieBothBad:
			bb++
		case WinnerA:
			aSide++
		}
	}
	if got := float64(ties+bb) / n; math.Abs(got-tieRate) > tolRate {
		t.Errorf("tie rate: got %v, want %v", got, tieRate)
	}
	if got := float64(bb) / float64(ties+bb); math.Abs(got-bothBad) > 2*tolRate {
		t.Errorf("bothbad share: got %v, want %v", got, bothBad)
	}
	// Sides are a fair coin: model_a wins half of the decisive battles.
	if got := float64(aSide) / float64(n-ties-bb); math.Abs(got-0.5) > tolRate {
		t.Errorf("model_a win share: got %v, want 0.5", got)
	}
	// Decisive win rates follow σ(θi − θj).
	for _, p := range c.Pairs {
		d := planted[c.Models[p.A]] - planted[c.Models[p.B]]
		want := 1 / (1 + math.Exp(-d))
		got := float64(p.WinsA) / float64(p.WinsA+p.WinsB)
		se := math.Sqrt(want * (1 - want) / float64(p.WinsA+p.WinsB))
		if math.Abs(got-want) > 4*se {
			t.Errorf("%s vs %s: win rate %v, want σ(%v) = %v ± %v", c.Models[p.A], c.Models[p.B], got, d, want, 4*se)
		}
	}
	// Popularity skew: the first model plays more than the last.
	skewed, _, _ := GenerateArena(ArenaConfig{Models: 5, Battles: 5000, Skew: 1.5, Seed: 1})
	cs, _ := AggregateBattles(skewed)
	st := cs.Stats()
	if st[0].Battles < 2*st[4].Battles {
		t.Errorf("skew 1.5: first model played %d, last %d; want at least twice", st[0].Battles, st[4].Battles)
	}
	for _, bad := range []ArenaConfig{
		{Models: 1, Battles: 5},
		{Models: 3, Battles: 5, TieRate: 1},
		{Models: 3, Battles: 5, Ties: TiesRaoKupper, TieParam: 0.5},
		{Models: 3, Battles: 5, Ties: "bogus"},
		{Names: []string{"a", "a"}, Battles: 5},
	} {
		if _, _, err := GenerateArena(bad); err == nil || !strings.HasPrefix(err.Error(), "datasets: arena: ") {
			t.Errorf("%+v: got %v, want a datasets: arena error", bad, err)
		}
	}
}

// The embedded sample is what its config generates, byte for byte; refresh it
// with go test ./datasets -run TestSampleArena -update-arena.
func TestSampleArena(t *testing.T) {
	battles, _, err := GenerateArena(SampleArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteBattlesJSONL(&buf, battles); err != nil {
		t.Fatal(err)
	}
	if *updateArenaSample {
		if err := os.WriteFile(filepath.FromSlash(SampleArenaName), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("rewrote " + SampleArenaName + "; rerun without -update-arena")
	}
	if !bytes.Equal(buf.Bytes(), sampleArena) {
		t.Fatalf("%s differs from GenerateArena(SampleArenaConfig()); run with -update-arena", SampleArenaName)
	}
	got, err := SampleBattles()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(battles) {
		t.Error("sample does not read back as generated")
	}
	c, _ := AggregateBattles(got)
	var ties, bb int64
	for _, p := range c.Pairs {
		ties += p.Ties
		bb += p.BothBad
	}
	if len(c.Models) != 10 || c.Battles() != 5000 || ties == 0 || bb == 0 {
		t.Errorf("sample: %d models, %d battles, %d ties, %d bothbad", len(c.Models), c.Battles(), ties, bb)
	}
}

func ExampleReadBattles() {
	text := `{"model_a":"alpha","model_b":"beta","winner":"model_a"}
{"model_a":"beta","model_b":"alpha","winner":"tie (bothbad)"}
`
	battles, err := ReadBattles(strings.NewReader(text), "arena.jsonl")
	fmt.Println(battles, err)
	_, err = ReadBattles(strings.NewReader(`{"model_a":"alpha","model_b":"beta","winner":"draw"}`), "bad.jsonl")
	fmt.Println(err)
	// Output:
	// [{alpha beta model_a} {beta alpha tie (bothbad)}] <nil>
	// bad.jsonl:1: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "draw"
}

func ExampleAggregateBattles() {
	battles, planted, _ := GenerateArena(ArenaConfig{
		Names: []string{"big", "small"}, Theta: []float64{1, -1}, Battles: 1000, TieRate: 0.1, Seed: 7,
	})
	c, _ := AggregateBattles(battles)
	p := c.Pairs[0]
	fmt.Printf("planted θ: big %.0f, small %.0f\n", planted["big"], planted["small"])
	fmt.Printf("%s vs %s: %d wins, %d losses, %d ties\n", c.Models[p.A], c.Models[p.B], p.WinsA, p.WinsB, p.Ties+p.BothBad)
	// Output:
	// planted θ: big 1, small -1
	// big vs small: 793 wins, 115 losses, 92 ties
}

// The fast path must decode exactly what encoding/json decodes, and leave
// everything else to it.
func TestFlatBattleMatchesEncodingJSON(t *testing.T) {
	cases := []struct {
		line string
		fast bool
	}{
		{`{"model_a":"a","model_b":"b","winner":"model_a"}`, true},
		{` { "tstamp" : 1.5e3 , "model_a" : "a b" ,"anony":true,"x":null,"model_b":"ü","n":-0.25,"winner":"tie (bothbad)" } `, true},
		{`{"model_a":"a","model_b":"b","winner":"model_a","judge":"arena_user_1"}`, true},
		{`{"model_a":"a","model_b":"b","winner":"model_a","conv":[{"role":"user"}]}`, false},
		{`{"model_a":"\u0061","model_b":"b","winner":"model_a"}`, false},
		{`{"Model_A":"a","model_b":"b","winner":"model_a"}`, false},
		{`{"model_a":"a","model_a":"c","model_b":"b","winner":"model_a"}`, false},
		{`{"model_a":"a","model_b":"b","winner":1}`, false},
		{`{"model_a":"a","model_b":"b","winner":"tie","n":01}`, false},
		{`{"model_a":"a","model_b":"b","winner":"tie"} x`, false},
		{`{"model_a":"a","model_b":"b"}`, false},
		{`{"model_a":"a","model_b":"b","winner":"tie",}`, false},
	}
	for _, c := range cases {
		a, b, w, ok := flatBattle([]byte(c.line))
		if ok != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.line, ok, c.fast)
			continue
		}
		if !ok {
			continue
		}
		var rec struct {
			ModelA string `json:"model_a"`
			ModelB string `json:"model_b"`
			Winner string `json:"winner"`
		}
		if err := json.Unmarshal([]byte(c.line), &rec); err != nil {
			t.Errorf("%s: fast path accepted what encoding/json rejects: %v", c.line, err)
			continue
		}
		if string(a) != rec.ModelA || string(b) != rec.ModelB || string(w) != rec.Winner {
			t.Errorf("%s: fast %q %q %q, encoding/json %q %q %q", c.line, a, b, w, rec.ModelA, rec.ModelB, rec.Winner)
		}
	}
}
