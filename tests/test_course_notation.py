"""The course's exercises typed as its documents print them (../shared/seeds/).

Each row: (source, expression as printed, wrt, declarations the document states in
words, expected answer in matcalc notation or None, what: gradient | hessian). No row
declares what the notation already implies: μ in `x - μ` is a vector, Σ a matrix, n in
`n/2` a count, the variables of `x^2 + xy + (x+y)^2` scalars. Every row is checked
against finite differences, and its expected answer against the derived one in value.
"""
from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.api import parse_like
from matcalc.errors import MatcalcError
from matcalc.second_order import hessian
from matcalc.numeric import evaluate, sample_point, sample_valid_point
from matcalc.verification import verify, verify_hessian

G, H = "gradient", "hessian"
CH8 = "000 ch.8"  # the problem book, matrix differentials

COURSE = [
    # ---------------------------------------------------------------- problem book, chapter 8, ex. 1
    (f"{CH8} ex1a x^2 (x скаляр)", "x^2", "x", {"scalar": "x"}, "2 x", G),
    (f"{CH8} ex1б a^T x", "a^T x", "x", {}, "a", G),
    (f"{CH8} ex1в LaTeX", r"x^\mathsf{T} A x", "x", {}, "(A + A^T) x", G),
    (f"{CH8} ex1в Hessian", r"x^\mathsf{T} A x", "x", {}, "A + A^T", H),
    (f"{CH8} ex1г LaTeX", r"\ln(x^\mathsf{T} A x)", "x", {}, "(A + A^T) x / (x^T A x)", G),
    (f"{CH8} ex1д LaTeX", r"a^\mathsf{T} X A X a", "X", {}, "a a^T X^T A^T + A^T X^T a a^T", G),
    (f"{CH8} ex1е xx^Tx", "xx^Tx", "x", {}, "x^T x I + 2 x x^T", G),
    # ---------------------------------------------------------------- ex. 2
    (f"{CH8} ex2а X^{{-1}}", "X^{-1}", "X", {}, "-X^-1 dX X^-1", G),
    (f"{CH8} ex2б \\det X", r"\det X", "X", {}, "det(X) X^-T", G),
    (f"{CH8} ex2в tr(X)", "tr(X)", "X", {}, "I", G),
    (f"{CH8} ex2в Tr", "Tr(X)", "X", {}, "I_n", G),
    # ---------------------------------------------------------------- ex. 3
    (f"{CH8} ex3а tr(AXB)", "tr(AXB)", "X", {}, "A^T B^T", G),
    (f"{CH8} ex3б operatorname", r"\operatorname{tr}(AX^TX)", "X", {}, "X (A + A^T)", G),
    (f"{CH8} ex3в ln det", r"\ln \det X", "X", {}, "X^-T", G),
    (f"{CH8} ex3в ln|X| (Cookbook)", r"\ln|X|", "X", {}, "X^-T", G),
    (f"{CH8} ex3г", r"tr(AX^TXBX^{-T})", "X", {}, None, G),
    (f"{CH8} ex3д det(X^T A X)", "det(X^T A X)", "X", {},
     "det(X^T A X) (A X (X^T A X)^-1 + A^T X (X^T A^T X)^-1)", G),
    (f"{CH8} ex3е", r"x^\mathsf{T} A b", "x", {}, "A b", G),
    (f"{CH8} ex3ж", "x^T Ab", "A", {}, "x b^T", G),
    (f"{CH8} ex3 det X · X^{{-T}} (the book's answer read back)", r"\det X \cdot X^{-T}", "X", {},
     "det(X) tr(X^-1 dX) X^-T - det(X) X^-T dX^T X^-T", G),
    # ---------------------------------------------------------------- ex. 4, 5, 6: regressions
    (f"{CH8} ex4 OLS", r"(y - Xw)^{\mathsf{T}}(y - Xw)", "w", {}, "-2 X^T (y - X w)", G),
    (f"{CH8} ex4 OLS Hessian", r"(y - Xw)^{\mathsf{T}}(y - Xw)", "w", {}, "2 X^T X", H),
    (f"{CH8} ex5 ridge", r"(y - Xw)^{T}(y - Xw) + \lambda w^{T}w", "w", {},
     "2 X^T (X w - y) + 2 λ w", G),
    (f"{CH8} ex5 ridge w^2", r"(y - Xw)^{T}(y - Xw) + \lambda w^{2}", "w", {},
     "2 X^T (X w - y) + 2 λ w", G),
    (f"{CH8} ex5 ridge Hessian", r"(y - Xw)^{T}(y - Xw) + \lambda w^{T}w", "w", {},
     "2 X^T X + 2 λ I_n", H),
    (f"{CH8} ex6 logistic, one term (y_i скаляр)",
     r"\ln(1 + \exp(-y_i x_i^\mathsf{T} w)) + \lambda w^\mathsf{T} w", "w", {"scalar": "y_i"},
     "-y_i σ(-y_i x_i^T w) x_i + 2 λ w", G),
    (f"{CH8} ex6 logistic, matrix form", "sum(ln(1 + exp(-y ⊙ (X w)))) + λ wᵀw", "w", {},
     "-X^T (y ⊙ σ(-y ⊙ (X w))) + 2 λ w", G),
    # ---------------------------------------------------------------- ex. 7: Gaussian MLE
    (f"{CH8} ex7 f(μ) LaTeX (Σ симметричная)",
     r"-\frac{1}{2} (x - \mu)^T \Sigma^{-1} (x - \mu)", r"\mu", {"symmetric": "Σ"}, "Σ^{-1}(x - μ)", G),
    (f"{CH8} ex7 f(μ) unicode", "-1/2 (x - μ)ᵀ Σ⁻¹ (x - μ)", "μ", {"symmetric": "Σ"}, "Σ⁻¹ (x - μ)", G),
    (f"{CH8} ex7 f(Σ) LaTeX",
     r"-\frac{n}{2} \ln \det \Sigma - \frac{1}{2} (x - \mu)^\mathsf{T} \Sigma^{-1} (x - \mu)", "Sigma",
     {"symmetric": "Σ"}, "-n/2 Σ^-1 + 1/2 Σ^-1 (x - μ) (x - μ)^T Σ^-1", G),
    (f"{CH8} ex7 f(Σ) unicode", "-n/2 ln det Σ - 1/2 (x - μ)ᵀ Σ⁻¹ (x - μ)", "Σ", {"symmetric": "Σ"},
     "-n/2 Σ⁻¹ + 1/2 Σ⁻¹ (x - μ) (x - μ)ᵀ Σ⁻¹", G),
    (f"{CH8} ex7 \\log\\det(\\Sigma)", r"\log\det(\Sigma)", r"\Sigma", {}, "Σ^{-T}", G),
    # ---------------------------------------------------------------- ex. 8: the Lagrangian
    (f"{CH8} ex8 Lagrangian",
     r"\operatorname{tr}((X - A)^\mathsf{T}(X - A)) + \operatorname{tr}(\Lambda^\mathsf{T}(X - X^\mathsf{T}))",
     "X", {}, "2X - 2A + Λ - Λ^T", G),
    (f"{CH8} ex8 ||X - A||^2", r"||X - A||_F^2", "X", {}, "2 (X - A)", G),
    # ---------------------------------------------------------------- cheat sheet (001)
    ("001 ∇_x x^T a", "x^T a", "x", {}, "a", G),
    ("001 ∇_x x^T A x", "x^T A x", "x", {}, "(A + A^T)x", G),
    ("001 ∇_A x^T A y", "x^T A y", "A", {}, "x y^T", G),
    ("001 MSE 1/m", r"\frac{1}{m}(y - Xw)^T (y - Xw)", "w", {}, "-2/m X^T (y - X w)", G),
    ("001 MSE ŷ", "1/m (y - ŷ)ᵀ (y - ŷ)", "ŷ", {}, "-2/m (y - ŷ)", G),
    # ---------------------------------------------------------------- problem sheet (003), chain rule
    ("003 ex1 f(x,y) wrt x", "x^2 + xy + (x+y)^2", "x", {}, "2x + y + 2(x + y)", G),
    ("003 ex1 f(x,y) wrt y", "x^2 + xy + (x+y)^2", "y", {}, "x + 2(x + y)", G),
    ("003 ex1 with its left-hand side", "f(x,y) = x^2 + xy + (x+y)^2", "x", {}, "2x + y + 2(x + y)", G),
    ("003 ex3 sigmoid f(t)", r"\frac{e^t}{1+e^t}", "t", {}, "σ(t) (1 - σ(t))", G),
    ("003 ex4 ReLU max(0; t)", "max(0; t)", "t", {"scalar": "t"}, "step(t)", G),
    ("000 ch.5 tanh", r"\frac{2}{1+e^{-2t}} - 1", "t", {}, "1 - tanh(t)^2", G),
    ("000 ch.5 ReLU max(t, 0)", "max(t, 0)", "t", {"scalar": "t"}, "step(t)", G),
    ("000 ch.3 logloss'_β", r"-(y \ln \sigma(\beta x) + (1 - y) \ln(1 - \sigma(\beta x)))", r"\beta", {},
     "(σ(β x) - y) x", G),
    ("000 ch.4 graph (2x + y) z", "(2x + y) z", "z", {}, "2x + y", G),
    ("000 ch.5 ridge scalar (y - w·x)^2", "(y - w·x)^2", "w", {}, "-2 x (y - w x)", G),
    # ---------------------------------------------------------------- lecture (004)
    ("004 -log σ(y w^T x)", r"-\log \sigma(yw^T x)", "w", {"scalar": "y"}, "-y x (1 - σ(y wᵀx))", G),
    ("004 -log σ unicode", "-log σ(y wᵀx)", "w", {"scalar": "y"}, "-y (1 - σ(y wᵀx)) x", G),
    ("004 softmax cross-entropy", "-yᵀ log(softmax(z))", "z", {}, "sum(y) softmax(z) - y", G),
]


