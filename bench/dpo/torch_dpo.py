"""The PyTorch side of bench/dpo: the same rDPO training as dpo.Trainer.

Reads the preference file (JSONL, one comparison per line, as written by
datasets.WritePrefs) and, for the MLP, the initial weights the Go side
wrote; runs steps+1 full-batch Adam steps in --dtype (float64 or float32),
times the last `steps` (the first one warms up), and prints one JSON line:
{"steps_per_s": ..., "loss": ...} with the loss over all pairs after the
last step, computed in float64 from the policy's scores (log-linear: from
θ) as the Go side's Evaluate does. Same math as the Go side: h = θ·(φ_w − φ_l) or
f(φ_w) − f(φ_l) with f(x) = tanh(x W0ᵀ + b0)·out; rDPO in the form
softplus(−βh) − βh·ε/(1−2ε); Adam with ε = 1e-7 (GoMLX's default).
"""
import argparse
import json
import time

import numpy as np
import torch


def load(path):
    chosen, rejected = [], []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            o = json.loads(line)
            if o.get("weight", 1) != 1:
                raise SystemExit("torch_dpo.py: weighted pairs are not supported")
            feats = o["features"]
            chosen.append(feats[o["chosen"]])
            rejected.append(feats[o["rejected"]])
    return np.array(chosen, dtype=np.float64), np.array(rejected, dtype=np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--policy", choices=["loglinear", "mlp"], required=True)
    ap.add_argument("--init", help="JSON of the MLP's initial weights (w0 [H,d], b0, out)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    a = ap.parse_args()
    dt = {"float64": torch.float64, "float32": torch.float32}[a.dtype]
    torch.set_num_threads(a.threads)
    fc, fr = load(a.data)
    n, d = fc.shape
    c = a.eps / (1 - 2 * a.eps)

    if a.policy == "loglinear":
        x64 = torch.from_numpy(fc - fr)
        x = x64.to(dt)
        theta = torch.zeros(d, dtype=dt, requires_grad=True)
        params = [theta]

        def h_of(wide=False):
            # wide: in float64 from θ, as the Go side measures θ in Go.
            return x64 @ theta.double() if wide else x @ theta
    else:
        x = torch.from_numpy(np.concatenate([fc, fr])).to(dt)
        with open(a.init) as f:
            init = json.load(f)
        hidden = len(init["b0"])
        w0 = torch.tensor(init["w0"], dtype=dt).reshape(hidden, d).requires_grad_()
        b0 = torch.tensor(init["b0"], dtype=dt).requires_grad_()
        out = torch.tensor(init["out"], dtype=dt).requires_grad_()
        params = [w0, b0, out]

        def h_of(wide=False):
            s = torch.tanh(x @ w0.T + b0) @ out
            if wide:  # differences in float64, as the Go side takes them
                s = s.double()
            return s[:n] - s[n:]

    def loss_of(h):
        z = a.beta * h
        return (torch.logaddexp(-z, torch.zeros_like(z)) - c * z).mean()

    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-7)

    def step():
        opt.zero_grad()
        loss = loss_of(h_of())
        loss.backward()
        opt.step()

    step()  # warm-up, as the Go side's first (compiling) step
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        final = loss_of(h_of(wide=True)).item()
    print(json.dumps({"steps_per_s": a.steps / elapsed, "loss": final, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
