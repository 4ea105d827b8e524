"""Scaling of derivation: time and printed size as the problem doubles. Linear means at most
×2.1 per doubling (issue 20), the worst doubling counts.

    python benchmarks/bench_scaling.py

Every figure includes printing the result (the text the command prints); times are CPU
seconds of the thread (the machine is shared with other workers).
"""
from __future__ import annotations

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
    """Print time and size per N; return the worst time and size ratios per doubling."""
    rows = []
    for n in sizes:
        fn = make(n)
        size = len(fn())  # also the warm-up
        rows.append((n, median_time(fn, repeat=repeat, warmup=0, clock=CPU), size))
    print(f"\n{name}")
    print(f"{'N':>5} {'time ms':>10} {'result chars':>13} {'time ×':>7} {'size ×':>7}")
    worst_t = worst_s = 0.0
    for i, (n, t, size) in enumerate(rows):
        if i:
            # sizes that are not exact doublings are normalised to a doubling
            k = (n / rows[i - 1][0])
            rt, rs = (t / rows[i - 1][1]) ** (1 / _log2(k)), (size / rows[i - 1][2]) ** (1 / _log2(k))
            worst_t, worst_s = max(worst_t, rt), max(worst_s, rs)
            print(f"{n:>5} {t * 1e3:>10.1f} {size:>13} {rt:>7.2f} {rs:>7.2f}")
        else:
            print(f"{n:>5} {t * 1e3:>10.1f} {size:>13}")
    return worst_t, worst_s


def _log2(k: float) -> float:
    import math

    return math.log2(k)


def main() -> list:
    targets = []
    sizes = [125, 250, 500, 1000]
    t, _ = table("product chain aᵀ A1 … AN x, wrt x", chain, sizes, repeat=3)
    targets.append(Target("product chain to 1,000 factors: time per doubling", 2.1, "≤", "×", t, "worst doubling"))
    t, _ = table("sum of N traces tr(Ai X), wrt X", traces, sizes, repeat=3)
    targets.append(Target("sum of traces to 1,000 terms: time per doubling", 2.1, "≤", "×", t, "worst doubling"))
    layers = [3, 6, 12, 24, 48, 96]
    t, s = table("diff of an L-layer MLP wrt all weights", mlp_diff, layers, repeat=3)
    targets.append(Target("MLP diff wrt all weights: time per doubling of L", 2.1, "≤", "×", t, f"L = {layers[0]}…{layers[-1]}"))
    targets.append(Target("MLP diff wrt all weights: output per doubling of L", 2.1, "≤", "×", s, f"L = {layers[0]}…{layers[-1]}"))
    table("backprop schedule of the same MLP (reference, no target)", mlp_backprop, layers, repeat=3)
    print_targets(targets, "scaling targets")
    return targets


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
