package bt

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

// Tolerances of the arena-format tests, named for what they bound.
const (
	tolRepeated = 1e-9  // Elo ratings: weighted file vs the file with rows repeated
	tolScaled   = 1e-6  // Elo bootstrap quantiles: every weight 2 vs no weights
	tolScore    = 1e-9  // vs_anchor win rate against its closed form
	tolCounts   = 1e-12 // leaderboard counts and empirical win rates
)

func runRatings(t *testing.T, params map[string]any, data ...string) *kernel.Result {
	t.Helper()
	res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func writeText(t *testing.T, dir, name string, text []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, text []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(text)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// column returns a leaderboard-like table's column by model name.
func column(t *testing.T, res *kernel.Result, table, col string) map[string]float64 {
	t.Helper()
	tb := res.Tables[table]
	if tb == nil {
		t.Fatalf("no table %s (tables %v)", table, res.TableNames())
	}
	out := map[string]float64{}
	for i, m := range tb.Strings("model") {
		out[m] = tb.Floats(col)[i]
	}
	return out
}

// arenaFiles writes a small arena with integer weights 1–3 as a weighted
// JSONL, the same as CSV, and the file with every row repeated its weight
// times; it returns their paths.
func arenaFiles(t *testing.T, dir string) (weighted, weightedCSV, repeated string) {
	t.Helper()
	battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: 5, Battles: 400, TieRate: 0.2, BothBad: 0.3, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var bw, br bytes.Buffer
	csv := "winner,model_a,model_b,weight\n"
	for _, b := range battles {
		k := 1 + rng.IntN(3)
		bw.WriteString(battleLine(b, float64(k)))
		csv += fmt.Sprintf("%q,%s,%s,%d\n", b.Winner, b.ModelA, b.ModelB, k)
		for range k {
			br.WriteString(battleLine(b, 0))
		}
	}
	return writeText(t, dir, "weighted.jsonl", bw.Bytes()), writeText(t, dir, "weighted.csv", []byte(csv)),
		writeText(t, dir, "repeated.jsonl", br.Bytes())
}

// battleLine is b as a JSON Lines battle with the given weight (none: 0).
func battleLine(b datasets.Battle, weight float64) string {
	line := fmt.Sprintf(`{"model_a":%q,"model_b":%q,"winner":%q`, b.ModelA, b.ModelB, b.Winner)
	if weight != 0 {
		line += fmt.Sprintf(`,"weight":%g`, weight)
	}
	return line + "}\n"
}

// A weighted battle file rates like the same file with its rows repeated:
// ratings, log-likelihood, leaderboard counts (weighted sums) and win rates.
func TestPluginWeightedEqualsRepeated(t *testing.T) {
	dir := t.TempDir()
	weighted, weightedCSV, repeated := arenaFiles(t, dir)
	for _, solver := range []string{SolverNewton, SolverMM} {
		for _, ties := range TieModels {
			prm := map[string]any{ParamBootstrapRounds: 0, ParamSolver: solver, ParamTies: ties}
			rep := runRatings(t, prm, repeated)
			for _, path := range []string{weighted, weightedCSV} {
				w := runRatings(t, prm, path)
				name := fmt.Sprintf("%s/%s/%s", solver, ties, filepath.Base(path))
				want, got := column(t, rep, "leaderboard", "rating"), column(t, w, "leaderboard", "rating")
				for m, r := range want {
					if math.Abs(got[m]-r) > tolRepeated {
						t.Errorf("%s: %s rated %v, repeated rows %v", name, m, got[m], r)
					}
				}
				if math.Abs(w.Final["log_likelihood"]-rep.Final["log_likelihood"]) > tolRepeated*math.Abs(rep.Final["log_likelihood"]) {
					t.Errorf("%s: log-likelihood %v, repeated %v", name, w.Final["log_likelihood"], rep.Final["log_likelihood"])
				}
				for _, col := range []string{"battles", "wins", "losses", "ties"} {
					want, got := column(t, rep, "leaderboard", col), column(t, w, "leaderboard", col)
					for m, n := range want {
						if math.Abs(got[m]-n) > tolCounts {
							t.Errorf("%s: %s %s = %v, repeated %v", name, m, col, got[m], n)
						}
					}
				}
				if w.Final["battles"] != 400 || w.Final["battle_weight"] != rep.Final["battles"] {
					t.Errorf("%s: battles %v, battle_weight %v; want 400 and %v", name, w.Final["battles"], w.Final["battle_weight"], rep.Final["battles"])
				}
				wr, rr := w.Tables["win_rate"], rep.Tables["win_rate"]
				for i, v := range rr.Floats("win_rate") {
					if got := wr.Floats("win_rate")[i]; math.Abs(got-v) > tolCounts {
						t.Errorf("%s: win rate row %d: %v, repeated %v", name, i, got, v)
					}
				}
				if !strings.Contains(strings.Join(w.Notes, "\n"), "weighted battles (400 rows") {
					t.Errorf("%s: notes %q do not say the battles are weighted", name, w.Notes)
				}
			}
		}
	}
}

// What holds for the bootstrap of weighted battles, which resamples rows
// each keeping its weight: weights of 1 are no weights (same result, byte
// for byte); a constant weight changes no replicate's ratings (intervals as
// without weights); the file with rows repeated has narrower intervals (its
// copies count as independent battles), by about √2 for weight 2.
func TestPluginWeightedBootstrap(t *testing.T) {
	dir := t.TempDir()
	battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: 5, Battles: 1500, TieRate: 0.1, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, weight float64, copies int) string {
		var buf bytes.Buffer
		for _, b := range battles {
			for range copies {
				buf.WriteString(battleLine(b, weight))
			}
		}
		return writeText(t, dir, name, buf.Bytes())
	}
	prm := map[string]any{ParamBootstrapRounds: 100, kernel.ParamSeed: 4}
	plain := runRatings(t, prm, write("plain.jsonl", 0, 1))
	ones := runRatings(t, prm, write("ones.jsonl", 1, 1))
	twos := runRatings(t, prm, write("twos.jsonl", 2, 1))
	doubled := runRatings(t, prm, write("doubled.jsonl", 0, 2))

	same := func(r *kernel.Result) string {
		b, _ := json.Marshal([]any{r.Tables, r.Final, r.Series, r.Notes})
		return string(b)
	}
	if same(ones) != same(plain) {
		t.Error("weights of 1: result differs from the unweighted file's")
	}
	for _, col := range []string{"ci_low", "ci_high"} {
		want, got := column(t, plain, "leaderboard", col), column(t, twos, "leaderboard", col)
		for m, v := range want {
			if math.Abs(got[m]-v) > tolScaled {
				t.Errorf("weight 2: %s %s = %v, unweighted %v", m, col, got[m], v)
			}
		}
	}
	width := func(r *kernel.Result) float64 {
		lo, hi := r.Tables["leaderboard"].Floats("ci_low"), r.Tables["leaderboard"].Floats("ci_high")
		s := 0.0
		for i := range lo {
			s += hi[i] - lo[i]
		}
		return s
	}
	// √½ ≈ 0.71; 100 replicates estimate each width to ~10%.
	if ratio := width(doubled) / width(twos); !(ratio > 0.55 && ratio < 0.85) {
		t.Errorf("interval width, rows repeated / weight 2: %.3f, want about 0.71", ratio)
	}
}

// Battles of a model against itself are an error naming self_battles, or
// with self_battles=skip dropped, counted and noted.
func TestPluginSelfBattles(t *testing.T) {
	dir := t.TempDir()
	clean := strings.Repeat("alpha,beta,model_a\nbeta,gamma,tie\ngamma,alpha,model_a\nbeta,alpha,model_a\nalpha,gamma,model_b\n", 10)
	self := "model_a,model_b,winner\n" + clean + "alpha,alpha,tie\ngamma,gamma,model_a\n" + clean
	path := writeText(t, dir, "self.csv", []byte(self))
	_, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Data: []string{path}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.Line != 52 || !strings.HasSuffix(err.Error(), `want a model other than model_a, got "alpha" on both sides; set self_battles=skip to drop such battles`) {
		t.Errorf("default: got %v", err)
	}
	prm := map[string]any{ParamSelfBattles: datasets.SelfBattlesSkip, ParamBootstrapRounds: 0}
	res := runRatings(t, prm, path)
	want := runRatings(t, prm, writeText(t, dir, "clean.csv", []byte("model_a,model_b,winner\n"+clean+clean)))
	if res.Final["self_battles_skipped"] != 2 || want.Final["self_battles_skipped"] != 0 || res.Final["battles"] != 100 {
		t.Errorf("finals: skipped %v (clean file %v), battles %v", res.Final["self_battles_skipped"], want.Final["self_battles_skipped"], res.Final["battles"])
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "self_battles=skip: dropped 2 battles of a model against itself") {
		t.Errorf("notes %q", res.Notes)
	}
	got, exp := column(t, res, "leaderboard", "rating"), column(t, want, "leaderboard", "rating")
	for m, r := range exp {
		if got[m] != r {
			t.Errorf("%s rated %v, %v without the self-battles", m, got[m], r)
		}
	}
}

// Gzipped battle files rate as the plain ones.
func TestPluginGzip(t *testing.T) {
	dir := t.TempDir()
	weighted, weightedCSV, _ := arenaFiles(t, dir)
	for _, path := range []string{weighted, weightedCSV} {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		prm := map[string]any{ParamBootstrapRounds: 10}
		plain := runRatings(t, prm, path)
		packed := runRatings(t, prm, writeText(t, dir, filepath.Base(path)+".gz", gzipped(t, text)))
		a, _ := json.Marshal(plain.Tables)
		b, _ := json.Marshal(packed.Tables)
		if string(a) != string(b) {
			t.Errorf("%s.gz: tables differ from the plain file's", filepath.Base(path))
		}
	}
}

// arena-hard-auto judgments: each model meets only the baseline, so the
// maximum-likelihood win rate against it is the weighted empirical one,
// (W + T/2)/N with strong verdicts weighing strong_weight: the benchmark's
// score, read from vs_anchor with anchor = baseline.
func TestPluginArenaHard(t *testing.T) {
	dir := t.TempDir()
	type verdicts struct{ strongWin, win, tie, loss, strongLoss, null int }
	models := map[string]verdicts{
		"alpha": {strongWin: 3, win: 6, tie: 4, loss: 5, strongLoss: 1, null: 1},
		"beta":  {strongWin: 0, win: 2, tie: 3, loss: 8, strongLoss: 5, null: 0},
		"gamma": {strongWin: 6, win: 3, tie: 1, loss: 1, strongLoss: 1, null: 2},
	}
	// Verdicts for the model in each game's positions: game 1 has the
	// baseline as A, game 2 the model as A.
	label := [2]map[string]string{
		{"strongWin": "B>>A", "win": "B>A", "tie": "A=B", "loss": "A>B", "strongLoss": "A>>B"},
		{"strongWin": "A>>B", "win": "A>B", "tie": "A=B", "loss": "B>A", "strongLoss": "B>>A"},
	}
	var lines []string
	for _, m := range []string{"alpha", "beta", "gamma"} {
		v := models[m]
		var games []string
		for _, k := range []struct {
			kind string
			n    int
		}{{"strongWin", v.strongWin}, {"win", v.win}, {"tie", v.tie}, {"loss", v.loss}, {"strongLoss", v.strongLoss}} {
			for range k.n {
				games = append(games, k.kind)
			}
		}
		for range v.null {
			games = append(games, "")
		}
		for q := 0; q < len(games); q += 2 {
			var g [2]string
			for i := 0; i < 2; i++ {
				g[i] = "null"
				if q+i < len(games) && games[q+i] != "" {
					g[i] = fmt.Sprintf("%q", label[i][games[q+i]])
				}
			}
			lines = append(lines, fmt.Sprintf(`{"question_id":"q%d","model":%q,"judge":"gpt-4-1106-preview","games":[{"judgment":"…","score":%s},{"judgment":"…","score":%s}]}`, q, m, g[0], g[1]))
		}
	}
	path := writeText(t, dir, "judgments.jsonl", []byte(strings.Join(lines, "\n")+"\n"))
	for _, strong := range []float64{3, 1} {
		for _, format := range []string{datasets.ArenaFormatAuto, datasets.ArenaFormatArenaHard} {
			res := runRatings(t, map[string]any{ParamFormat: format, ParamAnchor: datasets.DefaultArenaHardBaseline,
				ParamStrongWeight: strong, ParamBootstrapRounds: 40}, path)
			score := column(t, res, "vs_anchor", "win_rate")
			low, high := column(t, res, "vs_anchor", "ci_low"), column(t, res, "vs_anchor", "ci_high")
			for m, v := range models {
				w := strong*float64(v.strongWin) + float64(v.win) + float64(v.tie)/2
				n := strong*float64(v.strongWin+v.strongLoss) + float64(v.win+v.tie+v.loss)
				if math.Abs(score[m]-w/n) > tolScore {
					t.Errorf("strong %g, %s: %s scores %v, want (W + T/2)/N = %v", strong, format, m, score[m], w/n)
				}
				if !(low[m] <= score[m] && score[m] <= high[m]) {
					t.Errorf("strong %g: %s score %v outside [%v, %v]", strong, m, score[m], low[m], high[m])
				}
			}
			base := datasets.DefaultArenaHardBaseline
			if score[base] != 0.5 || low[base] != 0.5 || high[base] != 0.5 {
				t.Errorf("baseline: %v [%v, %v], want 0.5 [0.5, 0.5]", score[base], low[base], high[base])
			}
			if res.Final["null_scores_skipped"] != 3 || res.Final["models"] != 4 {
				t.Errorf("finals %v: want 3 null scores skipped, 4 models", res.Final)
			}
			if !strings.Contains(strings.Join(res.Notes, "\n"), "as arena-hard judgments") {
				t.Errorf("notes %q", res.Notes)
			}
		}
	}
	res := runRatings(t, map[string]any{ParamBootstrapRounds: 0}, path)
	if _, ok := res.Tables["vs_anchor"]; ok || !strings.Contains(strings.Join(res.Notes, "\n"), "set anchor=gpt-4-0314") {
		t.Errorf("no anchor: tables %v, notes %q", res.TableNames(), res.Notes)
	}
	_, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Params: map[string]any{ParamFormat: datasets.ArenaFormatBattles}, Data: []string{path}})
	if err == nil || !strings.HasSuffix(err.Error(), "judgments.jsonl:1: model_a: want a model name, got no such field") {
		t.Errorf("format battles on judgments: got %v", err)
	}
}

