"""Random well-typed expressions, written as text, for property tests and the soak run.

Sizes: n and m are distinct symbolic sizes. Symbols by shape: X, A, B are n×n; W, C
are n×m; D is m×n; x, a, b have n entries; y, c have m; alpha and lambda are
scalars. The variables to differentiate are X, W, x and alpha.
"""
from __future__ import annotations

import random

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


def _mat(r, c):
    return ("m", r, c)


def _sym(shape, rnd):
    if shape in SYMBOLS:
        return rnd.choice(SYMBOLS[shape])
    if shape[0] == "m" and shape[1] == shape[2]:
        return rnd.choice(SYMBOLS[("m", "n", "n")]) if shape[1] == "n" else "D W"
    if shape[0] == "m":
        return None
    return None


class Gen:
    def __init__(self, seed: int, max_depth: int = 4):
        self.rnd = random.Random(seed)
        self.max_depth = max_depth

    def expr(self, shape, depth=0) -> str:
        rnd = self.rnd
        if depth >= self.max_depth or rnd.random() < 0.2:
            leaf = self.leaf(shape)
            if leaf is not None:
                return leaf
        kind = shape[0]
        body = getattr(self, "gen_" + {"s": "scalar", "v": "vector", "m": "matrix"}[kind])(shape, depth + 1)
        return body if depth == 0 else f"({body})"

    def leaf(self, shape):
        if shape == ("s",):
            return self.rnd.choice(SYMBOLS[("s",)] + ["2", "1/2", "3"])
        leaf = _sym(shape, self.rnd)
        return f"({leaf})" if leaf and " " in leaf else leaf

    def gen_scalar(self, shape, depth):
        rnd = self.rnd
        d = rnd.choice(DIMS)
        options = [
            lambda: f"tr({self.expr(_mat(d, d), depth)})",
            lambda: f"{self.expr(('v', d), depth)}^T {self.expr(('v', d), depth)}",
            lambda: f"{self.expr(('v', d), depth)}^T {self.expr(_mat(d, d), depth)} {self.expr(('v', d), depth)}",
            lambda: f"sum({self.expr(('v', d), depth)})",
            lambda: f"({self.expr(('s',), depth)}) ({self.expr(('s',), depth)})",
            lambda: f"{self.expr(('s',), depth)} + {self.expr(('s',), depth)}",
            lambda: f"({self.expr(('s',), depth)})^2",
            lambda: f"log(1 + exp({self.expr(('s',), depth)}))",
            lambda: f"ln det(I + {self.expr(('v', d), depth)} {self.expr(('v', d), depth)}^T)",
            lambda: f"tanh({self.expr(('s',), depth)})",
            lambda: f"||{self.expr(_mat(d, rnd.choice(DIMS)), depth)}||_F^2",
            lambda: f"sum(sigmoid({self.expr(('v', d), depth)}))",
            lambda: f"det({self.expr(_mat(d, d), depth)})",
            lambda: f"sqrt(1 + {self.expr(('v', d), depth)}^T {self.expr(('v', d), depth)})",
        ]
        return rnd.choice(options)()

    def gen_vector(self, shape, depth):
        rnd = self.rnd
        d = shape[1]
        e = rnd.choice(DIMS)
        options = [
            lambda: f"{self.expr(_mat(d, e), depth)} {self.expr(('v', e), depth)}",
            lambda: f"{self.expr(shape, depth)} + {self.expr(shape, depth)}",
            lambda: f"{self.expr(shape, depth)} - {self.expr(shape, depth)}",
            lambda: f"{self.expr(('s',), depth)} {self.expr(shape, depth)}",
            lambda: f"{self.expr(shape, depth)} .* {self.expr(shape, depth)}",
            lambda: f"sigmoid({self.expr(shape, depth)})",
            lambda: f"tanh({self.expr(shape, depth)})",
            lambda: f"exp(1/4 {self.expr(shape, depth)})",
            lambda: f"({self.expr(_mat(e, d), depth)})^T {self.expr(('v', e), depth)}",
            lambda: f"{self.expr(shape, depth)} ({self.expr(('v', e), depth)}^T {self.expr(('v', e), depth)})",
        ]
        return rnd.choice(options)()

    def gen_matrix(self, shape, depth):
        rnd = self.rnd
        _, r, c = shape
        k = rnd.choice(DIMS)
        options = [
            lambda: f"{self.expr(_mat(r, k), depth)} {self.expr(_mat(k, c), depth)}",
            lambda: f"{self.expr(shape, depth)} + {self.expr(shape, depth)}",
            lambda: f"({self.expr(_mat(c, r), depth)})^T",
            lambda: f"{self.expr(('s',), depth)} {self.expr(shape, depth)}",
            lambda: f"{self.expr(shape, depth)} .* {self.expr(shape, depth)}",
            lambda: f"{self.expr(('v', r), depth)} {self.expr(('v', c), depth)}^T",
            lambda: f"tanh({self.expr(shape, depth)})",
        ]
        if r == c:
            options += [
                lambda: f"inv(2 I + {self.expr(shape, depth)} {self.expr(shape, depth)}^T)",
                lambda: f"({self.expr(shape, depth)})^2",
                lambda: f"{self.expr(shape, depth)}^T",
            ]
        return rnd.choice(options)()


def random_case(seed: int, max_depth: int = 4):
    """(expression text, shape kind) for a random well-typed expression."""
    g = Gen(seed, max_depth)
    kind = g.rnd.choice(["s", "s", "s", "v", "m"])
    shape = {"s": ("s",), "v": ("v", "n"), "m": ("m", "n", "m")}[kind]
    return g.expr(shape)


DECLS = {"dim": ["X=n x n", "A=n x n", "B=n x n", "W=n x m", "C=n x m", "D=m x n", "x=n", "a=n", "b=n", "y=m", "c=m"]}