def _ids():
    ids = [c[0] for c in COURSE]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return ids


def _agree(result_expr, f, expected_expr, seed=0):
    exprs = [f, result_expr, expected_expr]
    rng = np.random.default_rng(seed)
    sizes, _ = sample_point(exprs, rng)
    for _ in range(2):
        env = sample_valid_point(exprs, sizes, rng)
        got, want = evaluate(result_expr, env, sizes), evaluate(expected_expr, env, sizes)
        assert got.shape == want.shape
        scale = max(float(np.max(np.abs(want))), 1e-8)
        assert float(np.max(np.abs(got - want))) / scale < 1e-8, (got, want)


@pytest.mark.parametrize("source, expr, wrt, decls, expected, what", COURSE, ids=_ids())
def test_course_exercise(source, expr, wrt, decls, expected, what):
    if what == "error":  # a notation matcalc cannot read gets a message naming the fix
        with pytest.raises(MatcalcError):
            matcalc.diff(expr, wrt, **decls)
        return
    if what == H:
        r = hessian(expr, wrt, matcalc.Decls.build(**decls))
        assert verify_hessian(r).passed
        if expected is not None:
            _agree(r.expr, r.f, parse_like(expected, _as_result(r)))
        return
    r = matcalc.diff(expr, wrt, **decls)
    assert verify(r).passed, f"{source}: {r}"
    if expected is not None:
        _agree(r.expr, r.f, parse_like(expected, r))


