"""Scaling of derivation: time and result size as the problem grows (doubling N should at
most double them, ×2.2 allowed for noise).

    python benchmarks/bench_scaling.py
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import matcalc  # noqa: E402


def timed(fn, repeat=5):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def chain(n):
    """aᵀ A1 A2 … An x wrt x: a product chain of n matrices."""
    e = "a^T " + " ".join(f"A{i}" for i in range(1, n + 1)) + " x"
    return lambda: str(matcalc.diff(e, "x"))


def traces(n):
    """tr(A1 X) + … + tr(An X) wrt X: a sum of n traces."""
    e = " + ".join(f"tr(A{i} X)" for i in range(1, n + 1))
    return lambda: str(matcalc.diff(e, "X"))


def mlp(layers):
    """The backprop schedule of an L-layer sigmoid MLP with MSE."""
    net = "x"
    for i in range(1, layers + 1):
        net = f"sigmoid(W{i} {net})"
    e = f"1/2 (y - {net})^T (y - {net})"
    wrt = ",".join(f"W{i}" for i in range(1, layers + 1))
    return lambda: matcalc.backprop(e, wrt).format("text")


def diff_mlp(layers):
    """diff of the same network wrt all its weights: the answer names each layer's value and
    delta once (sharing.py), so it grows like the schedule."""
    net = "x"
    for i in range(1, layers + 1):
        net = f"sigmoid(W{i} {net})"
    e = f"1/2 (y - {net})^T (y - {net})"
    wrt = ",".join(f"W{i}" for i in range(1, layers + 1))
    return lambda: str(matcalc.diff(e, wrt))


def table(name, make, sizes):
    rows = []
    for n in sizes:
        t, out = timed(make(n))
        rows.append((n, t, len(out)))
    print(f"\n{name}")
    print(f"{'N':>5} {'time ms':>10} {'result chars':>13} {'time ×':>7} {'size ×':>7}")
    worst = 0.0
    for i, (n, t, size) in enumerate(rows):
        if i:
            rt, rs = t / rows[i - 1][1], size / rows[i - 1][2]
            worst = max(worst, rt)
            print(f"{n:>5} {t * 1e3:>10.1f} {size:>13} {rt:>7.2f} {rs:>7.2f}")
        else:
            print(f"{n:>5} {t * 1e3:>10.1f} {size:>13}")
    print(f"worst time ratio per doubling: {worst:.2f} (target ≤ 2.2)")


def main():
    table("product chain aᵀ A1 … AN x, wrt x", chain, [10, 20, 40, 80, 160, 320])
    table("sum of N traces tr(Ai X), wrt X", traces, [10, 20, 40, 80, 160, 320])
    table("L-layer MLP, backprop schedule", mlp, [3, 6, 12, 25, 50, 100])
    table("L-layer MLP, diff wrt all weights", diff_mlp, [3, 6, 12, 24, 50, 100])


if __name__ == "__main__":
    main()
