"""LightSB training steps in PyTorch: the peer of bench/lightsb's Go side.

Same math as algos/sb's GoMLX graph (float32, diagonal S, K components, Adam
with eps 1e-8, the weights stored as eps*log(alpha) as in the authors'
LightSB class), same data (the CSV files the Go side wrote), same initial
parameters (r_k = the first K target rows, alpha_k = 1/K, S_k = s_init I)
and the same minibatches (rows i*B .. i*B+B-1 of each file, cycling).

Prints one JSON object: steps per second over the timed steps, and the
minibatch losses of the first `check` steps from the initial parameters,
which the Go side compares with its own.

Usage: lightsb_torch.py X0.csv X1.csv --k 50 --eps 1 --lr 0.01 --batch 128
       --s-init 1 --steps 200 --warmup 10 --check 20 --threads 1
"""

import argparse
import json
import math
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("x0")
    ap.add_argument("x1")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--eps", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--s-init", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--check", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x0 = torch.from_numpy(np.loadtxt(a.x0, delimiter=",", dtype=np.float32, ndmin=2))
    x1 = torch.from_numpy(np.loadtxt(a.x1, delimiter=",", dtype=np.float32, ndmin=2))
    n, d = x0.shape
    eps = a.eps

    def fresh():
        log_alpha_raw = torch.full((a.k,), -eps * math.log(a.k), requires_grad=True)
        r = x1[: a.k].clone().requires_grad_(True)
        log_s = torch.full((a.k, d), math.log(a.s_init), requires_grad=True)
        opt = torch.optim.Adam([log_alpha_raw, r, log_s], lr=a.lr, eps=1e-8)
        return log_alpha_raw, r, log_s, opt

    def step(params, i):
        log_alpha_raw, r, log_s, opt = params
        log_alpha = log_alpha_raw / eps
        lo = (i * a.batch) % n
        b0, b1 = x0[lo : lo + a.batch], x1[lo : lo + a.batch]
        s = log_s.exp()
        lc = torch.logsumexp(log_alpha[None, :] + (b0.square() @ s.T + 2 * (b0 @ r.T)) / (2 * eps), dim=1)
        inv = (-log_s).exp() / eps
        q0 = (r.square() * inv + log_s).sum(dim=1) + d * math.log(2 * math.pi * eps)
        quad = b1.square() @ inv.T - 2 * (b1 @ (r * inv).T) + q0[None, :]
        lv = torch.logsumexp(log_alpha[None, :] - 0.5 * quad, dim=1)
        loss = lc.mean() - lv.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    params = fresh()
    losses = [step(params, i) for i in range(a.check)]

    params = fresh()
    for i in range(a.warmup):
        step(params, i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(params, a.warmup + i)
    dt = time.perf_counter() - t0
    print(json.dumps({"steps_per_s": a.steps / dt, "losses": losses, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
