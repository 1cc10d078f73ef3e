package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// This file reads the judgment files of arena-hard-auto (Li et al. 2024,
// "From crowdsourced data to high-quality benchmarks: Arena-Hard and
// BenchBuilder pipeline", arXiv:2406.11939) as battles against the
// benchmark's baseline, through the battle scanner of arena_io.go.

// DefaultArenaHardBaseline is the baseline model of arena-hard-auto v0.1,
// the other side of every judgment.
const DefaultArenaHardBaseline = "gpt-4-0314"

// DefaultStrongWeight is the weight of a strong verdict ("A>>B", "B>>A"): a
// strong win counts as three wins, as arena-hard-auto counts it.
const DefaultStrongWeight = 3.0

// arenaHardVerdicts maps the judge's labels to the winning position (A, B
// or a tie) and whether the verdict is strong. arena-hard-auto v0.1 writes
// the first five; its later versions also the mirrored spellings.
var arenaHardVerdicts = map[string]struct {
	winner string // WinnerA: position A, WinnerB: position B, or WinnerTie
	strong bool
}{
	"A>>B": {WinnerA, true},
	"A>B":  {WinnerA, false},
	"A=B":  {WinnerTie, false},
	"B>A":  {WinnerB, false},
	"B>>A": {WinnerB, true},
	"B<<A": {WinnerA, true},
	"B<A":  {WinnerA, false},
	"B=A":  {WinnerTie, false},
	"A<B":  {WinnerB, false},
	"A<<B": {WinnerB, true},
}

// arenaHardLabels lists the verdicts in error messages.
const arenaHardLabels = `"A>>B", "A>B", "A=B", "B>A", "B>>A" (or "B<<A", "B<A", "B=A", "A<B", "A<<B"), or null`

// ReadArenaHard reads arena-hard-auto judgments from r (JSON Lines, or a
// JSON array of the same objects) and returns their battles; name is the
// file name used in errors. Each line is one question judged for one
// model,
//
//	{"question_id": "…", "model": "m", "judge": "…", "games": [{"score": "A>B", …}, {"score": "B>>A", …}]}
//
// (fields other than model and games, and games' fields other than score,
// are ignored). Each game is a battle of model against opt.Baseline, with
// the positions of arena-hard-auto's show_result.py: in game 1 the baseline
// is A and the model B, in game 2 the model is A and the baseline B; a file
// may hold one game per line or two. The battle keeps those positions
// (model_a is whoever was A). "A>B", "B>A" and "A=B" are a win or a tie of
// weight 1; the strong "A>>B" and "B>>A" weigh opt.StrongWeight (3 by
// default: arena-hard-auto repeats such a battle three times). A game
// whose score (or the game itself) is null has no verdict: it is skipped
// and counted (ArenaSkips.NullScore). A judgment of the baseline itself is
// an error, or skipped with opt.SelfBattles "skip".
//
// ReadArenaHard is ScanArena with Format ArenaFormatArenaHard, the battles
// kept.
func ReadArenaHard(r io.Reader, name string, opt *ArenaOptions) ([]Battle, ArenaSkips, error) {
	o := ArenaOptions{}
	if opt != nil {
		o = *opt
	}
	o.Format = ArenaFormatArenaHard
	var out []Battle
	sc, err := ScanArena(r, name, &o, func(b Battle) error {
		out = append(out, b)
		return nil
	})
	return out, sc.Skipped, err
}

