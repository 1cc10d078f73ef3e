// Package fit is the one training loop of alignlab's plugins, on the shape
// of GoMLX's ml/train loop: a Loop takes Steps optimizer steps and calls
// named hooks at the start, every N steps (and after the last step) and at
// the end; it stops on a cancelled context, on a NaN or infinite loss
// (naming the step), and turns a panic of GoMLX graph building into an
// error (Catch, the one place graph panics are recovered).
//
// A finite loss does not prove a finite model: under GOEXPERIMENT=simd,
// exp(NaN), tanh(NaN) and σ(NaN) come out finite, so a diverged model can
// report a finite loss. NewOptimizer's optimizers are therefore wrapped by
// Guard, whose update graph also stores Σg² and Σθ'² (products and sums
// only, which carry NaN and infinities under every build); CheckFinite
// reads them after a step, ExecStep calls it, and Loop.Watch makes the loop
// call it for a step that runs its graph itself. A NaN or infinite norm
// stops the loop as a NaN loss does, naming grad_norm or param_norm.
//
// The pieces every family shared are here once:
//   - the hyperparameters optimizer, learning_rate, steps, batch_size and
//     eval_every, declared by Params (kernel.Param declarations with the
//     plugin's defaults and ranges) and read back by Read into a Config;
//   - optimizers by name (NewOptimizer: adam, adamw, sgd), failing with the
//     valid names;
//   - a Recorder, the signature of kernel.Job.Record, the only recorder;
//   - a Batcher that draws mini-batches as slices of an epoch permutation,
//     redrawn each epoch, so that every batch has the same size and one
//     compiled graph serves all steps.
//
// A loop, as a plugin writes it:
//
//	loop := fit.NewLoop("dpo", cfg.Steps, func(step int) (float64, error) { return t.Step() })
//	loop.Record = job.Record
//	loop.Watch(t.store)                    // t.Step calls its graph itself
//	loop.OnStart("eval", evaluate)         // at step 0
//	loop.EveryN(cfg.EvalEvery, "eval", evaluate)
//	err := loop.Run(job.Context())
//
// A step that is one call of a compiled GoMLX training graph is
// fit.ExecStep(exec, inputs); loop.RecordMeanLoss(rec, "loss", n) records
// the smoothed loss every n steps.
package fit
