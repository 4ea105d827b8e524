"""The notations of issue 2: each input parses to the expression a student means."""
import pytest

import matcalc
from matcalc import ParseError, ShapeError
from matcalc.simplify import equal


def same(a: str, b: str, **decls) -> bool:
    return equal(matcalc.parse(a, **decls), matcalc.parse(b, **decls))


@pytest.mark.parametrize("written,meant", [
    ("Xw", "X w"),
    ("xx^Tx", "x x^T x"),
    ("x'*A*x", "x^T A x"),
    ("x^{T} A x", "x^T A x"),
    ("xᵀAx", "x^T A x"),
    ("X⁻¹", "X^-1"),
    ("X^{-1}", "inv(X)"),
    ("X^-T", "(X^-1)^T"),
    ("X^{-T}", "(X^T)^-1"),
    ("X⁻ᵀ", "X^-T"),
    ("ln det X", "log(det(X))"),
    ("logdet(X)", "ln(det(X))"),
    ("tr A X B", "tr(A X B)"),
    ("det X^T A X", "det(X^T A X)"),
    ("tr A X + tr B", "tr(A X) + tr(B)"),
    ("x^T x I", "(x^T x) I"),
    ("||x||^2", "x^T x"),
    ("||X||_F^2", "tr(X^T X)"),
    ("norm2(x)^2", "x^T x"),
    ("‖x‖²", "x^T x"),
    ("x ⊙ y", "x .* y"),
    ("x ∘ y", "x .* y"),
    ("x ./ y", "x .* y.^-1"),
    ("1/2 x^T x", "x^T x / 2"),
    ("-n/2 ln det S", "-(n ln det S)/2"),
    ("X^2", "X X"),
    ("X^-2", "X^-1 X^-1"),
    ("(x^T A x)^3", "(x^T A x) (x^T A x) (x^T A x)"),
    ("sigma(x)", "sigmoid(x)"),
    ("W1 x + W_2 x", "W_2 x + W1 x"),
    ("x_i^T x_i", "||x_i||^2"),
    ("eye x", "I x"),
    ("2 lambda w", "lambda (2 w)"),
    ("λ w", "lambda w"),
    ("1 + exp(x)", "exp(x) + 1"),
    ("sqrt(x^T x)", "(x^T x)^(1/2)"),
])
def test_notation(written, meant):
    assert same(written, meant, scalar="n")


def test_names_with_digits_and_subscripts_are_one_symbol():
    assert matcalc.parse("W1").symbols == {"W1"}
    assert matcalc.parse("W_2").symbols == {"W2"} == matcalc.parse("W_{2}").symbols  # one name, as the course writes it
    assert matcalc.parse("x_i").shape[1] == 1


def test_declarations_override_conventions():
    assert matcalc.parse("x", scalar="x").shape == (1, 1)
    assert matcalc.parse("A", vector="A").shape[1] == 1
    assert matcalc.parse("X", dim="X=3x4").shape == (3, 4)
    assert matcalc.parse("X", dim="X=n x m").shape == ("n", "m")
    assert matcalc.parse("X w", dim=["X=3x4"]).shape == (3, 1)
    assert matcalc.parse("ab", vector="ab").symbols == {"ab"}


def test_sizes_are_unified_across_the_expression():
    e = matcalc.parse("x^T A x + b^T x")
    a = [s for s in _symbols(e) if s.name == "A"][0]
    b = [s for s in _symbols(e) if s.name == "b"][0]
    assert a.shape[0] == a.shape[1] == b.shape[0]


def _symbols(e):
    from matcalc.reading import symbols_of

    return symbols_of(e).values()


@pytest.mark.parametrize("text,words", [
    ("tr(A X", ["missing ')'", "^"]),
    ("x^T A x)", ["unexpected", "')'", "^"]),
    ("x + * y", ["unexpected", "^"]),
    ("sigmod(x)", ["unknown function", "sigmoid"]),
    ("", ["empty"]),
    ("x $ y", ["unexpected character", "^"]),
])
def test_syntax_errors_are_clear(text, words):
    with pytest.raises(ParseError) as err:
        matcalc.parse(text)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("text,decls,words", [
    ("A x y", {}, ["shape mismatch", "`A x`", "`y`"]),
    ("X w + y", {"dim": "X=3x4,y=5"}, ["shape mismatch", "3×1", "5×1"]),
    ("det(X)", {"dim": "X=3x4"}, ["determinant", "square", "3×4"]),
    ("tr(X)", {"dim": "X=3x4"}, ["trace", "square"]),
    ("inv(X)", {"dim": "X=2x3"}, ["inverse", "square"]),
    ("A x / x^T", {}, ["division", "not a scalar"]),
    ("lambda + X", {}, ["cannot add the scalar", "lambda ones"]),
])
def test_shape_errors_name_both_sides(text, decls, words):
    with pytest.raises(ShapeError) as err:
        matcalc.parse(text, **decls)
    for w in words:
        assert w in str(err.value)


def test_deep_nesting_and_long_products_do_not_overflow():
    assert matcalc.parse("(" * 300 + "x" + ")" * 300).symbols == {"x"}
    long = " ".join(f"A{i}" for i in range(500))
    assert len(matcalc.parse(long).factors) == 500
    nested = "exp(" * 200 + "x" + ")" * 200
    assert matcalc.parse(nested, scalar="x").shape == (1, 1)
