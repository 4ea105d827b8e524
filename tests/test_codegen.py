"""Generated value-and-gradient functions: executed, compared with the evaluator and with
finite differences; the torch and jax backends run when those packages are installed."""
import importlib.util

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.cli import main
from matcalc.code_generation import generate, load
from matcalc.numeric import evaluate, sample_point
from matcalc.printing.numpy import py_name

CASES = [
    ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w", {}),
    ("a^T X A X a + ln det X", "X", {}),
    ("(y - X w)^T (y - X w)", "w", {}),
    ("-n/2 ln det S - 1/2 tr(S^-1 M)", "S", {"symmetric": "S,M", "scalar": "n"}),
    ("x^T A x + b^T x", "x,A", {}),
    ("tr(A X^-1 B)", "X", {}),
    ("1/2 (y - W2 tanh(W1 x))^T (y - W2 tanh(W1 x))", "W1,W2", {}),
]


def _args(result, env):
    out = {}
    for k, v in env.items():
        if k.startswith("d"):
            continue
        out[py_name(k)] = v.item() if v.shape == (1, 1) else (v[:, 0] if v.shape[1] == 1 else v)
    return out


@pytest.mark.parametrize("expr,wrt,decls", CASES)
def test_numpy_function_matches_value_gradient_and_finite_differences(expr, wrt, decls):
    r = matcalc.diff(expr, wrt, **decls)
    fn = load(generate(expr, wrt, **decls))
    sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(3))
    args = _args(r, env)
    value, *grads = fn(**args)
    assert np.isclose(value, evaluate(r.f, env, sizes).item())
    for dv, g in zip(r.derivatives, grads):
        want = evaluate(dv.expr, env, sizes)
        np.testing.assert_allclose(np.reshape(g, want.shape), want, rtol=1e-9, atol=1e-12)
        # and finite differences of the generated value along a random direction
        x = args[py_name(dv.name)]
        v = np.random.default_rng(4).standard_normal(np.shape(x))
        if dv.variable.symmetric:
            v = (v + v.T) / 2
        h = 1e-6
        plus = fn(**{**args, py_name(dv.name): x + h * v})[0]
        minus = fn(**{**args, py_name(dv.name): x - h * v})[0]
        assert np.isclose((plus - minus) / (2 * h), np.sum(np.reshape(g, np.shape(v)) * v), rtol=1e-5, atol=1e-7)


def test_common_subexpressions_are_computed_once():
    src = generate("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w")
    assert src.count("X @ w") == 1
    assert "t0 =" in src
    src = generate("ln det X + tr(A X^-1)", "X")
    assert "slogdet" in src


def test_products_are_ordered_by_cost():
    src = generate("a^T X A X a", "X")
    # matrix–vector products only, shared by f and the gradient; never an n×n outer product first
    assert "    t0 = A @ (X @ a)\n    value = a @ (X @ t0)\n" in src
    assert "grad_X = np.outer(a, t0) + np.outer(a @ X @ A, a)\n" in src
    src = generate("a^T X^-1 b", "X")
    assert "solve" in src and "inv" not in src


def test_module_is_importable_and_checks_shapes(tmp_path):
    r = CliRunner().invoke(main, ["codegen", "(y - X w)^T (y - X w)", "--wrt", "w", "-o", str(tmp_path / "ls.py")])
    assert r.exit_code == 0
    spec = importlib.util.spec_from_file_location("ls", tmp_path / "ls.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    X, y, w = np.ones((4, 3)), np.ones(4), np.ones(3)
    value, grad = mod.value_and_grad(w, y, X)  # wrt first, then in order of appearance
    assert value == pytest.approx(16.0) and grad.shape == (3,)
    with pytest.raises(AssertionError, match="disagree"):
        mod.value_and_grad(np.ones(2), y, X)
    assert "d f / d w" in mod.value_and_grad.__doc__


@pytest.mark.parametrize("backend,module", [("torch", "torch"), ("jax", "jax")])
def test_other_backends(backend, module):
    pytest.importorskip(module)
    for expr, wrt, decls in CASES[:3]:
        r = matcalc.diff(expr, wrt, **decls)
        fn = load(generate(expr, wrt, backend=backend, **decls))
        sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(3))
        args = _args(r, env)
        if backend == "torch":
            import torch

            args = {k: torch.tensor(v, dtype=torch.float64) if isinstance(v, np.ndarray) else v for k, v in args.items()}
        else:
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            args = {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in args.items()}
        value, *grads = fn(**args)
        assert np.isclose(float(value), evaluate(r.f, env, sizes).item())
        for dv, g in zip(r.derivatives, grads):
            want = evaluate(dv.expr, env, sizes)
            np.testing.assert_allclose(np.reshape(np.asarray(g), want.shape), want, rtol=1e-9, atol=1e-12)


