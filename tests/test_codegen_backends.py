"""Generated PyTorch/JAX code follows its inputs (dtype, device, jit, vmap), and values are
numerically stable at extreme logits (issue 17).

torch and jax are optional: each test that needs one skips without it.
"""
from fractions import Fraction

import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc.code_generation import argument_order, generate, load
from matcalc.numeric import evaluate, sample_point
from matcalc.simplify import log_one_minus_sigmoid, log_sigmoid, log_softmax, simplify

# constants of every kind (I, ones, zeros), step, softmax row-wise and over a vector, logsumexp
CASES = [
    ("sum(exp(x)) + tr(X + lambda I)", "x,X,lambda", {}),
    ("x^T A x + b^T x", "x,A", {}),
    ("sum(relu(X w)) + sum(abs(w))", "w", {}),
    ("-y^T log(softmax(W x))", "W", {}),
    ("sum(Y .* log(softmax(X W)))", "W", {}),
    ("logsumexp(W x) + sum(softplus(x))", "W,x", {}),
    ("-y^T log(sigmoid(X w)) - (1 - y)^T log(1 - sigmoid(X w))", "w", {}),
    ("a^T X A X a + ln det X", "X", {}),
    ("1/2 (y - W2 tanh(W1 x))^T (y - W2 tanh(W1 x))", "W1,W2", {}),
]


def _case_data(expr, wrt, decls, seed=3):
    """The generated function's arguments (in its order) at a valid point, and the evaluator's
    value and gradients there."""
    r = matcalc.diff(expr, wrt, **decls)
    sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(seed))
    args = []
    for a in argument_order(r):
        v = env[a]
        args.append(v.item() if v.shape == (1, 1) else (v[:, 0] if v.shape[1] == 1 else v))
    want = [evaluate(r.f, env, sizes).item()] + [evaluate(dv.expr, env, sizes) for dv in r.derivatives]
    return r, args, want