def _as_result(h):
    """A Result-like view of a Hessian, for parse_like (the answer has the Hessian's shape)."""
    from matcalc.api import Derivative, Result

    x = h.variables[h.wrt[0]] if hasattr(h, "variables") else None
    dv = Derivative(x, "gradient", h.expr, h.f)
    return Result(h.source, h.f, h.wrt, h.f, [dv])


# ---------------------------------------------------------------- problem sheet (003) ex. 4: one layer at a time
LAYERS = [
    # (part, layer, input, upstream, weights, output, downstream) as the sheet gives them
    ("б linear", "linear", [1, 2], [-1, 0], [[1, -1], [0.5, 0]], [2, -1], [-1, -0.5]),
    ("г ReLU", "ReLU", [2, -1], [-1, -2], None, [2, 0], [-1, 0]),
    ("е linear, scalar upstream", "linear", [2, 0], -2, [0.5, 1], 1, [-1, -2]),
    ("sigmoid σ", "σ", [0, 1], [1, 1], None, None, None),
]


@pytest.mark.parametrize("part, layer, x, g, w, out, down", LAYERS, ids=[c[0] for c in LAYERS])
def test_problem_sheet_layers(part, layer, x, g, w, out, down):
    from matcalc.schedule import layer_backward

    got_out, got_down, _ = layer_backward(layer, x, g, w)
    if out is not None:
        np.testing.assert_allclose(np.ravel(got_out), np.ravel(out))
        np.testing.assert_allclose(np.ravel(got_down), np.ravel(down))
    # downstream = Jᵀ upstream: central differences of <upstream, layer(x)>
    xs, gs = np.asarray(x, float), np.ravel(np.asarray(g, float))
    fd = []
    for i in range(xs.size):
        e = np.zeros_like(xs)
        e[i] = 1e-6
        plus = np.ravel(layer_backward(layer, xs + e, g, w)[0])
        minus = np.ravel(layer_backward(layer, xs - e, g, w)[0])
        fd.append(gs @ (plus - minus) / 2e-6)
    np.testing.assert_allclose(np.ravel(got_down), fd, atol=1e-6)


