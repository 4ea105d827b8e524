"""Generated value-and-gradient code against each library's own autodiff, on that library's
arrays, and against the hand-written closed form.

    python benchmarks/bench_codegen.py

Each problem is written once as a function of an `ops` namespace (sum, softplus, logdet,
trace, solve, tanh) and run by HIPS autograd (`value_and_grad`, NumPy arrays), JAX
(`jax.jit(jax.value_and_grad)`, device arrays made once by jnp.asarray, results waited
for) and PyTorch (`torch.autograd.grad`, tensors made once). matcalc's code comes from
`matcalc.codegen` for the same backend, and runs on the same arrays (the JAX one under
jax.jit). float64 on the CPU everywhere. Each library's candidates are timed in rounds
of their own (another library's thread pool, still spinning after its call, would slow
them). Before timing, every candidate's value and gradients are compared with the hand
closed form, and the generated NumPy gradient with central differences of its value.
"""
from __future__ import annotations

import time
import types

import numpy as np

import harness
from harness import Target, interleaved, merged, optional, print_targets

import matcalc  # noqa: E402

LOGISTIC = "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w"

# ---------------------------------------------------------------- the problems, once


def logistic(o, w, X, y, lambda_):
    return o.sum(o.softplus(-y * (X @ w))) + lambda_ * (w @ w)


def gaussian(o, S, M, n):
    return -n / 2 * o.logdet(S) - 0.5 * o.trace(o.solve(S, M))


def mlp(o, W1, W2, X, Y):
    R = Y - o.tanh(X @ W1) @ W2
    return 0.5 * o.sum(R * R)


def logistic_hand(w, X, y, lambda_):
    t = -y * (X @ w)
    lt = np.logaddexp(0, t)  # softplus(t); σ(t) = exp(t − softplus(t))
    return np.sum(lt) + lambda_ * (w @ w), 2 * lambda_ * w - X.T @ (y * np.exp(t - lt))


def gaussian_hand(S, M, n):
    Si = np.linalg.inv(S)
    SiM = Si @ M
    return -n / 2 * np.linalg.slogdet(S)[1] - 0.5 * np.trace(SiM), -n / 2 * Si + 0.5 * SiM @ Si


def mlp_hand(W1, W2, X, Y):
    H = np.tanh(X @ W1)
    R = H @ W2 - Y
    return 0.5 * np.sum(R * R), X.T @ ((R @ W2.T) * (1 - H * H)), H.T @ R


def _data():
    rng = np.random.default_rng(0)
    n, d = 10_000, 1_000
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    logistic_data = {"w": rng.standard_normal(d) * 0.1, "X": X, "y": np.sign(rng.standard_normal(n)), "lambda_": 0.1}
    m = 500
    B = rng.standard_normal((m, m)) / np.sqrt(m)
    C = rng.standard_normal((m, 2 * m))
    gaussian_data = {"S": B @ B.T + np.eye(m), "M": C @ C.T / (2 * m), "n": 1000.0}
    mlp_data = {"W1": rng.standard_normal((784, 512)) / np.sqrt(784), "W2": rng.standard_normal((512, 10)) / np.sqrt(512),
                "X": rng.standard_normal((256, 784)), "Y": rng.standard_normal((256, 10))}
    return [
        ("logistic", "logistic + l2 (n=10000, d=1000)", LOGISTIC, ["w"], {}, logistic, logistic_hand, logistic_data, 21),
        ("Gaussian", "Gaussian log-lik. in S (500×500)", "-n/2 ln det S - 1/2 tr(S^-1 M)", ["S"],
         {"symmetric": "S,M", "scalar": "n"}, gaussian, gaussian_hand, gaussian_data, 11),
        ("MLP", "MLP loss (batch 256, 784-512-10)", "1/2 tr((Y - tanh(X W1) W2)^T (Y - tanh(X W1) W2))", ["W1", "W2"],
         {"dim": ["X=b x p", "W1=p x h", "W2=h x q", "Y=b x q"]}, mlp, mlp_hand, mlp_data, 21),
    ]


