package decoder

import (
	"slices"
	"strings"
)

// Shapes returns the dimensions of every weight of the policy and head, by
// its variable path without the leading slash ("policy/…", "head/dense/
// weights"): the arrays Save writes, without the optimizer's state or the
// random-number state.
func (m *Model) Shapes() map[string][]int {
	out := map[string][]int{}
	for v := range m.store.IterVariables() {
		p := v.Path()
		if !strings.HasPrefix(p, "/"+scopePolicy) && !strings.HasPrefix(p, "/"+scopeHead) {
			continue
		}
		dims := slices.Clone(v.Shape().Dimensions)
		if dims == nil {
			dims = []int{}
		}
		out[strings.TrimPrefix(p, "/")] = dims
	}
	return out
}
