package bt

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// bt.pl_vs_pairwise is PLVersusPairwise drawing from PCG(seed, seed): the
// same table, its finals read at the largest number of rankings; with 300
// rankings both estimators are within 0.3 of the planted θ.
func TestPLVersusPairwisePlugin(t *testing.T) {
	params := map[string]any{"seed": 3, ParamSizes: "30, 300", ParamRepeats: 2, ParamItems: 5, ParamListLength: 4}
	res, err := kernel.Run(context.Background(), "bt.pl_vs_pairwise", kernel.Options{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	want, err := PLVersusPairwise(datasets.PLConfig{Items: 5, Length: 4, Spread: 1}, []int{30, 300}, 2, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	got := res.Tables["rmse"]
	if got == nil || !reflect.DeepEqual(got.Rows, want.Rows) {
		t.Fatalf("table rmse: got %v, want %v", got, want.Rows)
	}
	rmse := want.Floats("rmse")
	if res.Final["pl_rmse"] != rmse[2] || res.Final["pairwise_rmse"] != rmse[3] {
		t.Errorf("finals pl_rmse %v, pairwise_rmse %v, want %v and %v (300 rankings)", res.Final["pl_rmse"], res.Final["pairwise_rmse"], rmse[2], rmse[3])
	}
	for _, k := range []string{"pl_rmse", "pairwise_rmse"} {
		if v := res.Final[k]; !(v < 0.3) {
			t.Errorf("%s = %v, want < 0.3", k, v)
		}
	}
	_, err = kernel.Run(context.Background(), "bt.pl_vs_pairwise", kernel.Options{Params: map[string]any{ParamSizes: "50,0"}})
	if err == nil || !strings.Contains(err.Error(), `bt: sizes: want numbers of rankings ≥ 1, comma-separated, got "50,0"`) {
		t.Errorf("sizes 50,0: got %v", err)
	}
}
