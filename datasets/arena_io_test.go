package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLoadBattlesFormats(t *testing.T) {
	want := []Battle{
		{ModelA: "alpha", ModelB: "beta", Winner: WinnerA},
		{ModelA: "beta", ModelB: "gamma", Winner: WinnerTieBothBad},
		{ModelA: "gamma", ModelB: "alpha", Winner: WinnerB},
		{ModelA: "alpha", ModelB: "gamma", Winner: WinnerTie},
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
			`s.jsonl:2: model_b: want a model other than model_a, got "a" on both sides; set self_battles=skip to drop such battles`},
		{"self play csv", "s.csv", "model_a,model_b,winner\nx,x,tie\n",
			`s.csv:2: model_b: want a model other than model_a, got "x" on both sides; set self_battles=skip to drop such battles`},
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
		{"negative weight", "w.jsonl", ok + `{"model_a":"a","model_b":"b","winner":"tie","weight":-1}`,
			`w.jsonl:2: weight: want a finite number ≥ 0, got -1`},
		{"string weight", "w.jsonl", `{"model_a":"a","model_b":"b","winner":"tie","weight":"2"}`,
			`w.jsonl:1: weight: want a finite number ≥ 0, got string "2"`},
		{"null weight", "w.jsonl", `{"model_a":"a","model_b":"b","winner":"tie","weight":null}`,
			`w.jsonl:1: weight: want a finite number ≥ 0, got null`},
		{"NaN weight", "w.jsonl", ok + `{"model_a":"a","model_b":"b","winner":"tie","weight":NaN}`,
			`w.jsonl:2: weight: want a finite number ≥ 0, got NaN`},
		{"huge weight", "w.json", `[{"model_a":"a","model_b":"b","winner":"tie","weight":1e999}]`,
			`w.json:1: weight: want a finite number ≥ 0, got number 1e999 (out of range)`},
		{"bad csv weight", "w.csv", "model_a,model_b,winner,weight\nx,y,tie,1\nx,y,tie,lots\n",
			`w.csv:3: weight: want a finite number ≥ 0, got "lots"`},
		{"empty csv weight", "w.csv", "model_a,model_b,winner,weight\nx,y,tie,\n",
			`w.csv:2: weight: want a finite number ≥ 0, got an empty cell`},
		{"infinite csv weight", "w.csv", "model_a,model_b,winner,weight\nx,y,tie,+Inf\n",
			`w.csv:2: weight: want a finite number ≥ 0, got +Inf`},
		{"only weight 0", "z.jsonl", `{"model_a":"a","model_b":"b","winner":"tie","weight":0}`,
			`z.jsonl: want at least one battle, got none kept: skipped 1 of weight 0`},
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

func ExampleReadBattles() {
	text := `{"model_a":"alpha","model_b":"beta","winner":"model_a"}
{"model_a":"beta","model_b":"alpha","winner":"tie (bothbad)"}
`
	battles, err := ReadBattles(strings.NewReader(text), "arena.jsonl")
	fmt.Println(battles, err)
	_, err = ReadBattles(strings.NewReader(`{"model_a":"alpha","model_b":"beta","winner":"draw"}`), "bad.jsonl")
	fmt.Println(err)
	// Output:
	// [{alpha beta model_a 0} {beta alpha tie (bothbad) 0}] <nil>
	// bad.jsonl:1: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "draw"
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
		{`{"model_a":"a","model_b":"b","winner":"tie","weight":2.5e-1}`, true},
		{`{"weight":3,"model_a":"a","model_b":"b","winner":"tie"}`, true},
		{`{"model_a":"a","model_b":"b","winner":"tie","weight":"2"}`, false},
		{`{"model_a":"a","model_b":"b","winner":"tie","weight":null}`, false},
		{`{"model_a":"a","model_b":"b","winner":"tie","Weight":2}`, false},
		{`{"weight":1,"model_a":"a","model_b":"b","winner":"tie","weight":2}`, false},
	}
	for _, c := range cases {
		a, b, w, wt, ok := flatBattle([]byte(c.line))
		if ok != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.line, ok, c.fast)
			continue
		}
		if !ok {
			continue
		}
		var rec struct {
			ModelA string   `json:"model_a"`
			ModelB string   `json:"model_b"`
			Winner string   `json:"winner"`
			Weight *float64 `json:"weight"`
		}
		if err := json.Unmarshal([]byte(c.line), &rec); err != nil {
			t.Errorf("%s: fast path accepted what encoding/json rejects: %v", c.line, err)
			continue
		}
		if string(a) != rec.ModelA || string(b) != rec.ModelB || string(w) != rec.Winner {
			t.Errorf("%s: fast %q %q %q, encoding/json %q %q %q", c.line, a, b, w, rec.ModelA, rec.ModelB, rec.Winner)
		}
		if (wt == nil) != (rec.Weight == nil) || wt != nil && fmt.Sprint(*rec.Weight) != fmt.Sprint(mustFloat(t, wt)) {
			t.Errorf("%s: fast weight %q, encoding/json %v", c.line, wt, rec.Weight)
		}
	}
}

func mustFloat(t *testing.T, b []byte) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
