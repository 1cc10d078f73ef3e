package datasets

import (
	"fmt"
	"testing"
)

func TestAggregateBattles(t *testing.T) {
	battles := []Battle{
		{ModelA: "b", ModelB: "a", Winner: WinnerA}, {ModelA: "a", ModelB: "b", Winner: WinnerA}, {ModelA: "a", ModelB: "b", Winner: WinnerB},
		{ModelA: "a", ModelB: "b", Winner: WinnerTie}, {ModelA: "b", ModelB: "a", Winner: WinnerTieBothBad},
		{ModelA: "c", ModelB: "a", Winner: WinnerB}, {ModelA: "a", ModelB: "c", Winner: WinnerA},
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
	if _, err := AggregateBattles([]Battle{{ModelA: "a", ModelB: "b", Winner: "draw"}}); err == nil {
		t.Error("unnormalized winner accepted")
	}
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
