package notebook_test

import (
	"context"
	"fmt"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/notebook"
	"github.com/alignlab/alignlab/plots"
)

// halving is a plugin for the examples: "value" halves at every step.
type halving struct{}

func (halving) Info() kernel.Info {
	return kernel.Info{ID: "example.halving", Summary: "halves a value",
		Params: []kernel.Param{kernel.IntParam("steps", 4, 1, 100, "steps")}}
}

func (halving) Run(job *kernel.Job) error {
	v := 1.0
	for s := int64(1); s <= job.Params.Int64("steps"); s++ {
		v /= 2
		if err := job.Record(s, "value", v); err != nil {
			return err
		}
	}
	job.SetFinal("value", v)
	job.AddChart(kernel.Chart{Kind: "line", ID: "value", Title: "value", Series: []string{"value"}})
	return nil
}

func init() { kernel.Register(halving{}) }

// In a notebook cell, Show displays the result; under go test (or in any
// program not started by GoNB) it does nothing, so notebook code is testable.
func ExampleShow() {
	res, err := kernel.Run(context.Background(), "example.halving", kernel.Options{})
	if err != nil {
		panic(err)
	}
	notebook.Show(res)
	fmt.Println(notebook.InNotebook(), res.Final["value"])
	// Output: false 0.0625
}

// RunLive is Run outside a notebook; in a notebook a chart of "value"
// redraws while the plugin runs.
func ExampleRunLive() {
	res, err := notebook.RunLive(context.Background(), "example.halving", kernel.Options{Params: map[string]any{"steps": 3}}, "value")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.Series["value"]), res.Final["value"])
	// Output: 3 0.125
}

// RunStudy is kernel.RunStudyWith outside a notebook; in a notebook a
// progress line counts the cells, then the summary table and a chart of
// each metric with mean ± s.e. error bars are shown. (halving ignores the
// seed, so the standard error is 0.)
func ExampleRunStudy() {
	st, err := notebook.RunStudy(context.Background(), kernel.Study{
		Plugin: "example.halving",
		Grid:   []kernel.Axis{kernel.Vary("steps", 1, 2, 3)},
		Seeds:  []int64{1, 2},
	}, kernel.StudyOptions{})
	if err != nil {
		panic(err)
	}
	t := st.Result().Tables["study"]
	fmt.Println(t.Columns)
	for _, row := range t.Rows {
		fmt.Println(row...)
	}
	// Output:
	// [steps value value_se value_low value_high runs]
	// 1 0.5 0 0.5 0.5 2
	// 2 0.25 0 0.25 0.25 2
	// 3 0.125 0 0.125 0.125 2
}

// KernelJSON turns the kernelspec `gonb --install` writes into the
// alignlab one.
func ExampleKernelJSON() {
	gonb := []byte(`{"argv":["/tmp/gonb","--kernel","{connection_file}"],"display_name":"Go (gonb)","language":"go","env":{}}`)
	spec, err := notebook.KernelJSON(gonb, notebook.KernelEnv{
		DisplayName:  notebook.DefaultKernelDisplayName,
		Gonb:         "/home/me/go/bin/gonb",
		Toolchain:    "go1.27.3",
		GoExperiment: notebook.GoExperiment,
		PathDirs:     []string{"/usr/local/go/bin", "/home/me/go/bin"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(spec))
	// Output:
	// {
	//   "argv": [
	//     "/home/me/go/bin/gonb",
	//     "--kernel",
	//     "{connection_file}"
	//   ],
	//   "display_name": "Go (alignlab)",
	//   "env": {
	//     "GOEXPERIMENT": "simd",
	//     "GOMLX_BACKEND": "go",
	//     "GOTOOLCHAIN": "go1.27.3",
	//     "PATH": "/usr/local/go/bin:/home/me/go/bin:${PATH}:/usr/local/bin:/usr/bin:/bin"
	//   },
	//   "language": "go"
	// }
}

// WidgetsFor puts controls on the named params only (here steps); outside
// a notebook it returns at once.
func ExampleWidgetsFor() {
	err := notebook.WidgetsFor(context.Background(), "example.halving", kernel.Options{}, []string{"steps"}, nil)
	fmt.Println(err)
	// Output: <nil>
}

// A cell whose charts must stay interactive on their own (a notebook
// exported cell by cell) asks for the ECharts library in its next chart
// output; elsewhere only the session's first chart output carries it.
func ExampleIncludeLibrary() {
	notebook.IncludeLibrary()
	notebook.ShowCharts(plots.Line(plots.RandomID(), "value", []plots.Series{{Name: "value", X: []float64{1, 2}, Y: []float64{0.5, 0.25}}}, plots.Axes{}))
	fmt.Println(notebook.InNotebook())
	// Output: false
}