def test_layer_length_mismatch_is_a_clean_error():
    from click.testing import CliRunner

    from matcalc import cli

    for args in (["--layer", "relu", "--layer-input", "[2,-1]", "--upstream", "[-1,-2,3]"],
                 ["--layer", "linear", "--layer-input", "[2,0,1]", "--weights", "[0.5, 1]", "--upstream", "-2"]):
        r = CliRunner().invoke(cli.main, ["backprop", *args])
        assert r.exit_code == 2 and "entries" in r.output


# ---------------------------------------------------------------- the generic activation f (000 ch.4, 003 ex.2, 5)
ABSTRACT = [
    ("book network", "1/2 (y - f(f(X W_1) W_2) W_3)^T (y - f(f(X W_1) W_2) W_3)", "W_1", {"vector": "W_3"}),
    ("book network W_2", "1/2 (y - f(f(X W_1) W_2) W_3)^T (y - f(f(X W_1) W_2) W_3)", "W_2", {"vector": "W_3"}),
    ("003 ex5 y = f(X · W_2) · W_1", "(y - f(X · W_2) · W_1)^T (y - f(X · W_2) · W_1)", "W_2", {"vector": "W_1"}),
    ("cheat sheet h_1 = f_1(w_1 x)", "(y - f_2(w_2 f_1(w_1 x)))^2", "w_1", {"scalar": "w_1,w_2,x,y"}),
]
CONCRETE = {"f": "sin", "f'": "cos", "f_1": "sin", "f_1'": "cos", "f_2": "tanh"}


def _concrete(e):
    """f → sin, f' → cos, f_2 → tanh, f_2' → 1 - tanh²: the abstract answer made numeric."""
    from matcalc import expr as E
    from matcalc.walk import map_bottom_up

    def visit(n):
        if isinstance(n, E.Func) and n.name == "f_2'":
            return E.sub(E.ones_like(n.arg), E.power(E.func("tanh", n.arg), 2))
        if isinstance(n, E.Func) and n.name in CONCRETE:
            return E.func(CONCRETE[n.name], n.arg)
        return n

    return map_bottom_up(e, visit)


@pytest.mark.parametrize("source, expr, wrt, decls", ABSTRACT, ids=[c[0] for c in ABSTRACT])
def test_abstract_activation(source, expr, wrt, decls):
    r = matcalc.diff(expr, wrt, **decls)
    assert "f" in r.format("unicode") and "'" in r.format("unicode")  # the derivative shows f′
    concrete = expr.replace("f_2(", "tanh(").replace("f_1(", "sin(").replace("f(", "sin(")
    c = matcalc.diff(concrete, wrt, **decls)
    assert verify(c).passed
    _agree(_concrete(r.expr), c.f, c.expr)
    with pytest.raises(MatcalcError, match="which activation|say which"):
        verify(r)


def test_abstract_backprop_is_the_delta_recursion():
    from matcalc.schedule import backprop

    s = backprop("1/2 (y - f(f(X W_1) W_2) W_3)^T (y - f(f(X W_1) W_2) W_3)", "W_1,W_2,W_3", vector="W_3")
    text = s.format("unicode")
    assert "δ2 = (δ3 W3ᵀ) ⊙ f'(H2)" in text and "δ1 = (δ2 W2ᵀ) ⊙ f'(H1)" in text


