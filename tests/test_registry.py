"""Coverage of the registries: every function record and every node type through every table.

A new elementwise function is one record in matcalc/functions.py; a new node type is a
class plus its rules. These tests walk every record and every node through d(), the
pullback (or its explicit exemption), the evaluator, the text/unicode/LaTeX/NumPy
printers, SymPy both ways (or its explicit exemption) and the step text, and fail
naming the gap. A missing entry is a named error, never a KeyError.
"""
from fractions import Fraction

import numpy as np
import pytest

import matcalc
import matcalc.printing.numpy as npp
import matcalc.printing.text as txt
from matcalc import expr as E
from matcalc import functions
from matcalc.differential import RULES, d, d_recorded, rule_text
from matcalc.identify import PULL_EXEMPT, PULL_RULES, pullback
from matcalc.numeric import EVAL_RULES, evaluate
from matcalc.sympy_interop import NO_SYMPY

n = 3
X = E.Symbol("X", n, n)
x = E.Symbol("x", n, 1)
a = E.Symbol("a", n, 1)
t = E.Symbol("t", 1, 1)

# One sample of each node type, holding the variable X, x or t where it can.
SAMPLES = {
    E.Symbol: x, E.Const: E.Const(Fraction(2)), E.Identity: E.Identity(n), E.Zero: E.Zero(n, 1),
    E.Ones: E.Ones(n, 1), E.Add: E.Add((x, a)), E.MatMul: E.MatMul(Fraction(1), (X, x)),
    E.Transpose: E.Transpose(X), E.Inverse: E.Inverse(X), E.Trace: E.Trace(X), E.Det: E.Det(X),
    E.Sum: E.Sum(x), E.Diag: E.Diag(x), E.DiagPart: E.DiagPart(X), E.Func: E.Func("tanh", x),
    E.Power: E.Power(x, Fraction(3)), E.Hadamard: E.Hadamard((a, x)), E.Kron: E.Kron(X, x),
    E.Vec: E.Vec(X), E.Commutation: E.Commutation(2, n), E.Softmax: E.Softmax(x),
    E.LogSumExp: E.LogSumExp(x), E.Conv: E.Conv(x, a), E.ConvT: E.ConvT(x, a),
    # x_i is row i of X; an observation is evaluated inside its sum
    E.Indexed: E.Indexed(X, "i", "x"),
    E.SumOver: E.SumOver("i", n, E.mul(E.transpose(E.Indexed(X, "i", "x")), x)),
}


def _point(seed=0):
    rng = np.random.default_rng(seed)
    return {"X": np.eye(n) + 0.2 * rng.standard_normal((n, n)), "x": rng.uniform(0.3, 0.9, (n, 1)),
            "a": rng.standard_normal((n, 1)), "t": np.array([[0.7]])}


def test_every_node_type_has_a_sample():
    assert set(SAMPLES) == set(E.NODE_TYPES), set(E.NODE_TYPES) ^ set(SAMPLES)


@pytest.mark.parametrize("node", E.NODE_TYPES, ids=lambda t: t.__name__)
def test_node_in_every_table(node):
    e = SAMPLES[node]
    assert type(e) is node
    assert node in RULES, f"no differential rule for {node.__name__}"
    if node.linear:
        assert node in PULL_RULES or node in PULL_EXEMPT, f"no pullback rule or exemption for {node.__name__}"
    assert not (node in PULL_RULES and node in PULL_EXEMPT)
    assert node in PULL_RULES or node in PULL_EXEMPT or not node.linear
    assert node in EVAL_RULES, f"no NumPy evaluation for {node.__name__}"
    value = evaluate(e if not e.indices else E.SumOver("i", n, e), _point())
    assert value.shape == tuple(int(s) for s in (e.shape if node is not E.Commutation else (6, 6)))
    for printer in (txt.TextPrinter, txt.UnicodePrinter, txt.LatexPrinter):
        assert printer().doprint(e), (printer.__name__, node.__name__)
    for printer in (npp.NumpyPrinter, npp.TorchPrinter, npp.JaxPrinter):
        assert printer().doprint(e), (printer.__name__, node.__name__)
    rule = RULES[node]
    assert rule.__doc__ and rule.__doc__.strip(), f"the d rule of {node.__name__} has no docstring (its step text)"
    if not getattr(rule, "quiet", False):
        assert rule_text(rule, e)


@pytest.mark.parametrize("node", E.NODE_TYPES, ids=lambda t: t.__name__)
def test_node_through_sympy_both_ways(node):
    pytest.importorskip("sympy")
    from matcalc.sympy_interop import from_sympy, to_sympy

    e = SAMPLES[node]
    if node in NO_SYMPY:
        with pytest.raises(functions.MissingEntry, match=node.__name__):
            to_sympy(e)
        return
    back = from_sympy(to_sympy(e))
    env = _point()
    assert np.allclose(evaluate(back, env), evaluate(e, env)), (node.__name__, back)
    # the same node comes back (softmax and logsumexp, written out by their definitions
    # for SymPy, are folded back), also inside a larger expression
    from matcalc.simplify import equal

    assert back == e or equal(back, e), (node.__name__, back)
    outer = E.add(E.trace(E.mul(X, X)), E.sum_entries(e)) if not e.is_scalar else E.mul(t, e)
    again = from_sympy(to_sympy(outer))  # (SymPy may fold sum(ones(3)) to 3)
    assert np.allclose(evaluate(again, env), evaluate(outer, env)), (node.__name__, again)


