package fit

import "math/rand/v2"

// Batcher draws mini-batches of a fixed size from n examples, as
// consecutive slices of a permutation redrawn (from r) each epoch: every
// example appears once per epoch, and every batch has the same size, so one
// compiled graph serves every step (the last batch of an epoch continues
// into the next permutation).
type Batcher struct {
	n, size int
	r       *rand.Rand
	perm    []int
	cursor  int
}

// NewBatcher returns a batcher of size examples out of n. A size of 0, or
// of n or more, means full batch: Full reports true and Next is not used.
func NewBatcher(n, size int, r *rand.Rand) *Batcher {
	if size <= 0 || size >= n {
		size = n
	}
	return &Batcher{n: n, size: size, r: r}
}

// Size is the number of examples per batch.
func (b *Batcher) Size() int { return b.size }

// Full reports whether every batch is all n examples.
func (b *Batcher) Full() bool { return b.size == b.n }

// Next returns the indices of the next batch. The first call draws the
// first permutation.
func (b *Batcher) Next() []int {
	idx := make([]int, b.size)
	for k := range idx {
		if b.cursor == len(b.perm) {
			b.perm = b.r.Perm(b.n)
			b.cursor = 0
		}
		idx[k] = b.perm[b.cursor]
		b.cursor++
	}
	return idx
}

// Rows copies the rows idx of x (rows of width d, row-major) into a new
// slice: the batch's part of a flat data matrix.
func Rows(x []float64, d int, idx []int) []float64 {
	out := make([]float64, len(idx)*d)
	for k, i := range idx {
		copy(out[k*d:(k+1)*d], x[i*d:(i+1)*d])
	}
	return out
}

// Transposed returns the [cols, rows] transpose of the row-major [rows,
// cols] matrix x, e.g. a data matrix laid out feature by feature.
func Transposed[T any](x []T, rows, cols int) []T {
	out := make([]T, len(x))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = x[i*cols+j]
		}
	}
	return out
}