# ---------------------------------------------------------------- each library's own autodiff


def _ops(sum, softplus, logdet, trace, solve, tanh):
    return types.SimpleNamespace(sum=sum, softplus=softplus, logdet=logdet, trace=trace, solve=solve, tanh=tanh)


def autograd_candidate(fn, wrt, data):
    ag, anp = optional("autograd"), optional("autograd.numpy")
    if ag is None:
        return None
    o = _ops(anp.sum, lambda t: anp.logaddexp(0.0, t), lambda S: anp.linalg.slogdet(S)[1], anp.trace,
             anp.linalg.solve, anp.tanh)
    vg = ag.value_and_grad(lambda params, rest: fn(o, **dict(zip(wrt, params)), **rest))
    params, rest = tuple(data[k] for k in wrt), {k: v for k, v in data.items() if k not in wrt}
    return lambda: vg(params, rest)


def jax_setup():
    jax = optional("jax")
    if jax is None:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_ops():
    import jax.numpy as jnp

    return _ops(jnp.sum, lambda t: jnp.logaddexp(0.0, t), lambda S: jnp.linalg.slogdet(S)[1], jnp.trace,
                jnp.linalg.solve, jnp.tanh)


def jax_candidates(fn, wrt, data, expr, decls):
    """(jax.jit of matcalc's JAX code, jax.jit(jax.value_and_grad)) on device arrays."""
    jax = jax_setup()
    if jax is None:
        return None, None
    import jax.numpy as jnp

    dev = {k: jnp.asarray(v) for k, v in data.items()}  # once, outside the timed calls
    o = jax_ops()
    vg = jax.jit(jax.value_and_grad(lambda params, rest: fn(o, **dict(zip(wrt, params)), **rest)))
    params, rest = tuple(dev[k] for k in wrt), {k: v for k, v in dev.items() if k not in wrt}
    generated = jax.jit(_load(matcalc.codegen(expr, ",".join(wrt), backend="jax", **decls)))
    return (lambda: generated(**dev)), (lambda: vg(params, rest))


def torch_candidates(fn, wrt, data, expr, decls):
    """(matcalc's PyTorch code, a forward pass and torch.autograd.grad) on float64 tensors."""
    torch = optional("torch")
    if torch is None:
        return None, None
    tens = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in data.items()}  # once
    leaves = [tens[k].clone().requires_grad_(True) for k in wrt]
    rest = {k: v for k, v in tens.items() if k not in wrt}
    o = _ops(torch.sum, torch.nn.functional.softplus, lambda S: torch.linalg.slogdet(S)[1], torch.trace,
             torch.linalg.solve, torch.tanh)

    def autodiff():
        v = fn(o, **dict(zip(wrt, leaves)), **rest)
        return v, torch.autograd.grad(v, leaves)

    generated = _load(matcalc.codegen(expr, ",".join(wrt), backend="torch", **decls))
    return (lambda: generated(**tens)), autodiff


def _load(source: str, name: str = "value_and_grad"):
    """The function in matcalc's generated source (our own code, never user text)."""
    from matcalc.code_generation import load

    try:
        return load(source, name)
    except KeyError:  # another name: the one function the source defines
        namespace: dict = {}
        exec(compile(source, "<matcalc codegen>", "exec"), namespace)  # noqa: S102
        return next(v for v in namespace.values() if isinstance(v, types.FunctionType))


# ---------------------------------------------------------------- agreement


