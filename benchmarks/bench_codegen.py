"""Generated gradient code against the function alone, and against JAX and PyTorch.

    python benchmarks/bench_codegen.py

For each problem: the time of the generated value-only function, of the generated
value-and-gradient function (target: ratio ≤ 3, the cheap-gradient principle), and,
when installed, of `jax.jit(jax.value_and_grad(f))` and of PyTorch autograd on the
same f (target: matcalc ≤ 1.0× theirs). Also the logistic Hessian against
`jax.hessian`. Best of several runs, float64, CPU.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from matcalc.code_generation import generate, load  # noqa: E402
from matcalc.second_order import hessian  # noqa: E402
from matcalc.printing.numpy import NumpyPrinter  # noqa: E402


def best(fn, *args, repeat=7):
    fn(*args)  # warm up (and JIT)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        _block(out)
        times.append(time.perf_counter() - t0)
    return min(times)


def _block(out):
    for o in out if isinstance(out, tuple) else (out,):
        if hasattr(o, "block_until_ready"):
            o.block_until_ready()


rng = np.random.default_rng(0)
PROBLEMS = []

# logistic regression with l2, n = 10,000, d = 1,000
n, d = 10_000, 1_000
X = rng.standard_normal((n, d)) / np.sqrt(d)
y = np.sign(rng.standard_normal(n))
w = rng.standard_normal(d) * 0.1
PROBLEMS.append(("logistic + l2 (n=10000, d=1000)", "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w", {},
                 {"w": w, "X": X, "y": y, "lambda_": 0.1}))

# Gaussian log-likelihood in S, 500 × 500
m = 500
B = rng.standard_normal((m, m)) / np.sqrt(m)
S = B @ B.T + np.eye(m)
C = rng.standard_normal((m, 2 * m))
M = C @ C.T / (2 * m)
PROBLEMS.append(("Gaussian log-likelihood in S (500×500)", "-n/2 ln det S - 1/2 tr(S^-1 M)", "S",
                 {"symmetric": "S,M", "scalar": "n"}, {"S": S, "M": M, "n": 1000.0}))

# MLP loss, batch 256, 784–512–10
Xb = rng.standard_normal((256, 784))
W1 = rng.standard_normal((784, 512)) / np.sqrt(784)
W2 = rng.standard_normal((512, 10)) / np.sqrt(512)
Yb = rng.standard_normal((256, 10))
PROBLEMS.append(("MLP loss (batch 256, 784-512-10)", "1/2 tr((Y - tanh(X W1) W2)^T (Y - tanh(X W1) W2))", "W1,W2",
                 {"dim": ["X=b x p", "W1=p x h", "W2=h x q", "Y=b x q"]},
                 {"W1": W1, "W2": W2, "X": Xb, "Y": Yb}))


def jax_version(expr_name, args, wrt):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    if expr_name.startswith("logistic"):
        def f(w, X, y, lam):
            return jnp.sum(jnp.logaddexp(0.0, -y * (X @ w))) + lam * w @ w
        g = jax.jit(jax.value_and_grad(f))
        return lambda: g(args["w"], args["X"], args["y"], args["lambda_"])
    if expr_name.startswith("Gaussian"):
        def f(S, M, n):
            return -n / 2 * jnp.linalg.slogdet(S)[1] - 0.5 * jnp.trace(jnp.linalg.solve(S, M))
        g = jax.jit(jax.value_and_grad(f))
        return lambda: g(args["S"], args["M"], args["n"])

    def f(W1, W2, X, Y):
        R = Y - jnp.tanh(X @ W1) @ W2
        return 0.5 * jnp.sum(R * R)
    g = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
    return lambda: g(args["W1"], args["W2"], args["X"], args["Y"])


def torch_version(expr_name, args, wrt):
    try:
        import torch
    except ImportError:
        return None
    T = {k: torch.tensor(v, dtype=torch.float64) if isinstance(v, np.ndarray) else v for k, v in args.items()}

    def run():
        ws = {k: T[k].clone().requires_grad_(True) for k in wrt.split(",")}
        env = {**T, **ws}
        if expr_name.startswith("logistic"):
            v = torch.nn.functional.softplus(-env["y"] * (env["X"] @ env["w"])).sum() + env["lambda_"] * env["w"] @ env["w"]
        elif expr_name.startswith("Gaussian"):
            v = -env["n"] / 2 * torch.linalg.slogdet(env["S"])[1] - 0.5 * torch.trace(torch.linalg.solve(env["S"], env["M"]))
        else:
            R = env["Y"] - torch.tanh(env["X"] @ env["W1"]) @ env["W2"]
            v = 0.5 * (R * R).sum()
        v.backward()
        return v, *[w.grad for w in ws.values()]
    return run


def main():
    print(f"{'problem':42} {'f ms':>8} {'f+grad ms':>10} {'ratio':>6} {'jax ms':>8} {'torch ms':>9}")
    for name, expr, wrt, decls, args in PROBLEMS:
        value = load(generate(expr, wrt, gradients=False, name="value", **decls), "value")
        both = load(generate(expr, wrt, **decls))
        tf = best(lambda: value(**args))
        tg = best(lambda: both(**args))
        jx = jax_version(name, args, wrt)
        th = torch_version(name, args, wrt)
        tj = f"{best(jx) * 1e3:8.1f}" if jx else f"{'-':>8}"
        tt = f"{best(th) * 1e3:9.1f}" if th else f"{'-':>9}"
        print(f"{name:42} {tf * 1e3:8.1f} {tg * 1e3:10.1f} {tg / tf:6.2f} {tj} {tt}")
    # the logistic Hessian: generated NumPy against jax.hessian
    h = hessian("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w")
    pr = NumpyPrinter()
    pr.learn_dims(h.f)
    code = pr.doprint(h.expr)
    args = PROBLEMS[0][4]
    th = best(lambda: eval(code, {"np": np}, dict(args)), repeat=3)  # our own generated code
    line = f"logistic Hessian (d=1000): matcalc {th * 1e3:.1f} ms"
    try:
        import jax
        import jax.numpy as jnp

        def f(w):
            return jnp.sum(jnp.logaddexp(0.0, -args["y"] * (args["X"] @ w))) + args["lambda_"] * w @ w
        H = jax.jit(jax.hessian(f))
        line += f", jax.hessian {best(lambda: H(args['w']), repeat=3) * 1e3:.1f} ms"
    except ImportError:
        line += " (JAX not installed)"
    print(line)


if __name__ == "__main__":
    main()
