package nash_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/nash"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// A run of nash.mwu hands back every prompt's final and average policy;
// saved and loaded back, the model scores a game file without training:
// the last iterate of multiplicative weights cycles, far from the Nash
// equilibrium, while the average approaches it.
func ExamplePolicyModel_Score() {
	dir, err := os.MkdirTemp("", "nash-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	var game bytes.Buffer
	if err := datasets.CyclicGame(5, 3, 1).WriteJSON(&game); err != nil {
		fmt.Println(err)
		return
	}
	data := filepath.Join(dir, "game.json")
	if err := os.WriteFile(data, game.Bytes(), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	res, err := kernel.Run(ctx, nash.IDMWU, kernel.Options{Params: map[string]any{"iterations": 500}, Data: []string{data}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := kernel.SaveModel(res, filepath.Join(dir, "model")); err != nil {
		fmt.Println(err)
		return
	}
	m, err := kernel.Load(filepath.Join(dir, "model"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Model.Kind())
	sc, err := m.Score(ctx, kernel.Options{Data: []string{data}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("final:   exploitability %.3f\n", sc.Final[nash.MetricExploitability])
	fmt.Printf("average: exploitability %.3f\n", sc.Final[nash.MetricExploitability+"_avg"])
	fmt.Println("as the run:", sc.Final[nash.MetricExploitability] == res.Final[nash.MetricExploitability])
	// Output:
	// nash.mwu policies (final and average), 1 prompt × 5 actions
	// final:   exploitability 0.337
	// average: exploitability 0.011
	// as the run: true
}
