package datasets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// This file reads and writes the JSON Lines files of TRL (Hugging Face's
// transformer RL library) that text policies train on: prompt–completion
// demonstrations for SFT and prompt–chosen–rejected preference pairs, with
// the reference log-probabilities that TRL's precompute_ref_log_probs adds.

// LoadSFT reads SFT demonstrations, JSON Lines in TRL's prompt–completion
// format, one example per line:
//
//	{"prompt": "12+7=", "completion": "19"}
//	{"prompt": [{"role": "user", "content": "12+7="}], "completion": [{"role": "assistant", "content": "19"}]}
//
// prompt and completion are strings, or lists of {"role", "content"}
// messages (TRL's conversational form) whose contents are joined with "\n".
// TRL's language-modelling form, a "text" (or "messages") field alone, is
// not accepted: the task needs to know where the prompt ends. Other fields
// and blank lines are ignored. Problems are *Error with file, line and
// field, e.g. "sft.jsonl:3: completion: missing: want a string or a list of
// messages".
func LoadSFT(path string) ([]TextExample, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadSFT(f, path)
}

// ReadSFT reads demonstrations from r in LoadSFT's format; name is the file
// name used in errors.
func ReadSFT(r io.Reader, name string) ([]TextExample, error) {
	var out []TextExample
	err := readJSONRecords(r, name, pairsMaxLine, "examples", func(b []byte, line, col0 int) error {
		obj, exact, err := textObject(b, name, line, col0)
		if err != nil {
			return err
		}
		if _, ok := obj["prompt"]; !ok {
			for _, f := range []string{"text", "messages"} {
				if _, lm := obj[f]; lm {
					return Errorf(name, line, "prompt", "missing: want prompt and completion (TRL's %q field alone is not accepted)", f)
				}
			}
		}
		var ex TextExample
		for _, c := range []struct {
			field string
			dst   *string
		}{{"prompt", &ex.Prompt}, {"completion", &ex.Completion}} {
			msgs, err := textMessages(obj, c.field, exact, name, line)
			if err != nil {
				return err
			}
			if msgs == nil {
				return Errorf(name, line, c.field, "missing: want a string or a list of messages")
			}
			*c.dst = pairsJoin(msgs)
		}
		out = append(out, ex)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TextPair is one text comparison: Chosen ≻ Rejected as completions of
// Prompt.
type TextPair struct {
	Prompt, Chosen, Rejected string
	// RefChosen and RefRejected are the reference policy's log-probabilities
	// of the two completions (TRL's ref_chosen_logps, ref_rejected_logps);
	// NaN when not given.
	RefChosen, RefRejected float64
	Weight                 float64 // > 0; 1 unless the file gives one
	// Flipped reports, for pairs labelled with noise (TextTask.Label), that
	// the label disagrees with the verifier; false for loaded pairs.
	Flipped bool
}

// TextPairs are text comparisons, as read by LoadTextPairs.
type TextPairs struct {
	Pairs []TextPair
	// HasRef reports that every pair has reference log-probabilities.
	HasRef bool
}

// LoadTextPairs reads text preference pairs, JSON Lines in TRL's
// preference format, one pair per line:
//
//	{"prompt": "12+7=", "chosen": "19", "rejected": "18", "ref_chosen_logps": -1.5, "ref_rejected_logps": -2.25}
//	{"chosen": [{"role": "user", "content": "2+2="}, {"role": "assistant", "content": "4"}],
//	 "rejected": [{"role": "user", "content": "2+2="}, {"role": "assistant", "content": "5"}]}
//
// chosen and rejected (required) and prompt (optional) are strings or lists
// of {"role", "content"} messages, joined with "\n". Without a prompt, the
// messages that chosen and rejected share at the start, all but their last,
// are the prompt (TRL's implicit prompt; plain strings then have an empty
// prompt). Optional: ref_chosen_logps and ref_rejected_logps (finite
// numbers, both or neither, on every line or on none) and weight (finite,
// > 0, default 1). Other fields and blank lines are ignored. Problems are
// *Error with file, line and field, e.g. "p.jsonl:2: ref_rejected_logps:
// missing: want ref_chosen_logps and ref_rejected_logps together".
func LoadTextPairs(path string) (*TextPairs, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTextPairs(f, path)
}

// ReadTextPairs reads pairs from r in LoadTextPairs's format; name is the
// file name used in errors.
func ReadTextPairs(r io.Reader, name string) (*TextPairs, error) {
	rd := &textPairsReader{name: name, out: &TextPairs{}}
	if err := readJSONRecords(r, name, pairsMaxLine, "pairs", rd.line); err != nil {
		return nil, err
	}
	rd.out.HasRef = rd.firstWith > 0
	return rd.out, nil
}

type textPairsReader struct {
	name string
	out  *TextPairs
	// firstWith and firstWithout are the first lines with and without
	// reference log-probabilities (0: none yet).
	firstWith, firstWithout int
}

func (rd *textPairsReader) line(b []byte, line, col0 int) error {
	errf := func(field, format string, args ...any) error { return Errorf(rd.name, line, field, format, args...) }
	obj, exact, err := textObject(b, rd.name, line, col0)
	if err != nil {
		return err
	}
	texts := map[string][]pairsMessage{}
	for _, f := range []string{"prompt", "chosen", "rejected"} {
		msgs, err := textMessages(obj, f, exact, rd.name, line)
		if err != nil {
			return err
		}
		if msgs == nil && f != "prompt" {
			return errf(f, "missing: want a string or a list of messages")
		}
		texts[f] = msgs
	}
	prompt, chosen, rejected := texts["prompt"], texts["chosen"], texts["rejected"]
	if prompt == nil {
		// TRL's implicit prompt: the messages chosen and rejected share.
		n := 0
		for n < len(chosen)-1 && n < len(rejected)-1 && chosen[n] == rejected[n] {
			n++
		}
		prompt, chosen, rejected = chosen[:n], chosen[n:], rejected[n:]
	}
	p := TextPair{Prompt: pairsJoin(prompt), Chosen: pairsJoin(chosen), Rejected: pairsJoin(rejected),
		RefChosen: math.NaN(), RefRejected: math.NaN(), Weight: 1}

	cr, hasCR := obj["ref_chosen_logps"]
	rr, hasRR := obj["ref_rejected_logps"]
	switch {
	case hasCR != hasRR:
		missing := "ref_rejected_logps"
		if !hasCR {
			missing = "ref_chosen_logps"
		}
		return errf(missing, "missing: want ref_chosen_logps and ref_rejected_logps together")
	case hasCR:
		for _, c := range []struct {
			field string
			raw   json.RawMessage
			dst   *float64
		}{{"ref_chosen_logps", cr, &p.RefChosen}, {"ref_rejected_logps", rr, &p.RefRejected}} {
			v, bad := jsonNumber(c.raw)
			if bad != "" || !isFinite(v) {
				return errf(c.field, "want a finite number, got %s", badOr(bad, v))
			}
			*c.dst = v
		}
		if rd.firstWith == 0 {
			rd.firstWith = line
		}
	case rd.firstWithout == 0:
		rd.firstWithout = line
	}
	// Whichever order they come in, the error names the first line without.
	if rd.firstWith > 0 && rd.firstWithout > 0 {
		return Errorf(rd.name, rd.firstWithout, "ref_chosen_logps",
			"missing: want ref_chosen_logps and ref_rejected_logps on every line or on none (line %d has them)", rd.firstWith)
	}

	if raw, ok := obj["weight"]; ok {
		v, bad := jsonNumber(raw)
		if bad != "" || !isFinite(v) || v <= 0 {
			return errf("weight", "want a finite number > 0, got %s", badOr(bad, v))
		}
		p.Weight = v
	}
	rd.out.Pairs = append(rd.out.Pairs, p)
	return nil
}

// textObject decodes line b into its fields. exact reports that the line is
// plain JSON, so that a string "NaN" in it is text; on a line with bare NaN
// or Infinity tokens (Python's json), which pairsObject quotes so that the
// field holding one can be named, such a string cannot be told from a bare
// token and is taken for one.
func textObject(b []byte, name string, line, col0 int) (obj map[string]json.RawMessage, exact bool, err error) {
	if json.Unmarshal(b, &obj) == nil && obj != nil {
		return obj, true, nil
	}
	obj, err = pairsObject(b, name, line, col0)
	return obj, false, err
}

// textMessages decodes field of obj, a string (one message without a role)
// or a list of {role, content} messages; nil, nil when the field is absent
// (an empty list or string gives a non-nil empty slice).
func textMessages(obj map[string]json.RawMessage, field string, exact bool, name string, line int) ([]pairsMessage, error) {
	raw, ok := obj[field]
	if !ok {
		return nil, nil
	}
	switch kind := pairsKind(raw); kind {
	case "NaN", "Infinity", "+Infinity", "-Infinity":
		if !exact {
			return nil, Errorf(name, line, field, "want a string or a list of messages, got %s", kind)
		}
		fallthrough
	case "string":
		var s string
		_ = json.Unmarshal(raw, &s)
		return []pairsMessage{{Content: s}}, nil
	case "array of messages", "empty array":
		msgs, err := pairsText(raw, name, line, field)
		if msgs == nil && err == nil {
			msgs = []pairsMessage{}
		}
		return msgs, err
	default:
		return nil, Errorf(name, line, field, "want a string or a list of messages, got %s", kind)
	}
}

// WriteSFT writes demonstrations in LoadSFT's format, one
// {"prompt", "completion"} object per line (the planted flags are not
// written).
func WriteSFT(w io.Writer, ex []TextExample) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range ex {
		if err := enc.Encode(struct {
			Prompt     string `json:"prompt"`
			Completion string `json:"completion"`
		}{e.Prompt, e.Completion}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteTextPairs writes pairs in LoadTextPairs's format: prompt, chosen and
// rejected, then ref_chosen_logps and ref_rejected_logps when p.HasRef, and
// weight when it is neither 1 nor 0 (a Weight of 0 is taken for unset: the
// default 1, which is left out). Numbers are written in the shortest form that
// reads back exactly; a non-finite reference log-probability or a negative
// or non-finite weight is an error, as the file could not be read back.
// Flipped is not written.
func WriteTextPairs(w io.Writer, p *TextPairs) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, pr := range p.Pairs {
		rec := struct {
			Prompt      string   `json:"prompt"`
			Chosen      string   `json:"chosen"`
			Rejected    string   `json:"rejected"`
			RefChosen   *float64 `json:"ref_chosen_logps,omitempty"`
			RefRejected *float64 `json:"ref_rejected_logps,omitempty"`
			Weight      *float64 `json:"weight,omitempty"`
		}{Prompt: pr.Prompt, Chosen: pr.Chosen, Rejected: pr.Rejected}
		if p.HasRef {
			if !isFinite(pr.RefChosen) || !isFinite(pr.RefRejected) {
				return fmt.Errorf("datasets: text pairs: pair %d: reference log-probabilities must be finite, got %v and %v", i+1, pr.RefChosen, pr.RefRejected)
			}
			rec.RefChosen, rec.RefRejected = &pr.RefChosen, &pr.RefRejected
		}
		if pr.Weight != 0 && pr.Weight != 1 {
			if !isFinite(pr.Weight) || pr.Weight < 0 {
				return fmt.Errorf("datasets: text pairs: pair %d: weight must be finite and > 0, got %v", i+1, pr.Weight)
			}
			rec.Weight = &pr.Weight
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return bw.Flush()
}