def _flat(out) -> list:
    """Value and gradients as a flat list of NumPy arrays, whatever the library's nesting."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    if hasattr(out, "detach"):
        out = out.detach()
    return [np.asarray(out, dtype=float)]


def disagreement(out, reference) -> float:
    """Largest relative difference between two (value, gradients…) results."""
    a, b = _flat(out), _flat(reference)
    if len(a) != len(b):
        return float("inf")
    return max(float(np.max(np.abs(x.reshape(y.shape) - y)) / max(np.max(np.abs(y)), 1e-300)) for x, y in zip(a, b))


def fd_error(value, both, wrt, data, symmetric) -> float:
    """Relative error of ⟨∇f, V⟩ (generated gradient) against central differences of the
    generated value along a random V (symmetric for a symmetric variable), for every wrt."""
    rng = np.random.default_rng(7)
    grads = both(**data)[1:]
    worst = 0.0
    for k, g in zip(wrt, grads):
        V = rng.standard_normal(np.shape(data[k]))
        if k in symmetric:
            V = (V + V.T) / 2
        V *= max(np.linalg.norm(data[k]), 1.0) / np.linalg.norm(V)  # a step of 1e-4 relative to the point
        h = 1e-4

        def quotient(t):
            return (value(**dict(data, **{k: data[k] + t * V})) - value(**dict(data, **{k: data[k] - t * V}))) / (2 * t)
        fd = (4 * quotient(h / 2) - quotient(h)) / 3  # Richardson: error O(h⁴)
        predicted = float(np.sum(g * V))
        worst = max(worst, abs(fd - predicted) / max(abs(fd), abs(predicted), 1e-12))
    return worst


# ---------------------------------------------------------------- the tables


COLUMNS = [("numpy", "matcalc NumPy"), ("f", "f only"), ("hand", "closed form"), ("autograd", "autograd"),
           ("jax_gen", "matcalc JAX"), ("jax", "jax.jit(v&g)"), ("torch_gen", "matcalc torch"),
           ("torch", "torch autograd")]
TARGETS = [("numpy", "autograd", 1.0, "NumPy code / HIPS autograd"), ("numpy", "hand", 1.05, "NumPy code / closed form"),
           ("jax_gen", "jax", 1.0, "JAX code (jit) / jax.jit(value_and_grad)"),
           ("torch_gen", "torch", 1.0, "PyTorch code / torch autograd")]


def run_problem(problem):
    """label, medians (Timings), why candidates are absent, agreement, FD error."""
    key, label, expr, wrt, decls, fn, hand, data, repeat = problem
    both = _load(matcalc.codegen(expr, ",".join(wrt), **decls))
    value = _load(matcalc.codegen(expr, ",".join(wrt), gradients=False, name="value", **decls), "value")
    cands = {"numpy": lambda: both(**data), "f": lambda: value(**data), "hand": lambda: hand(**data)}
    absent = {}
    for names, build, lib in ((("autograd",), lambda: (autograd_candidate(fn, wrt, data),), "autograd"),
                              (("jax_gen", "jax"), lambda: jax_candidates(fn, wrt, data, expr, decls), "JAX"),
                              (("torch_gen", "torch"), lambda: torch_candidates(fn, wrt, data, expr, decls), "PyTorch")):
        try:
            built = build()
        except Exception as err:  # noqa: BLE001 - reported in the row, the others still run
            built = (None,) * len(names)
            absent.update({n: f"failed: {type(err).__name__}" for n in names})
        for n, c in zip(names, built):
            if c is not None:
                cands[n] = c
            else:
                absent.setdefault(n, f"{lib} not installed")
    reference = hand(**data)
    agree = {}
    for k in [k for k in cands if k != "f"]:
        try:
            agree[k] = disagreement(cands[k](), reference)
        except Exception as err:  # noqa: BLE001
            absent[k] = f"failed: {type(err).__name__}"
            del cands[k]
    fd = fd_error(value, both, wrt, data, decls.get("symmetric", ""))
    # each library's candidates in rounds of their own: a thread pool still spinning after
    # one library's call must not slow another library's
    groups = [("numpy", "f", "hand", "autograd"), ("jax_gen", "jax"), ("torch_gen", "torch")]
    times = merged(*(interleaved({k: cands[k] for k in g if k in cands}, repeat) for g in groups))
    return label, times, absent, agree, fd


def hessian_row(jax):
    """matcalc's generated logistic Hessian (NumPy) against jax.jit(jax.hessian) on device arrays."""
    data = _data()[0][7]
    rest = {k: v for k, v in data.items() if k != "w"}
    cands, note = {}, ""
    try:
        source = matcalc.codegen(LOGISTIC, "w", hessian=True, name="value_grad_hessian")
    except TypeError:
        source, note = None, "not available: matcalc.codegen has no hessian=True yet"
    except matcalc.MatcalcError as err:
        source, note = None, f"not available: {err}"
    if source is not None:
        ours = _load(source, "value_grad_hessian")
        cands["matcalc"] = lambda: ours(**data)
    if jax is not None:
        import jax.numpy as jnp

        dev = {k: jnp.asarray(v) for k, v in data.items()}
        o = jax_ops()
        H = jax.jit(jax.hessian(lambda w, X, y, lambda_: logistic(o, w, X, y, lambda_)))
        cands["jax"] = lambda: H(dev["w"], dev["X"], dev["y"], dev["lambda_"])
    elif source is not None:
        note = "JAX not installed"
    if "matcalc" in cands and "jax" in cands:
        gap = disagreement(_flat(cands["matcalc"]())[-1], cands["jax"]())
        note = f"Hessians agree to {gap:.0e}" if gap < 1e-6 else f"HESSIANS DISAGREE ({gap:.1e})"
    times = interleaved(cands, 3) if cands else {}
    return times, note


