package datasets

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSFTRoundTrip(t *testing.T) {
	task, err := GenerateTextTask(DefaultTextTaskConfig(), rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	ex := append(task.Demos[:20:20],
		TextExample{Prompt: "quote \" and <tag> & \\ \n newline", Completion: "ünï «code»"},
		TextExample{Prompt: "", Completion: ""},
		TextExample{Prompt: "x", Completion: "NaN"}, // a string, not Python's NaN
	)
	var buf bytes.Buffer
	if err := WriteSFT(&buf, ex); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != len(ex) {
		t.Fatalf("wrote %d lines, want %d", lines, len(ex))
	}
	got, err := ReadSFT(&buf, "sft.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i := range ex {
		ex[i].Wrong, ex[i].Verbose = false, false // planted flags are not written
	}
	if !reflect.DeepEqual(got, ex) {
		t.Errorf("round trip: got %+v, want %+v", got, ex)
	}
}

func TestReadSFTConversational(t *testing.T) {
	in := "\ufeff" + `{"prompt":[{"role":"system","content":"Add."},{"role":"user","content":"2+3="}],"completion":[{"role":"assistant","content":"5"}],"id":7}

{"prompt":"4+4=","completion":"8"}
{"prompt":[],"completion":"x"}
`
	got, err := ReadSFT(strings.NewReader(in), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []TextExample{{Prompt: "Add.\n2+3=", Completion: "5"}, {Prompt: "4+4=", Completion: "8"}, {Prompt: "", Completion: "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestTextPairsRoundTrip(t *testing.T) {
	for _, p := range []*TextPairs{
		{Pairs: []TextPair{
			{Prompt: "12+7=", Chosen: "19", Rejected: "18", RefChosen: -1.5, RefRejected: -2.25, Weight: 1},
			{Prompt: "a\nb", Chosen: "<x> & y", Rejected: "NaN", RefChosen: -1e-300, RefRejected: -123456.789e10, Weight: 0.25},
		}, HasRef: true},
		{Pairs: []TextPair{
			{Prompt: "", Chosen: "yes", Rejected: "no", RefChosen: math.NaN(), RefRejected: math.NaN(), Weight: 3},
		}},
	} {
		var buf bytes.Buffer
		if err := WriteTextPairs(&buf, p); err != nil {
			t.Fatal(err)
		}
		text := buf.String()
		got, err := ReadTextPairs(&buf, "p.jsonl")
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if got.HasRef != p.HasRef || len(got.Pairs) != len(p.Pairs) {
			t.Fatalf("got %+v, want %+v", got, p)
		}
		for i, q := range got.Pairs {
			w := p.Pairs[i]
			if q.Prompt != w.Prompt || q.Chosen != w.Chosen || q.Rejected != w.Rejected || q.Weight != w.Weight ||
				!sameFloat(q.RefChosen, w.RefChosen) || !sameFloat(q.RefRejected, w.RefRejected) {
				t.Errorf("pair %d: got %+v, want %+v", i, q, w)
			}
		}
	}
}

// sameFloat is == with NaN equal to NaN.
func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestWriteTextPairsDefaults(t *testing.T) {
	var buf bytes.Buffer
	p := &TextPairs{Pairs: []TextPair{{Prompt: "1+1=", Chosen: "2", Rejected: "3"}}} // Weight 0: unset
	if err := WriteTextPairs(&buf, p); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), `{"prompt":"1+1=","chosen":"2","rejected":"3"}`+"\n"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, tc := range []struct {
		p    TextPairs
		want string
	}{
		{TextPairs{Pairs: []TextPair{{Weight: 1, RefChosen: math.NaN(), RefRejected: -1}}, HasRef: true},
			"datasets: text pairs: pair 1: reference log-probabilities must be finite, got NaN and -1"},
		{TextPairs{Pairs: []TextPair{{Weight: 1}, {Weight: -2}}},
			"datasets: text pairs: pair 2: weight must be finite and > 0, got -2"},
	} {
		if err := WriteTextPairs(&bytes.Buffer{}, &tc.p); err == nil || err.Error() != tc.want {
			t.Errorf("got error %v, want %s", err, tc.want)
		}
	}
}

func TestReadTextPairsForms(t *testing.T) {
	in := `{"prompt":"Capital of France?","chosen":"Paris.","rejected":"Lyon."}
{"chosen":[{"role":"user","content":"2+2="},{"role":"assistant","content":"4"}],"rejected":[{"role":"user","content":"2+2="},{"role":"assistant","content":"5"}]}
{"prompt":[{"role":"user","content":"3+3="}],"chosen":[{"role":"assistant","content":"6"}],"rejected":[{"role":"assistant","content":"6 ok!"}],"weight":2}
{"chosen":"Yes.","rejected":"No."}
{"chosen":[{"role":"user","content":"hi"},{"role":"assistant","content":"a"},{"role":"user","content":"more"},{"role":"assistant","content":"b"}],"rejected":[{"role":"user","content":"hi"},{"role":"assistant","content":"c"}]}
`
	got, err := ReadTextPairs(strings.NewReader(in), "t.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []TextPair{
		{Prompt: "Capital of France?", Chosen: "Paris.", Rejected: "Lyon."},
		{Prompt: "2+2=", Chosen: "4", Rejected: "5"}, // implicit prompt: the shared user turn
		{Prompt: "3+3=", Chosen: "6", Rejected: "6 ok!", Weight: 2},
		{Prompt: "", Chosen: "Yes.", Rejected: "No."},
		{Prompt: "hi", Chosen: "a\nmore\nb", Rejected: "c"}, // shared up to where they differ
	}
	if got.HasRef || len(got.Pairs) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		if w.Weight == 0 {
			w.Weight = 1
		}
		q := got.Pairs[i]
		if q.Prompt != w.Prompt || q.Chosen != w.Chosen || q.Rejected != w.Rejected || q.Weight != w.Weight ||
			!math.IsNaN(q.RefChosen) || !math.IsNaN(q.RefRejected) || q.Flipped {
			t.Errorf("pair %d: got %+v, want %+v", i, q, w)
		}
	}
}

func TestReadTextErrors(t *testing.T) {
	const ok = `{"prompt":"p","chosen":"a","rejected":"b"}`
	const okRef = `{"prompt":"p","chosen":"a","rejected":"b","ref_chosen_logps":-1,"ref_rejected_logps":-2}`
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "\n  \n", "p.jsonl: no pairs: want one JSON object per line"},
		{"array line", ok + "\n[1, 2]", "p.jsonl:2: line: want a JSON object, got array"},
		{"null line", "null", "p.jsonl:1: line: want a JSON object, got null"},
		{"missing chosen", `{"prompt":"p","rejected":"b"}`, "p.jsonl:1: chosen: missing: want a string or a list of messages"},
		{"missing rejected", ok + "\n" + `{"chosen":"a"}`, "p.jsonl:2: rejected: missing: want a string or a list of messages"},
		{"number", `{"prompt":5,"chosen":"a","rejected":"b"}`, "p.jsonl:1: prompt: want a string or a list of messages, got number 5"},
		{"null text", `{"chosen":null,"rejected":"b"}`, "p.jsonl:1: chosen: want a string or a list of messages, got null"},
		{"array of numbers", `{"chosen":[1],"rejected":"b"}`, "p.jsonl:1: chosen: want a string or a list of messages, got array"},
		{"bad message", `{"chosen":[{"role":"user","content":3}],"rejected":"b"}`,
			`p.jsonl:1: chosen: want a list of {"role", "content"} messages with string fields, got [{"role":"user","content":3}]`},
		{"bare NaN text", `{"chosen":NaN,"rejected":"b"}`, "p.jsonl:1: chosen: want a string or a list of messages, got NaN"},
		{"ref one", `{"chosen":"a","rejected":"b","ref_chosen_logps":-1}`,
			"p.jsonl:1: ref_rejected_logps: missing: want ref_chosen_logps and ref_rejected_logps together"},
		{"ref other", `{"chosen":"a","rejected":"b","ref_rejected_logps":-1}`,
			"p.jsonl:1: ref_chosen_logps: missing: want ref_chosen_logps and ref_rejected_logps together"},
		{"ref NaN", `{"chosen":"a","rejected":"b","ref_chosen_logps":NaN,"ref_rejected_logps":-1}`,
			"p.jsonl:1: ref_chosen_logps: want a finite number, got NaN"},
		{"ref -Infinity", `{"chosen":"a","rejected":"b","ref_chosen_logps":-1,"ref_rejected_logps":-Infinity}`,
			"p.jsonl:1: ref_rejected_logps: want a finite number, got -Inf"},
		{"ref string", `{"chosen":"a","rejected":"b","ref_chosen_logps":"x","ref_rejected_logps":-1}`,
			`p.jsonl:1: ref_chosen_logps: want a finite number, got string "x"`},
		{"ref later", ok + "\n" + ok + "\n" + okRef,
			"p.jsonl:1: ref_chosen_logps: missing: want ref_chosen_logps and ref_rejected_logps on every line or on none (line 3 has them)"},
		{"ref dropped", okRef + "\n\n" + okRef + "\n" + ok + "\n" + ok,
			"p.jsonl:4: ref_chosen_logps: missing: want ref_chosen_logps and ref_rejected_logps on every line or on none (line 1 has them)"},
		{"weight 0", `{"chosen":"a","rejected":"b","weight":0}`, "p.jsonl:1: weight: want a finite number > 0, got 0"},
		{"weight Infinity", `{"chosen":"a","rejected":"b","weight":Infinity}`, "p.jsonl:1: weight: want a finite number > 0, got +Inf"},
		{"not JSON", `{"chosen":"a",}`, "p.jsonl:1: want a quoted key, got '}' at column 15"},
	} {
		_, err := ReadTextPairs(strings.NewReader(tc.in), "p.jsonl")
		var e *Error
		if err == nil || !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("%s: got error %v, want %s", tc.name, err, tc.want)
		}
	}

	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "s.jsonl: no examples: want one JSON object per line"},
		{"text only", `{"text":"12+7=19"}`, `s.jsonl:1: prompt: missing: want prompt and completion (TRL's "text" field alone is not accepted)`},
		{"messages only", `{"messages":[{"role":"user","content":"hi"}]}`,
			`s.jsonl:1: prompt: missing: want prompt and completion (TRL's "messages" field alone is not accepted)`},
		{"missing prompt", `{"completion":"19"}`, "s.jsonl:1: prompt: missing: want a string or a list of messages"},
		{"missing completion", `{"prompt":"12+7="}` + "\n" + `{"prompt":"1+1="}`, "s.jsonl:1: completion: missing: want a string or a list of messages"},
		{"bool", `{"prompt":"12+7=","completion":true}`, "s.jsonl:1: completion: want a string or a list of messages, got bool true"},
		{"object", `{"prompt":{"role":"user"},"completion":"x"}`, "s.jsonl:1: prompt: want a string or a list of messages, got object"},
		{"string line", `"12+7=19"`, `s.jsonl:1: line: want a JSON object, got string`},
	} {
		_, err := ReadSFT(strings.NewReader(tc.in), "s.jsonl")
		var e *Error
		if err == nil || !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("%s: got error %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestLoadText(t *testing.T) {
	dir := t.TempDir()
	sft, pairs := filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "pairs.jsonl")
	if err := os.WriteFile(sft, []byte(`{"prompt":"1+1=","completion":"2"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pairs, []byte(`{"prompt":"1+1=","chosen":"2","rejected":"3","ref_chosen_logps":-0.5,"ref_rejected_logps":-4}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ex, err := LoadSFT(sft)
	if err != nil || len(ex) != 1 || ex[0].Completion != "2" {
		t.Errorf("LoadSFT: got %+v, %v", ex, err)
	}
	p, err := LoadTextPairs(pairs)
	if err != nil || !p.HasRef || len(p.Pairs) != 1 || p.Pairs[0].RefChosen != -0.5 || p.Pairs[0].RefRejected != -4 {
		t.Errorf("LoadTextPairs: got %+v, %v", p, err)
	}
	missing := filepath.Join(dir, "nope.jsonl")
	want := missing + ": no such file or directory"
	if _, err := LoadSFT(missing); err == nil || err.Error() != want {
		t.Errorf("LoadSFT(missing): got %v, want %s", err, want)
	}
	if _, err := LoadTextPairs(missing); err == nil || err.Error() != want {
		t.Errorf("LoadTextPairs(missing): got %v, want %s", err, want)
	}
}