def test_pullback_covers_what_d_produces():
    """Every node type that d() leaves around a differential has a pull rule, or is exempt
    because its derivative is read off another way (vec_coefficient)."""
    for node, e in SAMPLES.items():
        for var in ({"X": X}, {"x": x}):
            if not e.symbols & set(var):
                continue
            df = d(e, var)
            stack = [df]
            while stack:
                m = stack.pop()
                if m.has_differential:
                    assert type(m).linear, (node.__name__, type(m).__name__)
                    assert type(m) in PULL_RULES or type(m) in PULL_EXEMPT, (node.__name__, type(m).__name__)
                stack.extend(m.args)


# ---------------------------------------------------------------- function records


@pytest.mark.parametrize("f", functions.FUNCTIONS_LIST, ids=lambda f: f.name)
def test_function_record_in_every_stage(f):
    u = E.Func(f.name, x)
    env = _point(1)
    # every spelling parses to the function (LaTeX spellings through the LaTeX input)
    for spelling in f.spellings:
        text = f"{spelling}(x)" if not spelling.startswith("\\") else f"{spelling}\\left(x\\right)"
        got = matcalc.parse(text)
        assert isinstance(got, E.Func) and got.name == f.name, (spelling, got)
    # d(): f'(u) ⊙ du, checked against central differences
    df = d(u, {"x": x})
    assert df.shape == u.shape
    v = np.random.default_rng(2).standard_normal((n, 1))
    h = 1e-6
    plus = f.numpy(np, env["x"] + h * v)
    minus = f.numpy(np, env["x"] - h * v)
    assert np.allclose(evaluate(df, {**env, "dx": v}), (plus - minus) / (2 * h), atol=1e-6), f.name
    # the value, and the value at zero the constructors fold
    assert np.allclose(evaluate(u, env), f.numpy(np, env["x"]))
    if f.at_zero is not None:
        assert f.numpy(np, np.zeros((1, 1)))[0, 0] == float(f.at_zero)
        folded = E.func(f.name, E.Zero(n, 1))
        assert np.allclose(evaluate(folded, env), f.numpy(np, np.zeros((n, 1))))
    # printers: text parses back to the same function; code evaluates to the same value
    for printer in (txt.to_text, txt.to_unicode):
        assert matcalc.parse(printer(u), matcalc.Decls.build(vector="x")) == u, printer(u)
    assert matcalc.parse(txt.to_latex(u)) == u, txt.to_latex(u)
    code = npp.to_numpy(u)
    assert np.allclose(eval(code, {"np": np, "x": env["x"][:, 0]}), f.numpy(np, env["x"])[:, 0]), code  # noqa: S307 - our own generated code
    assert npp.TorchPrinter().doprint(u) and npp.JaxPrinter().doprint(u)
    # steps: the chain rule with the function's own derivative
    _, fired = d_recorded(u, {"x": x})
    assert any(f.step in rule_text(fn, node) for fn, node, _ in fired)
    # backprop knows whether it is an activation
    assert f.activation == (f.name in functions.activations())


@pytest.mark.parametrize("f", [f for f in functions.FUNCTIONS_LIST if f.sympy is not None], ids=lambda f: f.name)
def test_function_record_through_sympy(f):
    pytest.importorskip("sympy")
    from matcalc.sympy_interop import from_sympy, to_sympy

    u = E.Func(f.name, x)
    assert from_sympy(to_sympy(u)) == u, f.name
    assert from_sympy(to_sympy(E.Func(f.name, t))) == E.Func(f.name, t), f.name  # a scalar too
    s = E.Func(f.name, E.add(t, E.Const(Fraction(1, 3))))  # a scalar: SymPy writes out the body
    back = from_sympy(to_sympy(s))
    for value in (-0.8, 0.4, 1.3):
        env = {"t": np.array([[value]])}
        assert np.allclose(evaluate(back, env), evaluate(s, env), equal_nan=True), (f.name, back)


def test_missing_entries_are_named_errors():
    ghost = E.Func("mish", x)  # a Func node no record describes
    with pytest.raises(functions.MissingEntry, match="no NumPy evaluation for the function mish"):
        evaluate(ghost, _point())
    with pytest.raises(functions.MissingEntry, match="mish"):
        d(ghost, {"x": x})
    with pytest.raises(functions.MissingEntry, match="mish"):
        txt.to_text(ghost)
    with pytest.raises(functions.MissingEntry, match="mish"):
        npp.to_numpy(ghost)
    assert issubclass(functions.MissingEntry, matcalc.MatcalcError)


def test_steps_do_not_run_d_again(monkeypatch):
    """`--steps` renders the record d() made while deriving: one d() per derivation."""
    import matcalc.api
    import matcalc.differential as D

    calls = []
    real = D._Differentiator.__init__

    def counting(self, wrt):
        calls.append(wrt)
        real(self, wrt)

    monkeypatch.setattr(D._Differentiator, "__init__", counting)
    for expr, wrt in [("a^T X A X a", "X"), ("x^T A x + a^T x", "x"), ("ln det X + tr(A X) + b^T x", "X,x")]:
        calls.clear()
        r = matcalc.diff(expr, wrt)
        for dv in r.derivatives:
            r.derivation(dv.name).format("text")
        assert len(calls) == 1, (expr, calls)
    h = matcalc.hessian("x^T A x + sum(exp(x))", "x")
    from matcalc.steps import hessian_derivation

    calls.clear()
    hessian_derivation(h).format("text")
    assert calls == []  # d(f) and d(∇f) were recorded by hessian()


def test_no_module_hides_an_exported_function():
    """`import matcalc.<module>` must not replace a public function of the same name."""
    import importlib
    import pkgutil

    import matcalc as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "__main__":  # that one runs the command
            importlib.import_module(f"matcalc.{info.name}")
    for name in ("check", "verify", "hessian", "backprop", "graph", "codegen", "solve", "diff", "parse"):
        assert callable(getattr(package, name)) and not isinstance(getattr(package, name), type(package)), name