def _fd_check(fn, args, grads, k, h=1e-6):
    """The k-th gradient against central differences of the generated value (float64)."""
    x = np.asarray(args[k], dtype=float)
    v = np.random.default_rng(5).standard_normal(np.shape(x))
    plus = [a if i != k else x + h * v for i, a in enumerate(args)]
    minus = [a if i != k else x - h * v for i, a in enumerate(args)]
    fd = (float(fn(*plus)[0]) - float(fn(*minus)[0])) / (2 * h)
    assert np.isclose(fd, float(np.sum(np.asarray(grads[k]) * v)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("expr,wrt,decls", CASES, ids=[c[0] for c in CASES])
def test_torch_float32_and_meta_device(expr, wrt, decls):
    torch = pytest.importorskip("torch")
    r, args, want = _case_data(expr, wrt, decls)
    src = generate(expr, wrt, backend="torch", **decls)
    assert "float64" not in src
    fn = load(src)

    def tensors(dtype, device="cpu"):
        return [torch.tensor(a, dtype=dtype, device=device) if isinstance(a, np.ndarray) else a for a in args]

    out = fn(*tensors(torch.float32))
    for o, w in zip(out, want):
        assert o.dtype == torch.float32, (expr, o.dtype)
        np.testing.assert_allclose(np.reshape(o.numpy(), np.shape(w)), w, rtol=2e-3, atol=2e-4)
    meta = fn(*tensors(torch.float32, "meta"))
    for o, w in zip(meta, want):
        assert o.device.type == "meta" and o.dtype == torch.float32 and o.numel() == np.size(w)
    # float64: the gradients against central differences of the generated value
    out64 = fn(*tensors(torch.float64))
    grads = [g.numpy() for g in out64[1:]]
    for k in range(len(grads)):
        _fd_check(lambda *a: fn(*[torch.tensor(x) if isinstance(x, np.ndarray) else x for x in a]),
                  args, grads, k)


def test_jax_float32_jit_and_vmap():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)  # float64 exists, yet float32 inputs stay float32
    import jax.numpy as jnp

    for expr, wrt, decls in CASES[:7]:
        r, args, want = _case_data(expr, wrt, decls)
        src = generate(expr, wrt, backend="jax", **decls)
        fn = load(src)
        a32 = [jnp.asarray(a, dtype=jnp.float32) if isinstance(a, np.ndarray) else a for a in args]
        jitted = jax.jit(fn)(*a32)  # (traced: every shape and dtype is abstract)
        for j, w in zip(jitted, want):
            assert j.dtype == jnp.float32, (expr, j.dtype)
            np.testing.assert_allclose(np.reshape(np.asarray(j), np.shape(w)), w, rtol=2e-3, atol=2e-4)
    # vmap over a batch of points: each row of the result is the function at that point
    src = generate("x^T A x + sum(exp(x)) + b^T x", "x")
    fn = load(generate("x^T A x + sum(exp(x)) + b^T x", "x", backend="jax"))
    fn_np = load(src)
    rng = np.random.default_rng(0)
    xs, A, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    values, grads = jax.vmap(fn, in_axes=(0, None, None))(jnp.asarray(xs), jnp.asarray(A), jnp.asarray(b))
    for i in range(5):
        v, g = fn_np(xs[i], A, b)
        assert np.isclose(values[i], v) and np.allclose(grads[i], g)
        np.testing.assert_allclose(g, (A + A.T) @ xs[i] + np.exp(xs[i]) + b)
        _fd_check(fn_np, [xs[i], A, b], [g], 0)


# ---------------------------------------------------------------- stable values


def test_stable_rules_are_identities():
    t = E.Symbol("t", 3, 1)
    cases = [(log_softmax, E.func("log", E.softmax(t)), "u − logsumexp(u)"),
             (log_sigmoid, E.func("log", E.func("sigmoid", t)), "−softplus(−u)"),
             (log_one_minus_sigmoid, E.func("log", E.sub(E.Ones(3, 1), E.func("sigmoid", t))), "−softplus(u)")]
    env = {"t": np.array([[-2.0], [0.3], [1.7]])}
    for rule, e, identity in cases:
        assert identity in rule.__doc__
        r = rule(e)
        assert r != e and np.allclose(evaluate(r, env), evaluate(e, env))
        record: list = []
        simplify(e, record)
        assert rule in record
    s = E.Symbol("s", 1, 1)  # the scalar forms too
    assert log_one_minus_sigmoid(E.func("log", E.sub(E.Const(Fraction(1)), E.func("sigmoid", s)))) == \
        E.neg(E.func("softplus", s))


SOFTMAX_CE = "-y^T log(softmax(W x))"
BCE = "-y^T log(sigmoid(X w)) - (1 - y)^T log(1 - sigmoid(X w))"


def _extreme_softmax(gap):
    """W x = (gap, 0, 0) with the label on a 0 logit: the loss is gap + ln(1 + 2 e^-gap) ≈ gap."""
    W, x = np.diag([gap, 0.0, 0.0]), np.ones(3)
    y = np.array([0.0, 1.0, 0.0])
    u = W @ x
    ref = -(u - (u.max() + np.log(np.sum(np.exp(u - u.max())))))[1]
    p = np.exp(u - u.max()) / np.sum(np.exp(u - u.max()))
    return W, y, x, ref, np.outer(p - y, x)


def _extreme_bce(margin):
    X, w = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([margin, -margin])
    y = np.array([0.0, 1.0])  # both examples wrong by the margin
    z = X @ w
    ref = np.sum(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    return w, y, X, ref, X.T @ (1 / (1 + np.exp(-z)) - y)


def test_evaluator_is_stable_at_extreme_logits():
    r = matcalc.diff(SOFTMAX_CE, "W")
    W, y, x, ref, grad = _extreme_softmax(800.0)
    env = {"W": W, "x": x[:, None], "y": y[:, None]}
    assert np.isclose(evaluate(r.f, env).item(), ref) and np.isclose(ref, 800.0)
    np.testing.assert_allclose(evaluate(r.derivatives[0].expr, env), grad, atol=1e-12)
    r = matcalc.diff(BCE, "w")
    w, y, X, ref, grad = _extreme_bce(355.0)
    env = {"w": w[:, None], "y": y[:, None], "X": X}
    assert np.isclose(evaluate(r.f, env).item(), ref) and np.isfinite(ref) and ref > 700
    np.testing.assert_allclose(evaluate(r.derivatives[0].expr, env)[:, 0], grad)
    # the batch form: each row's log-softmax with its maximum shifted out
    r = matcalc.diff("sum(Y .* log(softmax(X W)))", "W")
    X, W, Y = np.eye(2), np.array([[800.0, 0.0], [0.0, -800.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.isclose(evaluate(r.f, {"X": X, "W": W, "Y": Y}).item(), -800.0)  # row 2: ln 1


def test_generated_numpy_is_stable_in_float64():
    fn = load(generate(SOFTMAX_CE, "W"))
    W, y, x, ref, grad = _extreme_softmax(800.0)
    value, g = fn(W, y, x)
    assert np.isclose(value, ref) and np.allclose(g, grad)
    _fd_check(fn, [W, y, x], [g], 0)
    fn = load(generate(BCE, "w"))
    w, y, X, ref, grad = _extreme_bce(355.0)
    value, g = fn(w, y, X)
    assert np.isclose(value, ref) and np.allclose(g, grad)
    _fd_check(fn, [w / 100, y, X], [fn(w / 100, y, X)[1]], 0)


def test_generated_torch_is_stable_in_float32():
    torch = pytest.importorskip("torch")
    fn = load(generate(SOFTMAX_CE, "W", backend="torch"))
    W, y, x, _, grad = _extreme_softmax(120.0)
    t = [torch.tensor(a, dtype=torch.float32) for a in (W, y, x)]
    value, g = fn(*t)
    want = torch.nn.functional.cross_entropy((t[0] @ t[2])[None], torch.tensor([1]))
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert float(value) == pytest.approx(float(want)) and float(value) == pytest.approx(120.0)
    np.testing.assert_allclose(g.numpy(), grad, atol=1e-6)
    fn = load(generate(BCE, "w", backend="torch"))
    w, y, X, ref, grad = _extreme_bce(120.0)
    value, g = fn(*[torch.tensor(a, dtype=torch.float32) for a in (w, y, X)])
    assert value.dtype == torch.float32 and float(value) == pytest.approx(ref, rel=1e-6)
    np.testing.assert_allclose(g.numpy(), grad, atol=1e-6)


def test_generated_jax_is_stable_in_float32():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    fn = jax.jit(load(generate(SOFTMAX_CE, "W", backend="jax")))
    W, y, x, _, grad = _extreme_softmax(120.0)
    a = [jnp.asarray(v, dtype=jnp.float32) for v in (W, y, x)]
    value, g = fn(*a)
    want = -jax.nn.log_softmax(a[0] @ a[2])[1]
    assert value.dtype == jnp.float32 and float(value) == pytest.approx(float(want))
    np.testing.assert_allclose(np.asarray(g), grad, atol=1e-6)
