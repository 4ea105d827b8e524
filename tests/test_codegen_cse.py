"""The shape of generated code (issues 17 and 20): each subexpression computed once across
f, the gradients and the Hessian, no needless parentheses, locals, `-1 *` or all-ones
arrays, the cost rules (solve or inv, `v @ X`, a diagonal that scales) — and, for every
expression whose code is inspected, its values against matcalc's evaluator and its
derivatives against central differences of the generated code itself."""
import ast
import re
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.cli import main
from matcalc.code_generation import argument_order, generate, load
from matcalc.numeric import evaluate, sample_point
from matcalc.printing.numpy import py_name
from matcalc.reading import symbols_of

MLP = "1/2 (y - W2 tanh(W1 x))^T (y - W2 tanh(W1 x))"
BATCH_MLP = "1/2 sum((Y - tanh(X W1) W2) .* (Y - tanh(X W1) W2))"
SOFTMAX_CE = "-sum(Y .* log(softmax(X W)))"
LOGISTIC = "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w"
GAUSSIAN = ("-n/2 ln det S - 1/2 tr(S^-1 M)", "S", {"symmetric": "S,M", "scalar": "n"})

CASES = [
    (SOFTMAX_CE, "W", {}),
    ("-y^T log(softmax(W x))", "W", {}),
    ("logsumexp(W x) + sum(softplus(x))", "W,x", {}),
    (MLP, "W1,W2", {}),
    (BATCH_MLP, "W1,W2", {}),
    (LOGISTIC, "w", {}),
    ("(y - X w)^T (y - X w)", "w", {}),
    GAUSSIAN,
    ("a^T X A X a + ln det X", "X", {}),
    ("a^T X^-1 b", "X", {}),
    ("a^T X^-1 b + c^T X^-T d", "X", {}),
    ("tr(A X^-1 B)", "X", {}),
    ("sum(exp(X) ones(m) ones(m)^T .* Y)", "X", {}),  # v 1ᵀ: a broadcast column
    ("sum(ones(n) ones(n)^T A) + x^T ones(n) ones(n)^T x", "A,x", {}),  # sums of ones
    ("-y^T log(sigmoid(X w)) - (1 - y)^T log(1 - sigmoid(X w))", "w", {}),
    # Σ_i forms: 1ᵀ diag((X − 1μᵀ)(X − 1μᵀ)ᵀ) is a trace, never an n×n product; a loop stays
    ("sum_i (x_i - mu)^T (x_i - mu) + sum_i exp(-x_i^T w) x_i^T w", "w,mu", {"vector": "mu"}),
]
IDS = [c[0] for c in CASES]


# ---------------------------------------------------------------- reading the source


def _body(src: str, name: str = "value_and_grad") -> list:
    fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return [s for s in fn.body if isinstance(s, ast.Assign)]


def _trivial(node, scalars: set) -> bool:
    """Nothing computed: names, numbers, views (`.T`, `[:, None]`, `.shape[0]`), negation
    (written at each use), and arithmetic on scalar arguments and numbers (`0.5 * n`)."""
    if isinstance(node, (ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice,
                         ast.Tuple, ast.keyword, ast.expr_context, ast.operator, ast.unaryop)):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return True
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        sizes = {id(n) for a in ast.walk(node) if isinstance(a, ast.Attribute) and a.attr == "shape"
                 for n in ast.walk(a)}  # X.shape[0] * X.shape[1]: a number
        leaves = [n for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in sizes]
        return all(n.id in scalars for n in leaves) and not any(isinstance(n, ast.Call) for n in ast.walk(node))
    if isinstance(node, ast.Call):  # np.eye(n), np.ones((n,)): constants
        return all(_trivial(a, scalars) for a in node.args)
    return False


def repeated(src: str, scalars=(), name: str = "value_and_grad") -> list:
    """The computed subexpressions written more than once in the function."""
    counts: Counter = Counter()
    for stmt in _body(src, name):
        for node in ast.walk(stmt.value):
            if not _trivial(node, set(scalars)):
                counts[ast.dump(node)] += 1
    return [ast.unparse(eval(k, vars(ast))) for k, c in counts.items() if c > 1]  # noqa: S307 - ast.dump of our own parse


def doubled_parentheses(src: str) -> list:
    """Lines with `((…))`: grouping parentheses directly around a parenthesised expression
    (a call's own parentheses around a tuple, `np.ones((n,))`, are not grouping)."""
    out = []
    for line in src.splitlines():
        stack, pairs = [], {}
        for i, c in enumerate(line):
            if c == "(":
                stack.append(i)
            elif c == ")" and stack:
                pairs[stack.pop()] = i
        for i, j in pairs.items():
            call = i > 0 and (line[i - 1].isalnum() or line[i - 1] in "_])")
            if not call and pairs.get(i + 1) == j - 1:
                out.append(line)
    return out


