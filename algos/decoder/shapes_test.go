package decoder

import "testing"

// TestShapes: the shapes cover every weight NumParams counts, the head's
// included once it exists.
func TestShapes(t *testing.T) {
	cfg, err := SizeConfig(SizeTest, 16, 8)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	count := func(shapes map[string][]int) int {
		n := 0
		for _, dims := range shapes {
			k := 1
			for _, d := range dims {
				k *= d
			}
			n += k
		}
		return n
	}
	if got, want := count(m.Shapes()), m.NumParams(); got != want {
		t.Errorf("policy: shapes hold %d weights, want %d", got, want)
	}
	if err := m.InitHead(); err != nil {
		t.Fatal(err)
	}
	sh := m.Shapes()
	if got, want := count(sh), m.NumParams(); got != want {
		t.Errorf("with head: shapes hold %d weights, want %d", got, want)
	}
	if d := sh["head/dense/weights"]; len(d) != 2 || d[0] != cfg.Dim || d[1] != 1 {
		t.Errorf("head weights shape %v, want [%d 1]", d, cfg.Dim)
	}
}
