"""Scaling of derivation: time and printed size as the problem doubles. Linear means at most
×2.1 per doubling (issue 20): the growth per doubling fitted over the four largest sizes
(least squares of log time against log N: one noisy step on the shared machine does not
decide it, fixed costs at small sizes do not flatter it), the worst step beside it.

    python benchmarks/bench_scaling.py

Every figure includes printing the result (the text the command prints); times are CPU
seconds of the thread (the machine is shared with other workers).
"""
from __future__ import annotations

import math
import time

import harness  # noqa: F401 - puts the repository on sys.path
from harness import CPU, Target, median_time, print_targets

import matcalc  # noqa: E402


def chain(n):
    """aᵀ A1 A2 … An x wrt x: a product chain of n matrices."""
    e = "a^T " + " ".join(f"A{i}" for i in range(1, n + 1)) + " x"
    return lambda: matcalc.diff(e, "x").format("text")


def traces(n):
    """tr(A1 X) + … + tr(An X) wrt X: a sum of n traces."""
    e = " + ".join(f"tr(A{i} X)" for i in range(1, n + 1))
    return lambda: matcalc.diff(e, "X").format("text")


def mlp_loss(layers: int) -> tuple:
    """½‖y − σ(W_L … σ(W_1 x))‖² and its weights."""
    net = "x"
    for i in range(1, layers + 1):
        net = f"sigmoid(W{i} {net})"
    return f"1/2 (y - {net})^T (y - {net})", ",".join(f"W{i}" for i in range(1, layers + 1))


def mlp_diff(layers):
    """`matcalc diff` of an L-layer MLP wrt all its weights (the answer names each layer's
    value and delta once: `where t1 = …, delta1 = …`)."""
    e, wrt = mlp_loss(layers)
    return lambda: matcalc.diff(e, wrt).format("text")


def mlp_backprop(layers):
    """The backprop schedule of the same network (for reference: its intermediates are named)."""
    e, wrt = mlp_loss(layers)
    return lambda: matcalc.backprop(e, wrt).format("text")


def table(name, make, sizes, repeat):
    """Print time and size per N; return (time, size) growth per doubling, each as
    (least-squares fit over the four largest N, worst single step among them)."""
    rows = []
    for n in sizes:
        fn = make(n)
        size = len(fn())  # also the warm-up
        rows.append((n, median_time(fn, repeat=repeat, warmup=0, clock=CPU), size))
    print(f"\n{name}")
    print(f"{'N':>5} {'time ms':>10} {'result chars':>13} {'time ×':>7} {'size ×':>7}")
    for i, (n, t, size) in enumerate(rows):
        if i:
            steps = math.log2(n / rows[i - 1][0])  # sizes that are not exact doublings count as such
            rt, rs = (t / rows[i - 1][1]) ** (1 / steps), (size / rows[i - 1][2]) ** (1 / steps)
            print(f"{n:>5} {t * 1e3:>10.1f} {size:>13} {rt:>7.2f} {rs:>7.2f}")
        else:
            print(f"{n:>5} {t * 1e3:>10.1f} {size:>13}")
    top = rows[-4:]  # the four largest sizes: fixed costs flatter the growth at the small ones
    return tuple(_growth([r[0] for r in top], [r[k] for r in top]) for k in (1, 2))


def _growth(ns, values) -> tuple:
    """(2^slope of log2 value against log2 N, fitted over the points; worst single step)."""
    x = [math.log2(n) for n in ns]
    y = [math.log2(v) for v in values]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    slope = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)
    worst = max(2 ** ((y[i] - y[i - 1]) / (x[i] - x[i - 1])) for i in range(1, len(x)))
    return 2 ** slope, worst


def main() -> list:
    targets = []

    def target(name, growth, span):
        fitted, worst = growth
        targets.append(Target(name, 2.1, "≤", "×", fitted, f"fitted over {span}; worst single step {worst:.2f}×"))

    sizes = [125, 250, 500, 1000]
    t, _ = table("product chain aᵀ A1 … AN x, wrt x", chain, sizes, repeat=7)
    target("product chain to 1,000 factors: time per doubling", t, "N = 125…1000")
    t, _ = table("sum of N traces tr(Ai X), wrt X", traces, sizes, repeat=7)
    target("sum of traces to 1,000 terms: time per doubling", t, "N = 125…1000")
    layers = [3, 6, 12, 24, 48, 96]
    t, s = table("diff of an L-layer MLP wrt all weights", mlp_diff, layers, repeat=7)
    target("MLP diff wrt all weights: time per doubling of L", t, "L = 12…96")
    target("MLP diff wrt all weights: output per doubling of L", s, "L = 12…96")
    table("backprop schedule of the same MLP (reference, no target)", mlp_backprop, layers, repeat=3)
    print_targets(targets, "scaling targets")
    return targets


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