// decide sets the scanner's format from the first record, raw, when it is
// to be detected: a record with "games" and without "model_a" is an
// arena-hard judgment.
func (s *battleScanner) decide(raw []byte) {
	s.decided = true
	switch s.opt.Format {
	case ArenaFormatArenaHard:
		s.hard = true
		return
	case ArenaFormatBattles:
		return
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(quoteNonFinite(raw), &keys) != nil {
		return // not an object: the battle reader says why
	}
	_, games := keys["games"]
	_, modelA := keys["model_a"]
	s.hard = games && !modelA
}

// arenaHardRecord is one judgment line; fields stay raw so that a wrong type
// is reported by name.
type arenaHardRecord struct {
	Model json.RawMessage   `json:"model"`
	Games []json.RawMessage `json:"games"`
}

// judgment reads one arena-hard judgment (line is where it starts) and hands
// on its games as battles.
func (s *battleScanner) judgment(line int, raw []byte) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] != '{' && json.Valid(trimmed) {
		return s.errorf(line, "", "want a JSON object, got %s", battleJSONKind(trimmed))
	}
	var rec arenaHardRecord
	if err := json.Unmarshal(quoteNonFinite(raw), &rec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "games" {
			return s.errorf(line, "games", "want an array of games, got %s", clipValue(te.Value))
		}
		return s.jsonError(line, err)
	}
	var model string
	switch {
	case rec.Model == nil:
		return s.errorf(line, "model", "want a model name, got no such field")
	case rec.Model[0] != '"':
		return s.errorf(line, "model", "want a string, got %s", battleJSONKind(rec.Model))
	case json.Unmarshal(rec.Model, &model) != nil:
		return s.errorf(line, "model", "want a string, got %s", clipValue(string(rec.Model)))
	case model == "":
		return s.errorf(line, "model", "want a model name, got an empty string")
	case rec.Games == nil:
		return s.errorf(line, "games", "want an array of 1 or 2 games, got no such field")
	case len(rec.Games) < 1 || len(rec.Games) > 2:
		return s.errorf(line, "games", "want an array of 1 or 2 games, got %d", len(rec.Games))
	}
	model = s.name0(model)
	base := s.name0(s.opt.Baseline)
	for g, gameRaw := range rec.Games {
		field := "games[" + strconv.Itoa(g) + "]"
		label, ok, err := s.gameScore(line, field, gameRaw)
		if err != nil {
			return err
		}
		if !ok {
			s.skipped.NullScore++
			continue
		}
		v := arenaHardVerdicts[label]
		if model == base {
			if s.opt.SelfBattles != SelfBattlesSkip {
				return s.errorf(line, "model", "want a model other than the baseline, got %s; set self_battles=skip to drop such battles", quoteValue(model))
			}
			s.skipped.Self++
			continue
		}
		a, b := base, model // game 1: the baseline is A
		if g == 1 {
			a, b = model, base // game 2: positions swapped
		}
		w := 1.0
		if v.strong {
			w = s.opt.StrongWeight
		}
		if err := s.hand(line, a, b, v.winner, w); err != nil {
			return err
		}
	}
	return nil
}

// gameScore returns the verdict of one game (field names it), ok false for
// a game without one (null, or a null score).
func (s *battleScanner) gameScore(line int, field string, raw json.RawMessage) (label string, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", false, nil
	}
	if raw[0] != '{' {
		return "", false, s.errorf(line, field, "want a game object, got %s", battleJSONKind(raw))
	}
	var game struct {
		Score json.RawMessage `json:"score"`
	}
	if err := json.Unmarshal(raw, &game); err != nil {
		return "", false, s.errorf(line, field, "want a game object, got %v", err)
	}
	field += ".score"
	switch {
	case game.Score == nil:
		return "", false, s.errorf(line, field, "want one of %s, got no such field", arenaHardLabels)
	case string(game.Score) == "null":
		return "", false, nil
	case game.Score[0] != '"' || json.Unmarshal(game.Score, &label) != nil:
		return "", false, s.errorf(line, field, "want one of %s, got %s", arenaHardLabels, battleJSONKind(game.Score))
	}
	label = strings.TrimSpace(label)
	if _, known := arenaHardVerdicts[label]; !known {
		return "", false, s.errorf(line, field, "want one of %s, got %s", arenaHardLabels, quoteValue(label))
	}
	return label, true, nil
}