@pytest.mark.parametrize("expr, words", [
    ("0,5 x^T x", "0.5"),
    ("sigmoid(0,5 x)", "0.5"),
    (r"\nabla_x x^T x", "wrt=x"),
    ("∇ x^T x", "wrt=x"),
    ("grad of x^T x", "wrt=x"),
    (r"\frac{\partial}{\partial x} x^T x", "wrt=x"),
    ("x^T x + x^n", "symbolic exponent is taken of scalars"),
    ("|x|", "||x||"),
])
def test_unsupported_spellings_name_the_fix(expr, words):
    with pytest.raises(MatcalcError) as err:
        matcalc.diff(expr, "x", vector="x")
    assert words in str(err.value)


def test_notes_say_which_kinds_were_chosen():
    r = matcalc.diff("-1/2 (x - μ)ᵀ Σ⁻¹ (x - μ)", "μ")
    assert any("μ is read as a vector" in n for n in r.notes)
    assert any("Σ is read as a matrix" in n for n in r.notes)
    r = matcalc.diff("(y - β)ᵀ (y - β)", "β", scalar="β")
    assert r.kind == "derivative" and any("adds the scalar" in n for n in r.notes)
    assert verify(r).passed
    r = matcalc.diff("-n/2 ln det Σ", "Σ")
    assert r.kind == "gradient" and any("n is read as a scalar" in n for n in r.notes)


def test_capital_F_called_is_the_courses_activation():
    """The course (001) writes the layer as F(W x): an elementwise function, with a note;
    declared a matrix, or used as one elsewhere, it is not read as a function in silence."""
    r = matcalc.diff("(y - F(W x))^T (y - F(W x))", "W")
    assert "F'" in str(r) and any("F(…)" in n for n in r.notes)
    # the same derivative as the lowercase abstract f
    lower = matcalc.diff("(y - f(W x))^T (y - f(W x))", "W")
    assert str(r).replace("F", "f") == str(lower)
    product = matcalc.diff("a^T F(x + y)", "x", matrix="F")  # declared: the product F (x + y)
    assert str(product) == "F^T a" and verify(product).passed
    with pytest.raises(MatcalcError, match="matrix=F"):
        matcalc.parse("F(W x) + F x")


@pytest.mark.parametrize("printed,plain", [
    ("‖Xw − y‖₂²", "(X w - y)^T (X w - y)"),
    ("‖w‖₁", "sum(abs(w))"),
])
def test_unicode_norm_subscripts(printed, plain):
    assert matcalc.parse(printed) == matcalc.parse(plain)
    r = matcalc.diff(printed, "w")
    assert verify(r).passed


@pytest.mark.parametrize("chain,plain,decls", [
    ("f(t) = \\tanh(t) = \\frac{2}{1+e^{-2t}} - 1", "tanh(t)", {"scalar": "t"}),
    ("f(t) = ReLU(t) = max(t, 0)", "relu(t)", {}),
])
def test_a_chain_of_equal_expressions_is_read_once(chain, plain, decls):
    """The course defines a function as a chain `f(t) = tanh(t) = …`: the parts read with one
    reading of the names, checked equal by numbers, the first differentiated."""
    r = matcalc.diff(chain, "t")
    assert str(r) == str(matcalc.diff(plain, "t", **decls)) and verify(r).passed
    assert any("chain" in n for n in r.notes)
    with pytest.raises(MatcalcError, match="not equal"):
        matcalc.diff("f(t) = tanh(t) = t", "t")


@pytest.mark.parametrize("written,plain,wrt,decls", [
    ("-(y ln p + (1 - y) ln(1 - p)), p = sigmoid(w x)", "-(y ln sigmoid(w x) + (1 - y) ln(1 - sigmoid(w x)))",
     "w", {"scalar": "y,w,x"}),
    ("-(y ln p + (1 - y) ln(1 - p)) where p = sigmoid(w^T x)",
     "-(y ln sigmoid(w^T x) + (1 - y) ln(1 - sigmoid(w^T x)))", "w", {"scalar": "y"}),
    ("\\|y - Xw\\|^2 \\rightarrow \\min_{w}", "(y - X w)^T (y - X w)", "w", {}),
    ("(y - Xw)^T (y - Xw) → min_w", "(y - X w)^T (y - X w)", "w", {}),
])
def test_definitions_after_the_loss_and_the_goal(written, plain, wrt, decls):
    """`…, p = σ(w x)` / `where p = …` (a definition after the loss) and `→ min_w` (the
    problem's goal), as the course prints them."""
    r = matcalc.diff(written, wrt, **decls)
    assert str(r) == str(matcalc.diff(plain, wrt, **decls)) and verify(r).passed
    assert r.notes


