// Command btratings benchmarks the bt.ratings plugin on a large arena.
//
//	go run ./bench/btratings -gen arena.jsonl           # write 100 models × 1M battles once
//	go run ./bench/btratings -data arena.jsonl -json go.json
//
// The second form times, on the same file: the whole plugin run through
// kernel.Run (read, hash, parse, aggregate, fit, bootstrap); reading and
// aggregating alone; and the fit plus bootstrap on the aggregated counts,
// which is what arena_sklearn.py times on its side. It writes the ratings
// and timings as JSON for the comparison. run.sh does both sides.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/bench/internal/measure"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

func main() {
	var (
		gen     = flag.String("gen", "", "write a synthetic arena (JSONL) to this path and exit")
		models  = flag.Int("models", 100, "models in the generated arena")
		battles = flag.Int("battles", 1000000, "battles in the generated arena")
		seed    = flag.Uint64("seed", 1, "seed of the generated arena and of the bootstrap")
		data    = flag.String("data", "", "battle file to rate")
		rounds  = flag.Int("rounds", 100, "bootstrap rounds")
		solver  = flag.String("solver", bt.SolverNewton, "newton or mm")
		repeat  = flag.Int("repeat", 3, "timed repetitions (the median is reported)")
		out     = flag.String("json", "", "write ratings and timings here")
		only    = flag.Bool("plugin-only", false, "time one end-to-end plugin run only, and report its peak memory")
		cpuProf = flag.String("cpuprofile", "", "write a CPU profile of the run here")
		dense   = flag.Bool("check-dense", false, "with -plugin-only: also fit with the dense Newton system (untimed) and print the largest rating difference")
	)
	flag.Parse()
	defer measure.CPUProfile(*cpuProf)()
	log.SetFlags(0)
	if *gen != "" {
		b, _, err := datasets.GenerateArena(datasets.ArenaConfig{
			Models: *models, Battles: *battles, TieRate: 0.2, BothBad: 0.3, Skew: 0.5, Seed: *seed,
		})
		if err != nil {
			log.Fatal(err)
		}
		f, err := os.Create(*gen)
		if err != nil {
			log.Fatal(err)
		}
		if err := datasets.WriteBattlesJSONL(f, b); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote %s: %d models, %d battles\n", *gen, *models, *battles)
		return
	}
	if *data == "" {
		log.Fatal("btratings: want -gen PATH or -data PATH")
	}
	// Wall and CPU (user + system, all threads) seconds: on a shared
	// machine the CPU time is the steadier of the two.
	cpu := map[string]float64{}
	timed := func(name string, f func() error) float64 {
		var ts, cs []float64
		for i := 0; i < *repeat; i++ {
			start, c0 := time.Now(), measure.CPUSeconds()
			if err := f(); err != nil {
				log.Fatal(err)
			}
			ts = append(ts, time.Since(start).Seconds())
			cs = append(cs, measure.CPUSeconds()-c0)
		}
		sort.Float64s(ts)
		sort.Float64s(cs)
		cpu[name] = cs[len(cs)/2]
		return ts[len(ts)/2]
	}
	if *only {
		start, c0 := time.Now(), measure.CPUSeconds()
		res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{
			Params: map[string]any{bt.ParamBootstrapRounds: *rounds, bt.ParamSolver: *solver, "seed": int64(*seed)},
			Data:   []string{*data},
		})
		if err != nil {
			log.Fatal(err)
		}
		wall, cpuS := time.Since(start).Seconds(), measure.CPUSeconds()-c0
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("bt.ratings plugin (%s, %d bootstrap rounds, GOMAXPROCS %d) on %s: %d models, %.0f battles\n",
			*solver, *rounds, runtime.GOMAXPROCS(0), *data, int(res.Final["models"]), res.Final["battles"])
		fmt.Printf("  wall %.2f s, cpu %.2f s, peak RSS %.0f MB, Go heap peak-ish (Sys) %.0f MB, rows in table win_rate %d\n",
			wall, cpuS, measure.MaxRSSMB(), float64(ms.Sys)/1e6, len(res.Tables["win_rate"].Rows))
		if *dense {
			// The dense Cholesky Newton fit of the same counts, rated as
			// the plugin rates (mean 1000, no anchor, its default prior).
			counts, err := datasets.LoadArenaCounts(*data)
			if err != nil {
				log.Fatal(err)
			}
			fd, err := bt.FitNewton(counts, &bt.Settings{Prior: bt.DefaultPrior, NewtonSystem: bt.NewtonDense})
			if err != nil {
				log.Fatal(err)
			}
			want := bt.Elo(fd.Theta, -1, bt.DefaultAnchorRating)
			lb := res.Tables["leaderboard"]
			got := lb.Floats("rating")
			worst := 0.0
			for i, m := range lb.Strings("model") {
				worst = max(worst, math.Abs(got[i]-want[counts.Index(m)]))
			}
			fmt.Printf("  max |rating − dense Newton rating| = %.2g Elo over %d models (%d dense iterations)\n", worst, len(got), fd.Iterations)
		}
		if *out != "" {
			lb := res.Tables["leaderboard"]
			b, _ := json.MarshalIndent(map[string]any{
				"model": lb.Strings("model"), "rating": lb.Floats("rating"),
				"ci_low": lb.Floats("ci_low"), "ci_high": lb.Floats("ci_high"),
				"seconds_plugin": wall, "cpu_seconds_plugin": cpuS, "peak_rss_mb": measure.MaxRSSMB(),
			}, "", "  ")
			if err := os.WriteFile(*out, b, 0o644); err != nil {
				log.Fatal(err)
			}
		}
		return
	}
	var res *kernel.Result
	plugin := timed("plugin", func() (err error) {
		res, err = kernel.Run(context.Background(), "bt.ratings", kernel.Options{
			Params: map[string]any{bt.ParamBootstrapRounds: *rounds, bt.ParamSolver: *solver, "seed": int64(*seed)},
			Data:   []string{*data},
		})
		return err
	})
	var counts *datasets.ArenaCounts
	load := timed("load_aggregate", func() (err error) {
		counts, err = datasets.LoadArenaCounts(*data)
		return err
	})
	solve, err := bt.SolverByName(*solver)
	if err != nil {
		log.Fatal(err)
	}
	var fit *bt.Fit
	fitOnly := timed("fit", func() (err error) {
		fit, err = solve(counts, &bt.Settings{Prior: bt.DefaultPrior})
		return err
	})
	fitBoot := timed("fit_bootstrap", func() error {
		f, err := solve(counts, &bt.Settings{Prior: bt.DefaultPrior})
		if err != nil {
			return err
		}
		return bt.Bootstrap(context.Background(), counts, f, *rounds, rand.New(rand.NewPCG(*seed, 1)), *solver,
			bt.Settings{Prior: bt.DefaultPrior}, 0, func(int, *bt.Fit) error { return nil })
	})
	lb := res.Tables["leaderboard"]
	ratings := map[string]float64{}
	ciLow := map[string]float64{}
	ciHigh := map[string]float64{}
	for i, m := range lb.Strings("model") {
		ratings[m] = lb.Floats("rating")[i]
		ciLow[m] = lb.Floats("ci_low")[i]
		ciHigh[m] = lb.Floats("ci_high")[i]
	}
	report := map[string]any{
		"solver": *solver, "rounds": *rounds, "models": len(counts.Models), "battles": counts.Battles(),
		"pairs": len(counts.Pairs), "gomaxprocs": runtime.GOMAXPROCS(0),
		"seconds_plugin": plugin, "seconds_load_aggregate": load, "seconds_fit": fitOnly, "seconds_fit_bootstrap": fitBoot,
		"cpu_seconds_plugin": cpu["plugin"], "cpu_seconds_load_aggregate": cpu["load_aggregate"],
		"cpu_seconds_fit": cpu["fit"], "cpu_seconds_fit_bootstrap": cpu["fit_bootstrap"],
		"iterations": fit.Iterations, "log_likelihood": fit.LogLikelihood,
		"ratings": ratings, "ci_low": ciLow, "ci_high": ciHigh,
	}
	fmt.Printf("Go bt.ratings (%s, %d bootstrap rounds, GOMAXPROCS %d) on %d models, %d battles, %d pairs:\n",
		*solver, *rounds, runtime.GOMAXPROCS(0), len(counts.Models), counts.Battles(), len(counts.Pairs))
	fmt.Printf("  median of %d runs, seconds:                       wall      cpu\n", *repeat)
	fmt.Printf("  plugin end to end (read+hash+parse+fit+bootstrap) %8.3f %8.3f\n", plugin, cpu["plugin"])
	fmt.Printf("  read + aggregate                                   %8.3f %8.3f\n", load, cpu["load_aggregate"])
	fmt.Printf("  fit on counts (%3d iterations)                     %8.3f %8.3f\n", fit.Iterations, fitOnly, cpu["fit"])
	fmt.Printf("  fit + %d bootstrap fits on counts                 %8.3f %8.3f\n", *rounds, fitBoot, cpu["fit_bootstrap"])
	if *out != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
