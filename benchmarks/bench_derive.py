"""Derivation latency of every seed problem, in process, and the CLI cold start.

Run: python benchmarks/bench_derive.py   (prints a table; targets from issue 2:
≤ 5 ms median per seed problem, cold start ≤ 0.3 s above bare Python).
With SymPy installed, SymPy's MatrixSymbol.diff runs in the same process for comparison
on the problems it can express.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import matcalc  # noqa: E402
from seed_cases import SEED_CASES  # noqa: E402


def median_ms(fn, repeat: int = 30) -> float:
    fn()  # warm up (grammar load)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def sympy_cases():
    """The seed problems SymPy can state with MatrixSymbol (n = 4)."""
    try:
        import sympy as sp
    except ImportError:
        return {}
    n = 4
    X, A, B = (sp.MatrixSymbol(s, n, n) for s in "XAB")
    x, a, b = (sp.MatrixSymbol(s, n, 1) for s in "xab")
    return {
        2: lambda: (a.T * x).diff(x),
        3: lambda: (x.T * A * x).diff(x),
        5: lambda: (a.T * X * A * X * a).diff(X),
        8: lambda: sp.Determinant(X).diff(X),
        9: lambda: sp.Trace(X).diff(X),
        10: lambda: sp.Trace(A * X * B).diff(X),
        11: lambda: sp.Trace(A * X.T * X).diff(X),
        12: lambda: sp.log(sp.Determinant(X)).diff(X),
        15: lambda: (x.T * A * b).diff(x),
        16: lambda: (x.T * A * b).diff(A),
    }


def cold_start(repeat: int = 5):
    # as a user's machine runs it: byte-code cached after the first run (pip does the same
    # at install time), whatever PYTHONDONTWRITEBYTECODE says in this environment
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def wall(cmd):
        subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm the caches
        best = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            best.append(time.perf_counter() - t0)
        return statistics.median(best)

    bare = wall([sys.executable, "-c", "pass"])
    cli = wall([sys.executable, "-m", "matcalc.cli", "diff", "x^T A x", "--wrt", "x"])
    quiet = wall([sys.executable, "-m", "matcalc.cli", "diff", "x^T A x", "--wrt", "x", "--no-check"])
    return bare, cli, quiet


def main():
    sym = sympy_cases()
    print(f"{'#':>3}  {'expression':48} {'matcalc ms':>10} {'sympy ms':>9} {'ratio':>6}")
    worst = 0.0
    for number, expr, wrt, decls, _ in SEED_CASES:
        ms = median_ms(lambda: matcalc.diff(expr, wrt, **decls))
        worst = max(worst, ms)
        s = sym.get(number)
        if s is not None:
            sms = median_ms(s, repeat=10)
            print(f"{number:>3}  {expr:48} {ms:10.2f} {sms:9.2f} {sms / ms:5.0f}x")
        else:
            print(f"{number:>3}  {expr:48} {ms:10.2f} {'-':>9} {'':>6}")
    print(f"worst seed problem: {worst:.2f} ms (target ≤ 5 ms)")
    bare, cli, quiet = cold_start()
    print(f"cold start: python -c pass {bare * 1e3:.0f} ms, matcalc diff {cli * 1e3:.0f} ms "
          f"(overhead {(cli - bare) * 1e3:.0f} ms with the finite-difference self-check; "
          f"target ≤ 300 ms), --no-check {quiet * 1e3:.0f} ms (overhead {(quiet - bare) * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