def assert_clean(src: str, scalars=(), name: str = "value_and_grad"):
    assert not repeated(src, scalars, name), (repeated(src, scalars, name), src)
    assert not doubled_parentheses(src), src
    assert not re.search(r"\(-1 \*|-1 \* |\+ \(-|\+ -", src), src
    returned = set(re.findall(r"^    return (.*)$", src, re.M)[0].split(", "))
    for stmt in _body(src, name):  # no `t1 = t0` (a result may be an argument: `hess_x_y = A`)
        assert not (isinstance(stmt.value, ast.Name) and stmt.targets[0].id not in returned), ast.unparse(stmt)
    assert max(len(line) for line in src.splitlines()) <= 100


# ---------------------------------------------------------------- values


def _point(r, seed=3):
    sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(seed))
    args = []
    for a in argument_order(r):
        v = env[a]
        args.append(v.item() if v.shape == (1, 1) else (v[:, 0] if v.shape[1] == 1 else v))
    return sizes, env, args


def _along(fn, args, k, v, out, h=1e-6):
    """Central difference of output `out` of fn along v in argument k."""
    plus = [a + h * v if i == k else a for i, a in enumerate(args)]
    minus = [a - h * v if i == k else a for i, a in enumerate(args)]
    return (np.asarray(fn(*plus)[out]) - np.asarray(fn(*minus)[out])) / (2 * h)


def _direction(x, symmetric, seed=5):
    v = np.random.default_rng(seed).standard_normal(np.shape(x))
    return (v + v.T) / 2 if symmetric else v


def check_values(expr, wrt, decls, src, hessian=False):
    """The generated function against the evaluator (f, gradients, Hessian blocks) and its
    gradients (Hessians) against central differences of its value (gradients)."""
    r = matcalc.diff(expr, wrt, **decls)
    fn = load(src, "value_grad_hess" if hessian else "value_and_grad")
    sizes, env, args = _point(r)
    out = fn(*args)
    order = argument_order(r)
    assert np.isclose(out[0], evaluate(r.f, env, sizes).item())
    for i, dv in enumerate(r.derivatives):
        want = evaluate(dv.expr, env, sizes)
        np.testing.assert_allclose(np.reshape(out[1 + i], want.shape), want, rtol=1e-8, atol=1e-10)
        k = order.index(dv.name)
        v = _direction(args[k], dv.variable.symmetric)
        fd = float(_along(fn, args, k, v, 0))
        assert np.isclose(fd, np.sum(np.reshape(out[1 + i], np.shape(v)) * v), rtol=1e-5, atol=1e-7)
    if hessian:
        h = matcalc.hessian(expr, wrt, vec=True, **decls)
        n = len(r.wrt)
        for j, ((a, b), block) in enumerate(h.blocks.items()):
            got = np.asarray(out[1 + n + j])
            want = evaluate(block, env, sizes)
            np.testing.assert_allclose(np.reshape(got, want.shape), want, rtol=1e-8, atol=1e-10)
            k = order.index(b)
            v = _direction(args[k], r.derivatives[r.wrt.index(b)].variable.symmetric)
            fd = np.ravel(_along(fn, args, k, v, 1 + r.wrt.index(a)), order="F")
            np.testing.assert_allclose(np.reshape(got, (fd.size, np.size(v))) @ np.ravel(v, order="F"),
                                       fd, rtol=1e-5, atol=1e-6)


def _scalars(expr, wrt, decls):
    r = matcalc.diff(expr, wrt, **decls)
    return {py_name(s) for s, sym in symbols_of(r.f).items() if sym.shape == (1, 1)}


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("expr,wrt,decls", CASES, ids=IDS)
def test_each_subexpression_once_and_values(expr, wrt, decls):
    for backend in ("numpy", "torch", "jax"):
        assert_clean(generate(expr, wrt, backend=backend, **decls), _scalars(expr, wrt, decls))
    check_values(expr, wrt, decls, generate(expr, wrt, **decls))


def test_sums_of_diagonals_are_traces():
    expr, wrt, decls = CASES[-1]
    src = generate(expr, wrt, **decls)
    assert "np.diag" not in src and "t0 = X - mu" in src and "np.sum(t0 * t0)" in src


def test_softmax_shift_and_exp_once():
    """Today's 4× `t0 - t0.max(…)` and 2× exp: the shift, its exp and the row sums are
    computed once and shared by the log-softmax (f) and the softmax (gradient); the ones
    products of the gradient are a broadcast row sum, never an outer product with ones."""
    src = generate(SOFTMAX_CE, "W")
    assert src.count("np.exp(") == 1 and src.count(".max(") == 1 and src.count("X @ W") == 1
    assert "Y.sum(axis=1)[:, None] * " in src
    assert "np.ones" not in src and "np.outer" not in src
    check_values(SOFTMAX_CE, "W", {}, src)


