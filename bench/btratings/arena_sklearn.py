"""The Chatbot Arena rating method with scikit-learn, for comparison with bt.ratings.

Usage: /usr/bin/python3 arena_sklearn.py ARENA.jsonl GO.json [ROUNDS] [REPEAT]

The Chatbot Arena (FastChat) computes Bradley-Terry ratings as a logistic
regression without intercept or penalty on battles deduplicated into
(model_a, model_b, winner) counts used as sample weights: a row has +ln 10 in
model_a's column and -ln 10 in model_b's, label 1 when model_a won and 0 when
model_b won; a tie is two rows (label 1 and label 0) of half weight each.
Ratings are 400 * coef + 1000; the bootstrap refits on multinomial resamples of
the counts. This is written from that description (not copied from FastChat).

Times are medians over REPEAT runs (default 1 for the bootstrap, 3 otherwise);
the Go side's numbers come from GO.json, written by main.go on the same file.
"""
import json
import math
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

SCALE, BASE, INIT = 400.0, 10.0, 1000.0


def load_counts(path):
    counts = {}
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            b = json.loads(line)
            key = (b["model_a"], b["model_b"], b["winner"])
            counts[key] = counts.get(key, 0) + 1
    return counts


def design(counts):
    """Rows of the deduplicated logistic regression and their base weights."""
    models = sorted({m for a, b, _ in counts for m in (a, b)})
    idx = {m: i for i, m in enumerate(models)}
    rows, ys, cells, halves = [], [], [], []
    for cell, ((a, b, w), n) in enumerate(sorted(counts.items())):
        if w == "model_a":
            outs = [(1.0, 1.0)]
        elif w == "model_b":
            outs = [(0.0, 1.0)]
        else:  # tie or tie (bothbad): half a win each way
            outs = [(1.0, 0.5), (0.0, 0.5)]
        for y, h in outs:
            rows.append((idx[a], idx[b]))
            ys.append(y)
            cells.append(cell)
            halves.append(h)
    X = np.zeros((len(rows), len(models)))
    for r, (i, j) in enumerate(rows):
        X[r, i] = math.log(BASE)
        X[r, j] = -math.log(BASE)
    n_cells = len(counts)
    cell_counts = np.array([n for _, n in sorted(counts.items())], dtype=float)
    return models, X, np.array(ys), np.array(cells), np.array(halves), cell_counts, n_cells


def fit(X, y, weights, tol, warm=None):
    lr = LogisticRegression(fit_intercept=False, penalty=None, tol=tol, max_iter=10000)
    if warm is not None:
        lr.set_params(warm_start=True)
        lr.coef_ = warm.copy()
    lr.fit(X, y, sample_weight=weights)
    coef = lr.coef_[0]
    return SCALE * (coef - coef.mean()) + INIT, lr.coef_