def test_a_greek_name_written_transposed_is_a_vector():
    """`\\alpha^T X A X \\alpha` (the course uses α as a vector there): αᵀ says vector, with a note;
    declared a scalar it is one."""
    r = matcalc.diff("\\alpha^T X A X \\alpha", "X")
    import re

    assert str(r) == re.sub(r"\ba\b", "alpha", str(matcalc.diff("a^T X A X a", "X"))) and verify(r).passed
    assert any("transposed" in n for n in r.notes)
    assert matcalc.parse("\\alpha^T X A X \\alpha", scalar="α").shape != (1, 1)
    assert matcalc.parse("λ w^T w").shape == (1, 1) and "lambda" in matcalc.parse("λ w^T w").symbols


# Readings probed adversarially (helper review of this stop's rules): each keeps its ordinary meaning.
@pytest.mark.parametrize("written,plain,wrt,decls", [
    ("sigma^2 (x + y)", "sigma^2 (x + y)", "x", {"scalar": "sigma,x,y"}),  # a variance, not sigmoid²
    ("\\sigma^2 (x - \\mu)^T (x - \\mu)", "sigma^2 (x - mu)^T (x - mu)", "x", {"scalar": "sigma"}),
    ("ln det X^T diag(w) X", "ln(det(X^T diag(w) X))", "w", {}),  # no split before a matrix-valued call
    ("tr A exp(B X)", "tr(A exp(B X))", "X", {}),
    ("sin x cos x", "sin(x) cos(x)", "x", {"scalar": "x"}),
    ("1/n Σ (y_i - w^T x_i)^2", "1/n sum_i (y_i - w^T x_i)^2", "w", {}),
    ("λ Σ (y_i - w^T x_i)^2", "λ sum_i (y_i - w^T x_i)^2", "w", {}),
    ("tr(Σ x_i x_i^T)", "tr(Sigma x_i x_i^T)", "Σ", {"matrix": "Σ"}),  # declared, written once: the matrix
    ("x^T A x, A = B^T B, B = C + D", "x^T (C + D)^T (C + D) x", "C", {}),
    ("sigmoid(z), where z = w^T x", "sigmoid(w^T x)", "w", {}),
])
def test_readings_keep_their_ordinary_meaning(written, plain, wrt, decls):
    r = matcalc.diff(written, wrt, **decls)
    assert str(r) == str(matcalc.diff(plain, wrt, **decls)) and verify(r).passed


def test_a_function_on_the_left_is_compared_not_dropped():
    with pytest.raises(MatcalcError, match="not equal"):
        matcalc.diff("sigmoid(x) = 1/(1 + exp(x))", "x", scalar="x")
    assert verify(matcalc.diff("sigmoid(x) = 1/(1 + exp(-x))", "x", scalar="x")).passed


@pytest.mark.parametrize("printed,plain,wrt,decls", [
    ("(y - Xw)^T (y - Xw) + \\lambda w^T w,", "(y - X w)^T (y - X w) + lambda w^T w", "w", {}),  # a comma
    ("x^T A x.", "x^T A x", "x", {}),  # the sentence's full stop
    ("\\nabla f = (A + A^T) x", "(A + A^T) x", "x", {}),  # a gradient given with its name
    ("\\frac{1}{1+\\exp(-y x)} \\cdot -y \\exp(-y x)", "-y exp(-y x) / (1 + exp(-y x))", "x", {"scalar": "x,y"}),
])
def test_printed_punctuation_and_names(printed, plain, wrt, decls):
    r = matcalc.diff(printed, wrt, **decls)
    assert verify(r).passed
    p = matcalc.diff(plain, wrt, **decls)
    sizes, env = sample_point([r.derivatives[0].expr, p.derivatives[0].expr], np.random.default_rng(1))
    np.testing.assert_allclose(evaluate(r.derivatives[0].expr, env, sizes), evaluate(p.derivatives[0].expr, env, sizes))


def test_words_in_russian_name_the_declaration():
    with pytest.raises(MatcalcError, match="scalar=x"):
        matcalc.parse("f(x) = x^2, где x скаляр")
