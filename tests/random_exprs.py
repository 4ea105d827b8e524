"""Random well-typed expressions, written as text, for property tests and the soak run.

Sizes: n and m are distinct symbolic sizes. Symbols by shape: X, A, B are n×n; W, C
are n×m; D is m×n; x, a, b have n entries; y, c have m; alpha and lambda are
scalars. The variables to differentiate are X, W, x and alpha, and every generated
expression contains the one it was built for.

One generator, two sources of choices: `cases()` is a hypothesis strategy (every
choice is a draw, so a failing case shrinks: towards leaves, the first option of each
table and the shortest way to place the variable), and `random_case(seed)` makes the
same kind of expression from a seeded random.Random for scripts/soak.py.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import strategies as st

SYMBOLS = {
    ("m", "n", "n"): ["X", "A", "B"],
    ("m", "n", "m"): ["W", "C"],
    ("m", "m", "n"): ["D"],
    ("v", "n"): ["x", "a", "b"],
    ("v", "m"): ["y", "c"],
    ("s",): ["alpha", "lambda"],
}
VARIABLES = ["X", "W", "x", "alpha"]
DIMS = ["n", "m"]
SCALAR = ("s",)
# each variable as a scalar, the shortest way: it reaches any shape as `(s) leaf`
_AS_SCALAR = {"X": "tr(X)", "W": "(a^T W c)", "x": "(a^T x)", "alpha": "alpha"}
_SHAPE_OF = {"X": ("m", "n", "n"), "W": ("m", "n", "m"), "x": ("v", "n"), "alpha": SCALAR}


def _mat(r, c):
    return ("m", r, c)


def _vec(d):
    return ("v", d)


def _leaves(shape):
    """The symbols of a shape (a product of two for the m×m matrices)."""
    if shape == SCALAR:
        return SYMBOLS[SCALAR] + ["2", "1/2", "3"]
    if shape in SYMBOLS:
        return SYMBOLS[shape]
    return ["(D W)", "(D X W)"]  # m×m


# Each option: (template, child shapes). The children fill {0}, {1}, … in order.
def _scalar_options(d, e):
    return [
        ("tr({0})", [_mat(d, d)]),
        ("{0}^T {1}", [_vec(d), _vec(d)]),
        ("sum({0})", [_vec(d)]),
        ("{0} + {1}", [SCALAR, SCALAR]),
        ("{0} {1}", [SCALAR, SCALAR]),
        ("{0}^T {1} {2}", [_vec(d), _mat(d, d), _vec(d)]),
        ("({0})^2", [SCALAR]),
        ("log(1 + exp({0}))", [SCALAR]),
        ("ln det(I + {0} {1}^T)", [_vec(d), _vec(d)]),
        ("tanh({0})", [SCALAR]),
        ("||{0}||_F^2", [_mat(d, e)]),
        ("sum(sigmoid({0}))", [_vec(d)]),
        ("det({0})", [_mat(d, d)]),
        ("sqrt(1 + {0}^T {1})", [_vec(d), _vec(d)]),
    ]


def _vector_options(shape, e):
    d = shape[1]
    return [
        ("{0} {1}", [_mat(d, e), _vec(e)]),
        ("{0} + {1}", [shape, shape]),
        ("{0} - 2 {1}", [shape, shape]),  # not `{0} - {1}`: `y - y` folds to 0
        ("{0} {1}", [SCALAR, shape]),
        ("{0} .* {1}", [shape, shape]),
        ("sigmoid({0})", [shape]),
        ("tanh({0})", [shape]),
        ("exp(1/4 {0})", [shape]),
        ("({0})^T {1}", [_mat(e, d), _vec(e)]),
        ("{0} ({1}^T {2})", [shape, _vec(e), _vec(e)]),
    ]


def _matrix_options(shape, k):
    _, r, c = shape
    options = [
        ("{0} {1}", [_mat(r, k), _mat(k, c)]),
        ("{0} + {1}", [shape, shape]),
        ("({0})^T", [_mat(c, r)]),
        ("{0} {1}", [SCALAR, shape]),
        ("{0} .* {1}", [shape, shape]),
        ("{0} {1}^T", [_vec(r), _vec(c)]),
        ("tanh({0})", [shape]),
    ]
    if r == c:
        options += [
            ("inv(2 I + {0} {1}^T)", [shape, shape]),
            ("({0})^2", [shape]),
            ("{0}^T", [shape]),
        ]
    return options


class _Builder:
    """Builds expression text from a source of choices: `pick(n)` returns 0 ≤ i < n."""

    def __init__(self, pick, max_depth: int = 4):
        self.pick, self.max_depth = pick, max_depth

    def choose(self, seq):
        return seq[self.pick(len(seq))]

    def expr(self, shape, need=None, depth=0) -> str:
        """Text of the given shape; it contains the variable `need` unless that is None."""
        # 0 → a leaf: shrinking goes towards leaves; otherwise a leaf one time in five
        if depth >= self.max_depth or self.pick(5) == 0:
            return self.leaf(shape, need)
        kind = shape[0]
        if kind == "s":
            options = _scalar_options(self.choose(DIMS), self.choose(DIMS))
        elif kind == "v":
            options = _vector_options(shape, self.choose(DIMS))
        else:
            options = _matrix_options(shape, self.choose(DIMS))
        template, kids = self.choose(options)
        carrier = self.pick(len(kids)) if need else -1  # the child that holds the variable
        parts = [self.expr(s, need if i == carrier else None, depth + 1) for i, s in enumerate(kids)]
        body = template.format(*parts)
        return body if depth == 0 else f"({body})"

    def leaf(self, shape, need) -> str:
        if need is None:
            return self.choose(_leaves(shape))
        if _SHAPE_OF[need] == shape:
            return need
        if shape == SCALAR:
            return _AS_SCALAR[need]
        return f"({_AS_SCALAR[need]} {self.choose(_leaves(shape))})"


_KINDS = {"s": SCALAR, "v": _vec("n"), "m": _mat("n", "m")}


@dataclass(frozen=True)
class Case:
    text: str  # the expression
    wrt: str  # the variable it was built to contain


def _case(pick, max_depth: int) -> Case:
    b = _Builder(pick, max_depth)
    wrt = b.choose(VARIABLES)
    shape = _KINDS[b.choose(["s", "s", "s", "v", "m"])]
    return Case(b.expr(shape, need=wrt), wrt)


def _keeps_its_variable(case: Case) -> bool:
    """False for the rare case whose variable is folded away (`(y + y - 2 y) f(x)` is 0)."""
    import matcalc

    return case.wrt in matcalc.parse(case.text, **DECLS).symbols


@st.composite
def _drawn_cases(draw, max_depth: int) -> Case:
    return _case(lambda n: draw(st.integers(min_value=0, max_value=n - 1)), max_depth)


def cases(max_depth: int = 4):
    """A hypothesis strategy of Case: a random well-typed expression and its variable."""
    return _drawn_cases(max_depth).filter(_keeps_its_variable)


def random_case(seed: int, max_depth: int = 4) -> str:
    """The text of a random well-typed expression from a seed (for scripts/soak.py)."""
    rnd = random.Random(seed)
    while True:
        case = _case(rnd.randrange, max_depth)
        if _keeps_its_variable(case):
            return case.text


DECLS = {"dim": ["X=n x n", "A=n x n", "B=n x n", "W=n x m", "C=n x m", "D=m x n", "x=n", "a=n", "b=n", "y=m", "c=m"]}