def fit_exact(X, y, weights):
    """A tightly converged fit for the equality check.

    lbfgs stops on scipy's relative loss decrease (ftol ~ 2e-9 of a mean loss),
    about 1e-3 Elo short here, and sklearn 1.2 does not expose ftol; Newton's
    method converges to rounding. The unpenalized problem is invariant to a
    common shift of the coefficients (a singular Hessian), so the first
    model's coefficient is pinned at 0 by dropping its column; the ratings are
    then re-centered to mean 1000 as before.
    """
    lr = LogisticRegression(fit_intercept=False, penalty=None, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    lr.fit(X[:, 1:], y, sample_weight=weights)
    coef = np.concatenate([[0.0], lr.coef_[0]])
    return SCALE * (coef - coef.mean()) + INIT


CPU = {}


def median_time(f, repeat, name=None):
    """Median wall seconds of f over repeat runs (CPU seconds, all threads, go to CPU[name])."""
    ts, cs, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = f()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    ts.sort()
    cs.sort()
    if name:
        CPU[name] = cs[len(cs) // 2]
    return ts[len(ts) // 2], out


def main():
    path, go_path = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    go = json.load(open(go_path))

    t_load, counts = median_time(lambda: load_counts(path), 1, 'load')
    models, X, y, cells, halves, cell_counts, n_cells = design(counts)
    w = halves * cell_counts[cells]
    n = int(cell_counts.sum())

    # The FastChat setting (tol 1e-6) and a tight one for the equality check.
    t_fit, (elo, _) = median_time(lambda: fit(X, y, w, 1e-6), 3, 'fit')
    elo_tight = fit_exact(X, y, w)

    def bootstrap(warm_start):
        rng = np.random.default_rng(1)
        full, coef = fit(X, y, w, 1e-6)
        samples = rng.multinomial(n, cell_counts / n, size=rounds)
        out = []
        for s in samples:
            r, _ = fit(X, y, halves * s[cells], 1e-6, coef if warm_start else None)
            out.append(r)
        return np.array(out)

    t_boot, boot = median_time(lambda: bootstrap(False), repeat, 'boot')
    t_boot_warm, _ = median_time(lambda: bootstrap(True), 1, 'boot_warm')

    go_r = np.array([go["ratings"][m] for m in models])
    diff = np.abs(go_r - elo).max()
    diff_tight = np.abs(go_r - elo_tight).max()
    lo, hi = np.quantile(boot, 0.025, axis=0), np.quantile(boot, 0.975, axis=0)
    go_lo = np.array([go["ci_low"][m] for m in models])
    go_hi = np.array([go["ci_high"][m] for m in models])
    order_go = np.argsort(-go_r)
    order_py = np.argsort(-elo_tight)

    print(f"scikit-learn {__import__('sklearn').__version__} LogisticRegression(lbfgs, penalty=None) on "
          f"{len(models)} models, {n} battles, {n_cells} (model_a, model_b, winner) cells, {len(y)} rows:")
    print("  seconds:                                              wall      cpu")
    print(f"  read + aggregate (json per line)                   {t_load:8.3f} {CPU['load']:8.3f}")
    print(f"  fit on counts (tol 1e-6)                           {t_fit:8.3f} {CPU['fit']:8.3f}")
    print(f"  fit + {rounds} bootstrap fits, fresh (FastChat)        {t_boot:8.3f} {CPU['boot']:8.3f}")
    print(f"  fit + {rounds} bootstrap fits, warm-started            {t_boot_warm:8.3f} {CPU['boot_warm']:8.3f}")
    print()
    print("Side by side (Go numbers from", go_path + "), sklearn / Go:")
    gb, gbc = go["seconds_fit_bootstrap"], go["cpu_seconds_fit_bootstrap"]
    print(f"  fit + bootstrap on counts: Go {gb:.3f} s wall, {gbc:.3f} s cpu; sklearn {t_boot:.3f} s wall, "
          f"{CPU['boot']:.3f} s cpu -> {t_boot / gb:.1f}x wall, {CPU['boot'] / gbc:.1f}x cpu "
          f"(warm-started sklearn: {t_boot_warm / gb:.1f}x wall, {CPU['boot_warm'] / gbc:.1f}x cpu)")
    end_py, end_py_cpu = t_load + t_boot, CPU["load"] + CPU["boot"]
    print(f"  end to end (read + fit + bootstrap): Go plugin {go['seconds_plugin']:.3f} s wall, "
          f"{go['cpu_seconds_plugin']:.3f} s cpu; Python {end_py:.3f} s wall, {end_py_cpu:.3f} s cpu "
          f"-> {end_py / go['seconds_plugin']:.1f}x wall, {end_py_cpu / go['cpu_seconds_plugin']:.1f}x cpu")
    print(f"  single fit: Go {go['seconds_fit']:.4f} s, sklearn {t_fit:.4f} s -> {t_fit / go['seconds_fit']:.1f}x wall, "
          f"{CPU['fit'] / max(go['cpu_seconds_fit'], 1e-9):.1f}x cpu")
    print(f"  max |rating difference|: {diff:.2e} Elo vs sklearn lbfgs tol 1e-6 (FastChat), "
          f"{diff_tight:.2e} Elo vs sklearn newton-cholesky tol 1e-12")
    print(f"  same order: {bool((order_go == order_py).all())}; "
          f"max |CI bound difference| (independent bootstrap draws): "
          f"{max(np.abs(go_lo - lo).max(), np.abs(go_hi - hi).max()):.2f} Elo")


if __name__ == "__main__":
    main()
