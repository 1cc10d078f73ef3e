package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestDataUsage checks both sources of *DataUsageError: Run's own check
// that a plugin declaring no data formats gets no --data (before the plugin
// runs and before any file is read), and a plugin's count check through
// Job.DataCountError.
func TestDataUsage(t *testing.T) {
	ran := false
	registerTemp(t, Info{ID: "usage.none"}, func(*Job) error { ran = true; return nil })
	registerTemp(t, Info{ID: "usage.pair", Data: []DataFormat{{Name: "numbers"}}}, func(job *Job) error {
		if len(job.Data) != 0 && len(job.Data) != 2 {
			return job.DataCountError("2 files: --data A --data B")
		}
		return nil
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "x.txt")
	if err := os.WriteFile(file, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		data []string
		want string // "" for success
	}{
		{"usage.none", nil, ""},
		{"usage.none", []string{file}, "usage.none reads no --data files: want none, got 1 file"},
		// The usage is wrong whatever the files: a missing one is not even looked at.
		{"usage.none", []string{file, filepath.Join(dir, "missing")}, "usage.none reads no --data files: want none, got 2 files"},
		{"usage.pair", nil, ""},
		{"usage.pair", []string{file, file}, ""},
		{"usage.pair", []string{file}, "usage.pair: --data: want 2 files: --data A --data B, got 1 file"},
		{"usage.pair", []string{file, file, file}, "usage.pair: --data: want 2 files: --data A --data B, got 3 files"},
	} {
		ran = false
		_, err := Run(context.Background(), tt.id, Options{Data: tt.data})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s %v: %v", tt.id, tt.data, err)
			}
			continue
		}
		var ue *DataUsageError
		if !errors.As(err, &ue) || err.Error() != tt.want {
			t.Errorf("%s %v: got %v (%T), want *DataUsageError %q", tt.id, tt.data, err, err, tt.want)
			continue
		}
		if ue.Got != len(tt.data) {
			t.Errorf("%s %v: Got %d, want %d", tt.id, tt.data, ue.Got, len(tt.data))
		}
		if ran {
			t.Errorf("%s %v: the plugin ran", tt.id, tt.data)
		}
	}
}

func ExampleDataUsageError() {
	fmt.Println(&DataUsageError{Plugin: "sb.light", Want: "2 files, --data x0 --data x1", Got: 1})
	fmt.Println(&DataUsageError{Plugin: "bt.reward_losses", Got: 2})
	// Output:
	// sb.light: --data: want 2 files, --data x0 --data x1, got 1 file
	// bt.reward_losses reads no --data files: want none, got 2 files
}
