package backend

import (
	"runtime"
	"testing"
)

func TestGoConfig(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		procs int
		want  string
	}{
		{1, "go:ops_sequential"},
		{2, "go:ops_parallel,num_executors=2"},
		{16, "go:ops_parallel,num_executors=16"},
	} {
		runtime.GOMAXPROCS(tc.procs)
		if got := GoConfig(); got != tc.want {
			t.Errorf("GOMAXPROCS %d: GoConfig() = %q, want %q", tc.procs, got, tc.want)
		}
	}
}
