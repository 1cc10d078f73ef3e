package main

import (
	"context"
	"errors"
	"io"

	"github.com/alignlab/alignlab/kernel"
)

const scoreUsageText = `Usage: alignlab score ID --model DIR --data FILE... [--set key=value]... [--seed N] [--out DIR] [--json]

Measures the model saved in DIR (by "alignlab run ID --out OUT": DIR is OUT/model)
on new data, without training: rewards or log-probs, predicted preferences,
accuracy, log-loss — what "alignlab describe ID" lists under Model.
  --model DIR       the saved model (its manifest.json names the plugin, which must be ID)
  --data FILE       the data to score, in a format ID reads (repeatable)
  --set key=value   override one of the trained run's params (repeatable)
  --seed N          the seed of any random draw (default: the trained run's)
  --out DIR         write DIR/result.json, DIR/report.html and every table as DIR/NAME.csv
  --json            print the result as JSON on stdout
`

const sampleUsageText = `Usage: alignlab sample ID --model DIR [--x FILE] [--n N] [--set key=value]... [--seed N] [--out DIR] [--json]

Draws from the model saved in DIR (by "alignlab run ID --out OUT": DIR is OUT/model)
without training: N samples for each condition in FILE (for sb.light, y | x
for each row x of a CSV file), into the table "samples".
  --model DIR       the saved model (its manifest.json names the plugin, which must be ID)
  --x FILE          the conditions, in a format "alignlab describe ID" gives (also --data)
  --n N             samples per condition (default 100)
  --set key=value   override one of the trained run's params (repeatable), e.g. a sampler choice
  --seed N          the seed of the draws (default: the trained run's)
  --out DIR         write DIR/result.json, DIR/report.html and DIR/samples.csv
  --json            print the result as JSON on stdout
`

func scoreCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return modelCmd(ctx, "score", scoreUsageText, args, stdout, stderr)
}

func sampleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return modelCmd(ctx, "sample", sampleUsageText, args, stdout, stderr)
}

// modelCmd runs score or sample: load the model, check it is ID's, use it.
func modelCmd(ctx context.Context, verb, usage string, args []string, stdout, stderr io.Writer) int {
	ra, err := parseArgs(verb, args)
	if errors.Is(err, errHelp) {
		io.WriteString(stdout, usage)
		return exitOK
	}
	if err != nil {
		return usagef(stderr, "%v", err)
	}
	p, err := kernel.Lookup(ra.id) // a deprecated ID finds its plugin, whose Info has the current one
	if err != nil {
		return reportError(stderr, err)
	}
	l, err := kernel.Load(ra.model)
	if err != nil {
		return reportError(stderr, err)
	}
	if l.Manifest.Plugin != p.Info().ID {
		return usagef(stderr, "--model %s holds a %s model (%s), not %s's: run alignlab %s %s --model %s",
			ra.model, l.Manifest.Plugin, l.Manifest.Kind, ra.id, verb, l.Manifest.Plugin, ra.model)
	}
	prog := newProgress(stderr, ra.id, ra.json)
	opts := kernel.Options{Params: ra.params, Data: ra.data, Observer: prog.observe}
	var res *kernel.Result
	if verb == "score" {
		res, err = l.Score(ctx, opts)
	} else {
		res, err = l.Sample(ctx, ra.n, opts)
	}
	prog.finish()
	return finishCmd(ctx, ra, res, err, stdout, stderr)
}
