package kernel

import (
	"context"
	"slices"
	"strings"
	"testing"
)

type quickPlugin struct{ regPlugin }

func (quickPlugin) QuickParams() map[string]any { return map[string]any{"n": 3} }

// A renamed plugin keeps its old ID as an alias: Lookup and Run accept it,
// the result carries the new ID and a note, IDs lists only the new one, and
// Describe says it is deprecated.
func TestAlias(t *testing.T) {
	info := Info{ID: "new.alias", Params: []Param{IntParam("n", 1, 0, 10, "n")}}
	registerTemp(t, info, func(j *Job) error { j.SetFinal("n", float64(j.Params.Int("n"))); return nil })
	RegisterAlias("old.alias", "new.alias")
	if slices.Contains(IDs(), "old.alias") || !slices.Contains(IDs(), "new.alias") {
		t.Errorf("IDs() = %v, want new.alias without old.alias", IDs())
	}
	res, err := Run(context.Background(), "old.alias", Options{Params: map[string]any{"n": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plugin != "new.alias" || res.Final["n"] != 2 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "deprecated") {
		t.Errorf("result plugin %q final %v notes %q, want new.alias, n=2, one deprecation note", res.Plugin, res.Final, res.Notes)
	}
	text, err := Describe("old.alias")
	if err != nil || !strings.Contains(text, "Deprecated: old.alias is an old ID of new.alias; use new.alias.") {
		t.Errorf("Describe(old.alias) = %q, %v", text, err)
	}
	if to, ok := Deprecated("old.alias"); !ok || to != "new.alias" {
		t.Errorf("Deprecated(old.alias) = %q, %v", to, ok)
	}
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { RegisterAlias("old.alias", "new.alias") }, "kernel: alias old.alias declared twice"},
		{func() { RegisterAlias("other.alias", "missing.x") }, "kernel: alias other.alias of plugin missing.x, which is not registered"},
		{func() { RegisterAlias("new.alias", "new.alias") }, "kernel: alias new.alias: a plugin has that name"},
		{func() { RegisterAlias("Bad", "new.alias") }, `kernel: RegisterAlias: plugin ID "Bad" is not lowercase and dot-namespaced`},
		{func() { Register(regPlugin{info: Info{ID: "old.alias"}}) }, "kernel: Register plugin old.alias: the name is an alias of new.alias"},
	} {
		if got := panicText(c.f); got != c.want {
			t.Errorf("got panic %q, want %q", got, c.want)
		}
	}
	unregister("new.alias")
	if _, err := Lookup("old.alias"); err == nil {
		t.Error("the alias outlived its plugin")
	}
}

// Quick params are an optional ability, found by type assertion.
func TestQuickParams(t *testing.T) {
	Register(quickPlugin{regPlugin{info: Info{ID: "quick.yes"}}})
	t.Cleanup(func() { unregister("quick.yes") })
	registerTemp(t, Info{ID: "quick.no"}, nil)
	if q, ok := QuickParams("quick.yes"); !ok || q["n"] != 3 {
		t.Errorf("QuickParams(quick.yes) = %v, %v", q, ok)
	}
	if _, ok := QuickParams("quick.no"); ok {
		t.Error("QuickParams(quick.no) reported params")
	}
	if _, ok := QuickParams("quick.missing"); ok {
		t.Error("QuickParams of an unknown ID reported params")
	}
}
