"""Output round trip: every answer of the Cookbook table, printed as text, unicode and
LaTeX, reads back as an expression of equal value.

The printed answer is parsed in the context of the problem (the same kinds and sizes,
`dX` allowed: `parse_in_context`), LaTeX through the LaTeX input path (`from_latex`),
and both the shown derivative and the parsed one are evaluated at a sampled point.
Equal value, not equal strings: the printers may choose any spelling the parser reads.
The derivatives themselves are checked against finite differences row by row in
test_cookbook.py (test_finite_differences); here only printing and parsing are on trial.
"""
from __future__ import annotations

from functools import cache

import pytest

import matcalc
from matcalc.latex_input import from_latex
from matcalc.printing.text import to_text
from printed import assert_same_value, read_back
from test_cookbook import CASES

NOTATIONS = ("text", "unicode", "latex")


@cache
def _result(expr: str, wrt: str, decls_key):
    return matcalc.diff(expr, wrt, **{k: v for k, v in decls_key})


def _key(decls: dict):
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in decls.items()))


def _shape(r, dv):
    return r.f.shape if dv.kind == "differential" else dv.expr.shape


def _params():
    return [pytest.param(expr, wrt, decls, notation, id=f"{source} [{notation}]")
            for source, expr, wrt, decls, _ in CASES for notation in NOTATIONS]


@pytest.mark.parametrize("expr, wrt, decls, notation", _params())
def test_printed_answer_reads_back_with_equal_value(expr, wrt, decls, notation):
    r = _result(expr, wrt, _key(decls))
    for dv in r.derivatives:
        printed = dv.notation(notation)
        back = read_back(printed, notation, r.f, r.wrt, _shape(r, dv))
        assert_same_value(dv.expr, back, [r.f], what=f"{notation} output {printed!r} of {expr} "
                                                     f"read back as {to_text(back)}")


# The spellings the printers use, each read as the notation it stands for.
@pytest.mark.parametrize("printed, plain, decls", [
    ("x∘²", "x .^ 2", {}),
    ("X∘⁻¹ᐟ²", "X .^ (-1/2)", {}),
    ("(xᵀ x)³ᐟ²", "(x^T x)^(3/2)", {}),
    ("alpha⁻²", "alpha^-2", {"scalar": "alpha"}),
    ("X⁻¹ + X¹⁰", "inv(X) + X^10", {}),
    ("‖x∘²‖", "||x .^ 2||", {}),
    ("√(xᵀ x) + √alpha", "sqrt(x^T x) + sqrt(alpha)", {"scalar": "alpha"}),
    ("x ⊘ y", "x ./ y", {}),
    (r"x^{\circ 2} \oslash y", "x .^ 2 ./ y", {}),
    (r"X^{\circ -1/2}", "X .^ (-1/2)", {}),
    (r"\exp.\left(X\right) + \ln.\left(X\right)", "exp.(X) + log.(X)", {"dim": ["X=n"]}),
    (r"X^\top \mathbf{1}_{n}", "X^T ones(n)", {"dim": ["X=n x m"]}),
    (r"\mathbf{1}_{n \times m} + X", "ones(n, m) + X", {"dim": ["X=n x m"]}),
    (r"W_{1} x + \delta_{2}", "W1 x + delta2", {"vector": "delta2"}),
])
def test_printed_notation_reads_as_meant(printed, plain, decls):
    from matcalc.simplify import equal

    text = from_latex(printed) if "\\" in printed else printed
    assert equal(matcalc.parse(text, **decls), matcalc.parse(plain, **decls))


def test_non_ascii_digits_are_not_numbers():
    """`𝟙` (a double-struck one) used to be read as the number 1; it is the ones vector."""
    got = matcalc.parse("x^T 𝟙")
    assert got == matcalc.parse("x^T ones(n)") and got.shape == (1, 1)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_a_zero_answer_reads_back_as_the_zero_array(notation):
    """`0` printed for a zero gradient is the zero array where an array is asked for
    (found by the property tests: `sum(x - 2 (x + a) + x)` wrt x)."""
    from matcalc.verification import verify

    r = matcalc.diff("sum(x - 2 (x + a) + x)", "x")
    assert verify(r).passed
    dv = r.derivatives[0]
    printed = dv.notation(notation)
    assert printed == "0"
    back = read_back(printed, notation, r.f, r.wrt, _shape(r, dv))
    assert back.shape == dv.expr.shape
    assert_same_value(dv.expr, back, [r.f])