def main() -> list:
    targets = []
    jax_setup()
    width = 34
    print("median ms; checks: largest relative difference from the closed form (every candidate), and of "
          "the generated gradient from central differences")
    print(f"{'problem':{width}}" + "".join(f"{title:>15}" for _, title in COLUMNS) + "  checks")
    for problem in _data():
        key = problem[0]
        try:
            label, times, absent, agree, fd = run_problem(problem)
        except Exception as err:  # noqa: BLE001 - one failing problem must not stop the run
            print(f"{problem[1]:{width}} failed: {type(err).__name__}: {err}")
            for _, _, limit, name in TARGETS:
                targets.append(Target(f"{name}: {key}", limit, "≤", "×", None, f"failed: {type(err).__name__}"))
            continue
        cells = "".join(f"{times[k] * 1e3:15.2f}" if k in times else f"{absent[k][:14]:>15}" for k, _ in COLUMNS)
        worst = max(agree.values())
        print(f"{label:{width}}{cells}  agree {worst:.0e}, FD {fd:.0e}"
              + ("" if worst < 1e-6 and fd < 1e-5 else "  <-- RESULTS DIFFER"))
        for ours, theirs, limit, name in TARGETS:
            if theirs in times and ours in times:
                lo, hi = times.spread(ours, theirs)
                targets.append(Target(f"{name}: {key}", limit, "≤", "×", times[ours] / times[theirs],
                                      f"{times[ours] * 1e3:.1f} vs {times[theirs] * 1e3:.1f} ms; "
                                      f"per round {lo:.2f}–{hi:.2f}", spread=(lo, hi)))
            else:
                targets.append(Target(f"{name}: {key}", limit, "≤", "×", None, absent.get(theirs) or absent[ours]))
        print(f"{'':{width}}gradient / f alone: {times['numpy'] / times['f']:.2f}")
    times, note = hessian_row(optional("jax"))
    measured = spread = None
    if "matcalc" in times and "jax" in times:
        measured = times["matcalc"] / times["jax"]
        spread = lo, hi = times.spread("matcalc", "jax")
        note = f"{times['matcalc'] * 1e3:.0f} vs {times['jax'] * 1e3:.0f} ms; per round {lo:.2f}–{hi:.2f}; {note}"
    elif "jax" in times:
        note += f" (jax.jit(jax.hessian) alone: {times['jax'] * 1e3:.0f} ms)"
    print(f"\nlogistic Hessian (d=1000), value, gradient and Hessian against jax.jit(jax.hessian): {note}")
    targets.append(Target("logistic Hessian code / jax.jit(jax.hessian)", 0.6, "≤", "×", measured, note, spread))
    print_targets(targets, "generated-code targets")
    return targets


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