// vs_anchor is σ((r_m − r_anchor)·ln 10/400) of the leaderboard's ratings,
// its interval the quantiles of the same over the bootstrap replicates.
func TestPluginVsAnchor(t *testing.T) {
	res := runRatings(t, map[string]any{ParamAnchor: "cedar-13b", ParamAnchorRating: 1200.0, ParamBootstrapRounds: 30, kernel.ParamSeed: 3})
	rating := column(t, res, "leaderboard", "rating")
	vs := res.Tables["vs_anchor"]
	if got := strings.Join(vs.Columns, ","); got != "model,win_rate,ci_low,ci_high" {
		t.Fatalf("vs_anchor columns %s", got)
	}
	if got, want := strings.Join(vs.Strings("model"), ","), strings.Join(res.Tables["leaderboard"].Strings("model"), ","); got != want {
		t.Errorf("vs_anchor order %s, want the leaderboard's %s", got, want)
	}
	p, lo, hi := vs.Floats("win_rate"), vs.Floats("ci_low"), vs.Floats("ci_high")
	for i, m := range vs.Strings("model") {
		want := 1 / (1 + math.Pow(10, -(rating[m]-1200)/400))
		if math.Abs(p[i]-want) > tolScore {
			t.Errorf("%s: win rate %v, want %v", m, p[i], want)
		}
		if !(lo[i] <= p[i] && p[i] <= hi[i]) || (m != "cedar-13b" && !(lo[i] < hi[i])) {
			t.Errorf("%s: %v outside [%v, %v]", m, p[i], lo[i], hi[i])
		}
	}
	if len(res.Charts) != 3 || res.Charts[2].ID != "vs_anchor" || res.Charts[2].Table != "vs_anchor" {
		t.Errorf("charts %+v", res.Charts)
	}
}

// Without a bootstrap the intervals do not exist: null in result.json, not
// the string "NaN"; the result reads back and its report draws.
func TestPluginNoBootstrapNulls(t *testing.T) {
	res := runRatings(t, map[string]any{ParamBootstrapRounds: 0, ParamAnchor: "cedar-13b"})
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"NaN"`)) {
		t.Errorf("result.json holds \"NaN\"")
	}
	var back kernel.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"leaderboard", "vs_anchor"} {
		tb := back.Tables[name]
		for i, row := range tb.Rows {
			if row[tb.Col("ci_low")] != nil || row[tb.Col("ci_high")] != nil {
				t.Errorf("%s row %d: %v, want null intervals", name, i, row)
			}
		}
		if !bytes.Contains(b, []byte(fmt.Sprintf(`["%s", %v, null, null`, tb.Rows[0][0], tb.Rows[0][1]))) {
			t.Errorf("%s: first row not written with nulls", name)
		}
	}
	for _, r := range []*kernel.Result{res, &back} {
		if _, err := report.HTML(r); err != nil {
			t.Errorf("report: %v", err)
		}
	}
}
