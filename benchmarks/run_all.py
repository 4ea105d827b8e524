"""Every benchmark in one run, and every target of issue 20 with its measured value and
a met/missed column at the end.

    pip install ".[bench]"   # SymPy; optional: jax (CPU), torch, autograd
    python benchmarks/run_all.py [--quick]

1. bench_derive.py: the seed problems next to SymPy (cold cache), the MLP Hessian, the
   command's cold start;
2. bench_scaling.py: time and printed size as problems double;
3. bench_codegen.py: generated code against each library's own autodiff and the closed form.

A library that is not installed gives a row saying so. --quick runs fewer repeats.
The load test of `matcalc serve` is separate: benchmarks/bench_web_load.py.
"""
import os
import sys
import time

if __name__ == "__main__":
    if "--quick" in sys.argv[1:]:
        os.environ["MATCALC_BENCH_SCALE"] = "0.4"
    import harness

    t0 = time.perf_counter()
    print(harness.versions())
    print(f"load now: a busy loop takes {harness.load_factor():.2f}× its CPU time in wall time")
    targets = []
    for name in ("bench_derive", "bench_scaling", "bench_codegen"):
        print(f"\n=== {name}.py ===")
        module = __import__(name)
        t1 = time.perf_counter()
        try:
            targets += module.main()
        except Exception as err:  # noqa: BLE001 - the other benchmarks still run
            print(f"{name} failed: {type(err).__name__}: {err}")
        print(f"({name}: {time.perf_counter() - t1:.0f} s)")
    print(f"\nload at the end: {harness.load_factor():.2f}× (wall / CPU of a busy loop)")
    harness.print_targets(targets, "=== every target of issue 20 ===")
    counts = {s: sum(t.status.rstrip("*") == s for t in targets) for s in ("met", "MISSED", "n/a")}
    noisy = sum(t.status.endswith("*") for t in targets)
    print(f"\n{counts['met']} met, {counts['MISSED']} missed, {counts['n/a']} not measured "
          f"({noisy} verdicts within the noise, marked *); run took {time.perf_counter() - t0:.0f} s")
