package bt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/kernel"
)

// A bt.ratings run hands back its ratings as a model: the predicted
// outcome of any battle between two rated models.
func ExampleRatingsModel_Predict() {
	res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Params: map[string]any{"bootstrap_rounds": 0}})
	if err != nil {
		panic(err)
	}
	m := res.Model.(*bt.RatingsModel)
	fmt.Println(m.Kind())
	win, loss, tie, _ := m.Predict(m.Models[0], m.Models[1])
	fmt.Printf("P(%s beats %s) = %.3f, the reverse %.3f, a tie %.0f\n", m.Models[0], m.Models[1], win, loss, tie)
	// Output:
	// Bradley–Terry ratings of 10 models (ties half)
	// P(aurora-70b beats basalt-34b) = 0.440, the reverse 0.560, a tie 0
}

// The ratings, saved and loaded back, score battles they were not fitted
// on, without refitting.
func ExampleRatingsModel_Score() {
	dir, err := os.MkdirTemp("", "bt-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	train := filepath.Join(dir, "train.jsonl")
	os.WriteFile(train, []byte(`{"model_a":"A","model_b":"B","winner":"model_a"}
{"model_a":"A","model_b":"B","winner":"model_a"}
{"model_a":"B","model_b":"A","winner":"model_a"}
{"model_a":"B","model_b":"C","winner":"model_a"}
{"model_a":"C","model_b":"B","winner":"model_a"}
{"model_a":"C","model_b":"A","winner":"model_a"}
{"model_a":"A","model_b":"C","winner":"model_a"}
`), 0o644)
	res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Params: map[string]any{"bootstrap_rounds": 0}, Data: []string{train}})
	if err != nil {
		panic(err)
	}
	if err := kernel.SaveModel(res, filepath.Join(dir, "model")); err != nil {
		panic(err)
	}
	m, err := kernel.Load(filepath.Join(dir, "model"))
	if err != nil {
		panic(err)
	}
	fresh := filepath.Join(dir, "new.jsonl")
	os.WriteFile(fresh, []byte(`{"model_a":"A","model_b":"C","winner":"model_a"}
{"model_a":"B","model_b":"D","winner":"model_a"}
`), 0o644)
	sc, err := m.Score(context.Background(), kernel.Options{Data: []string{fresh}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("battles %.0f, skipped %.0f, accuracy %.2f, log loss %.4f\n",
		sc.Final["battles"], sc.Final["battles_skipped"], sc.Final["accuracy"], sc.Final["log_loss"])
	fmt.Println(sc.Notes[0])
	// Output:
	// battles 1, skipped 1, accuracy 1.00, log loss 0.5740
	// skipped 1 battle naming models the saved ratings do not know: D
}

// The Plackett–Luce ratings of a bt.plackett_luce run draw rankings of
// the offered sets of a rankings file (seeded: the same draws every time).
func ExamplePLItemsModel_Sample() {
	dir, err := os.MkdirTemp("", "bt-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	train := filepath.Join(dir, "rankings.jsonl")
	os.WriteFile(train, []byte(`{"ranking":["A","B","C"]}
{"ranking":["A","C","B"]}
{"ranking":["B","A","C"]}
{"ranking":["C","B","A"]}
{"ranking":["A","B"]}
`), 0o644)
	res, err := kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Params: map[string]any{"bootstrap_rounds": 0}, Data: []string{train}})
	if err != nil {
		panic(err)
	}
	m, err := kernel.LoadedOf(res)
	if err != nil {
		panic(err)
	}
	offered := filepath.Join(dir, "offered.jsonl")
	os.WriteFile(offered, []byte(`{"ranking":["C","A"],"offered":["A","B","C"]}`+"\n"), 0o644)
	s, err := m.Sample(context.Background(), 4, kernel.Options{Data: []string{offered}})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Model.Kind())
	for _, order := range s.Tables["samples"].Strings("order") {
		fmt.Println(order)
	}
	// Output:
	// Plackett–Luce ratings of 3 items
	// B > C
	// A > B
	// C > A
	// A > C
}