def test_bad_input():
    r = CliRunner().invoke(main, ["codegen", "X w", "--wrt", "w"])
    assert r.exit_code == 2 and "scalar f" in r.output
    r = CliRunner().invoke(main, ["codegen", "x^T x", "--wrt", "x", "--name", "not valid"])
    assert r.exit_code == 2


@pytest.mark.parametrize("expr,wrt,opts", [
    ("a^T X A X a + ln det X", "X", []),
    ("-n/2 ln det S - 1/2 tr(S^-1 M)", "S", ["--symmetric", "S,M", "--scalar", "n"]),
    ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w,lambda", []),
])
def test_check_block_runs_finite_differences(tmp_path, expr, wrt, opts):
    """`codegen --check`: `python module.py` draws data of consistent shapes and compares each
    gradient with central differences (exit 0); a wrong gradient makes it exit 1."""
    import subprocess
    import sys

    out = tmp_path / "m.py"
    r = CliRunner().invoke(main, ["codegen", expr, "--wrt", wrt, "--check", "-o", str(out), *opts])
    assert r.exit_code == 0, r.output
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("relative error") == len(wrt.split(","))
    broken = out.read_text().replace("    return value, grad_", "    return value, 1.01 * grad_", 1)
    out.write_text(broken)
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stdout + run.stderr


def test_argument_order_is_wrt_first_then_appearance():
    src = generate("b^T x + x^T A x + c", "A,x")
    assert "def value_and_grad(A, x, b, c):" in src
    assert "return value, grad_A, grad_x" in src


def test_lines_are_short_and_negation_is_plain():
    long_cases = CASES + [("sum(Y .* log(softmax(X W)))", "W", {}),
                          ("-y^T log(sigmoid(X w)) - (1 - y)^T log(1 - sigmoid(X w))", "w", {})]
    for backend in ("numpy", "torch", "jax"):
        for expr, wrt, decls in long_cases:
            src = generate(expr, wrt, backend=backend, **decls)
            assert max(len(line) for line in src.splitlines()) <= 100, (backend, expr)
            assert "(-1 *" not in src and "+ (-" not in src, src
            compile(src, "<generated>", "exec")


def test_codegen_returns_the_source_and_the_module():
    """`matcalc.codegen` returns the source (a str: old uses keep working) that is also the
    module: its function as an attribute, `.source`, `.function`; it pickles (the web layer's
    process pool sends it) and serialises to JSON as the plain source."""
    import json
    import pickle

    expr, wrt, decls = CASES[2]
    m = matcalc.codegen(expr, wrt, **decls, name="least_squares")
    assert isinstance(m, str) and str(m) == m.source and type(m.source) is str
    assert m.source.startswith("# generated by matcalc") and "def least_squares(" in m
    assert m.function is m.least_squares and m.name == "least_squares"
    r = matcalc.diff(expr, wrt, **decls)
    sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(3))
    args = _args(r, env)
    value, grad = m.least_squares(**args)
    assert np.isclose(value, evaluate(r.f, env, sizes).item())
    np.testing.assert_allclose(grad, evaluate(r.derivatives[0].expr, env, sizes)[:, 0], rtol=1e-9)
    h, v = 1e-6, np.random.default_rng(4).standard_normal(args["w"].shape)
    fd = (m.function(**{**args, "w": args["w"] + h * v})[0] - m.function(**{**args, "w": args["w"] - h * v})[0]) / (2 * h)
    assert np.isclose(fd, grad @ v, rtol=1e-6)
    again = pickle.loads(pickle.dumps(m))
    assert again == m and again.least_squares(**args)[0] == value
    assert json.loads(json.dumps({"code": m}))["code"] == m.source
    with pytest.raises(AttributeError):
        m.no_such_function
