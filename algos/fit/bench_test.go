package fit

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkLoopOverhead is the loop's own cost per step (context check,
// loss check, hook dispatch) around a step that does nothing: what every
// family pays for sharing the loop instead of a bare for statement.
func BenchmarkLoopOverhead(b *testing.B) {
	l := NewLoop("bench", b.N, func(int) (float64, error) { return 1, nil })
	l.EveryN(10, "eval", func(int) error { return nil })
	b.ResetTimer()
	if err := l.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBatcher draws batches of 64 rows of width 16 out of 10,000.
func BenchmarkBatcher(b *testing.B) {
	const n, d = 10000, 16
	x := make([]float64, n*d)
	bt := NewBatcher(n, 64, rand.New(rand.NewPCG(1, 2)))
	for b.Loop() {
		_ = Rows(x, d, bt.Next())
	}
}