def test_mlp_temporaries():
    """tanh(W1 x) once (also where the gradient spells it tanh(xᵀW1ᵀ)); 1 - t²: a scalar
    broadcast, no ones array, no (-1 * …)."""
    src = generate(MLP, "W1,W2")
    assert src.count("np.tanh(") == 1 and "1 - t0 ** 2" in src and "np.ones" not in src
    src = generate(BATCH_MLP, "W1,W2")
    assert src.count("np.tanh(") == 1 and "1 - t0 ** 2" in src and "np.ones" not in src
    assert "t0.T @ t1" in src
    for expr in (MLP, BATCH_MLP):
        check_values(expr, "W1,W2", {}, generate(expr, "W1,W2"))


def test_inverse_cost_rule():
    """One inv when the inverse is reused (the Gaussian's S⁻¹ M S⁻¹ and tr(S⁻¹ M): three
    uses, one against a matrix), `solve` when it is used once or against vectors only."""
    expr, wrt, decls = GAUSSIAN
    src = generate(expr, wrt, **decls)
    assert src.count("np.linalg.inv(S)") == 1 and "solve" not in src
    assert "t0 @ M @ t0" in src
    src = generate("a^T X^-1 b", "X")
    assert "inv" not in src and src.count("np.linalg.solve(X, b)") == 1
    src = generate("a^T X^-1 b + c^T X^-T d", "X")  # four uses: inv once, X⁻ᵀ its transpose
    assert src.count("np.linalg.inv(X)") == 1 and "solve" not in src
    for e, w, d in (GAUSSIAN, ("a^T X^-1 b", "X", {}), ("a^T X^-1 b + c^T X^-T d", "X", {})):
        check_values(e, w, d, generate(e, w, **d))


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_transposed_matrix_times_vector_is_vector_times_matrix(backend):
    """Xᵀ v is printed `v @ X` (under jax.jit 5 ms against 46 ms for `X.T @ v`), in every
    backend."""
    src = generate(LOGISTIC, "w", backend=backend)
    assert ".T" not in src and "@ X" in src


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_broadcasts_run_in_every_backend(backend):
    """The ones rules and the shared softmax pieces in torch and jax code too (values
    against the evaluator)."""
    pytest.importorskip({"numpy": "numpy", "torch": "torch", "jax": "jax"}[backend])
    for expr, wrt, decls in [CASES[0], CASES[12], CASES[13]]:
        r = matcalc.diff(expr, wrt, **decls)
        sizes, env, args = _point(r)
        fn = load(generate(expr, wrt, backend=backend, **decls))
        if backend == "torch":
            import torch

            args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        elif backend == "jax":
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_enable_x64", True)
            args = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        out = fn(*args)
        assert np.isclose(float(out[0]), evaluate(r.f, env, sizes).item())
        for g, dv in zip(out[1:], r.derivatives):
            want = evaluate(dv.expr, env, sizes)
            np.testing.assert_allclose(np.reshape(np.asarray(g), want.shape), want, rtol=1e-9, atol=1e-12)


HESSIANS = [
    (LOGISTIC, "w", {}),
    ("x^T A x + b^T x + sum(exp(x))", "x", {}),
    ("x^T A y + sum(exp(x)) + lambda y^T y", "x,y", {}),
    ("x^T A x + ln det X + y^T X y", "x,X", {}),
]


@pytest.mark.parametrize("expr,wrt,decls", HESSIANS, ids=[c[0] for c in HESSIANS])
def test_hessian_shares_subexpressions_with_the_gradient(expr, wrt, decls):
    src = generate(expr, wrt, hessian=True, **decls)
    assert "def value_grad_hess(" in src
    assert_clean(src, _scalars(expr, wrt, decls), "value_grad_hess")
    check_values(expr, wrt, decls, src, hessian=True)


def test_logistic_hessian_scales_never_builds_a_diagonal():
    """Xᵀ diag(s(1 − s)) X as (X.T * w) @ X; X w and the sigmoid computed once for the
    value, the gradient and the Hessian."""
    src = generate(LOGISTIC, "w", hessian=True)
    assert "np.diag" not in src and src.count("X @ w") == 1 and src.count("np.logaddexp(0, t0)") == 1
    assert re.search(r"hess_w = \(X\.T \* \(.*\)\) @ X", src), src
    assert src.rstrip().endswith("return value, grad_w, hess_w")


def test_cli_hessian_with_check(tmp_path):
    """`codegen --hessian --check`: the module's own check compares the Hessian with
    central differences of the gradient (exit 0), and fails on a wrong Hessian (exit 1)."""
    import subprocess
    import sys

    out = tmp_path / "h.py"
    r = CliRunner().invoke(main, ["codegen", "x^T A y + sum(exp(x))", "--wrt", "x,y", "--hessian",
                                  "--check", "-o", str(out)])
    assert r.exit_code == 0, r.output
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.count("H[") == 4, run.stdout + run.stderr
    text = out.read_text()
    assert "def value_grad_hess(x, y, A):" in text
    out.write_text(text.replace("    return value, grad_x, grad_y, hess_x_x,",
                                "    return value, grad_x, grad_y, 1.01 * hess_x_x,"))
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stdout + run.stderr
