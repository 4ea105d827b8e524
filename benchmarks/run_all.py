"""Every benchmark in one run:

    pip install ".[bench]"        # SymPy for the side-by-side column; JAX/PyTorch optional
    python benchmarks/run_all.py

1. derivation latency of the seed problems next to SymPy, and the CLI cold start;
2. scaling of derivation time and result size;
3. generated gradient code against the function alone, JAX and PyTorch.
"""
import os
import runpy

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    for script in ("bench_derive.py", "bench_scaling.py", "bench_codegen.py"):
        print(f"\n=== {script} ===")
        runpy.run_path(os.path.join(HERE, script), run_name="__main__")
