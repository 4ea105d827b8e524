"""One Python expression in `np` and the variable names that evaluates an Expr.

Vectors are 1-D arrays (row and column vectors alike), matrices 2-D, scalars
0-d. So the printer tracks shapes: a column times a row is `np.outer`, everything
else that multiplies is `@`, and `.T` is only written on 2-D operands. Sizes of
I and of all-ones arrays come from the variables (`X.shape[0]`).
"""
from __future__ import annotations

import keyword
from fractions import Fraction

from .. import expr as E


def py_name(name: str) -> str:
    """A Python identifier for a symbol: `lambda` → `lambda_`, `W_{12}` → `W_12`."""
    n = name.replace("{", "").replace("}", "")
    return n + "_" if keyword.iskeyword(n) else n


def _ndim(shape) -> int:
    r, c = shape
    if r == 1 and c == 1:
        return 0
    if r == 1 or c == 1:
        return 1
    return 2


def _kind(shape) -> str:
    """'s' scalar, 'c' column, 'r' row, 'm' matrix."""
    r, c = shape
    if r == 1 and c == 1:
        return "s"
    if c == 1:
        return "c"
    if r == 1:
        return "r"
    return "m"


_FUNCS = {
    "exp": "np.exp({})", "log": "np.log({})", "tanh": "np.tanh({})", "abs": "np.abs({})",
    "sin": "np.sin({})", "cos": "np.cos({})", "relu": "np.maximum({}, 0)",
    "sigmoid": "(1 / (1 + np.exp(-({}))))", "softplus": "np.logaddexp(0, {})",
    "step": "np.heaviside({}, 0.0)", "sign": "np.sign({})",
}


class NumpyPrinter:
    def __init__(self, dim_sources: dict | None = None):
        self.dim_sources = dict(dim_sources or {})

    def learn_dims(self, e: E.Expr):
        """Remember, for each symbolic size, an expression such as `X.shape[0]` that gives it."""
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, E.Symbol):
                for axis, d in enumerate(n.shape):
                    if d != 1 and not isinstance(d, int) and d not in self.dim_sources:
                        var = py_name(("d" if n.diff else "") + n.name)
                        self.dim_sources[d] = f"{var}.shape[{axis if _ndim(n.shape) == 2 else 0}]"
            stack.extend(n.args)

    def dim(self, d) -> str:
        if isinstance(d, int):
            return str(d)
        if "*" in d and d not in self.dim_sources:  # n*m: the size of a vec or a ⊗
            a, b = d.split("*", 1)
            return f"({self.dim(int(a) if a.isdigit() else a)} * {self.dim(int(b) if b.isdigit() else b)})"
        # no variable has this size: the caller must define it under its own name
        return self.dim_sources.get(d, py_name(str(d)))

    def doprint(self, e: E.Expr) -> str:
        self.learn_dims(e)
        return self.p(e)

    def p(self, e: E.Expr) -> str:
        return getattr(self, "_print_" + type(e).__name__)(e)

    def _print_Symbol(self, e):
        return py_name(("d" if e.diff else "") + e.name)

    def _print_Const(self, e):
        v = e.value
        if isinstance(v, Fraction):
            return str(v.numerator) if v.denominator == 1 else f"({v.numerator}/{v.denominator})"
        return repr(v)

    def _print_Identity(self, e):
        return f"np.eye({self.dim(e.n)})"

    def _shape_str(self, shape):
        k = _kind(shape)
        if k == "s":
            return None
        if k in "cr":
            return f"({self.dim(shape[0] if k == 'c' else shape[1])},)"
        return f"({self.dim(shape[0])}, {self.dim(shape[1])})"

    def _print_Zero(self, e):
        s = self._shape_str(e.shape)
        return "0.0" if s is None else f"np.zeros({s})"

    def _print_Ones(self, e):
        s = self._shape_str(e.shape)
        return "1.0" if s is None else f"np.ones({s})"

    def _print_Add(self, e):
        return "(" + " + ".join(self.p(t) for t in e.terms) + ")"

    def _print_MatMul(self, e):
        scal = [self.p(f) for f in e.scalars]
        chain = e.chain
        body = None
        if chain:
            acc, acc_shape = self.p(chain[0]), chain[0].shape
            for f in chain[1:]:
                fs = self.p(f)
                if _kind(acc_shape) == "c" and _kind(f.shape) in "rm" and f.rows == 1:
                    acc = f"np.outer({acc}, {fs})"
                elif _kind(acc_shape) == "c" and _kind(f.shape) == "r":
                    acc = f"np.outer({acc}, {fs})"
                else:
                    acc = f"({acc} @ {fs})"
                acc_shape = (acc_shape[0], f.shape[1])
            body = acc
        parts = []
        if e.coeff != 1:
            parts.append(self._print_Const(E.Const(e.coeff)))
        parts.extend(scal)
        if body is not None:
            parts.append(body)
        return "(" + " * ".join(parts) + ")"

    def _print_Transpose(self, e):
        inner = self.p(e.arg)
        return f"{inner}.T" if _ndim(e.shape) == 2 else inner

    def _print_Inverse(self, e):
        return f"np.linalg.inv({self.p(e.arg)})"

    def _print_Trace(self, e):
        if e.arg.is_scalar:  # tr(s) = s, written out in a derivation step
            return self.p(e.arg)
        return f"np.trace({self.p(e.arg)})"

    def _print_Det(self, e):
        return f"np.linalg.det({self.p(e.arg)})"

    def _print_Sum(self, e):
        return f"np.sum({self.p(e.arg)})"

    def _print_Diag(self, e):
        return f"np.diag({self.p(e.arg)})"

    def _print_DiagPart(self, e):
        return f"np.diag({self.p(e.arg)})"

    def _print_Func(self, e):
        if e.name == "log" and isinstance(e.arg, E.Det):
            return f"np.linalg.slogdet({self.p(e.arg.arg)})[1]"
        return _FUNCS[e.name].format(self.p(e.arg))

    def _print_Power(self, e):
        base = self.p(e.base)
        if e.exponent == Fraction(1, 2):
            return f"np.sqrt({base})"
        return f"({base} ** {self._print_Const(E.Const(e.exponent))})"

    def _print_Hadamard(self, e):
        return "(" + " * ".join(self.p(f) for f in e.factors) + ")"

    def _print_Kron(self, e):
        return f"np.kron({self._as2d(e.left)}, {self._as2d(e.right)})"

    def _print_Softmax(self, e):
        u = self.p(e.arg)
        return f"(np.exp({u} - np.max({u})) / np.sum(np.exp({u} - np.max({u}))))"

    def _print_Vec(self, e):
        return f'{self.p(e.arg)}.reshape(-1, order="F")'

    def _print_Commutation(self, e):
        m, n = self.dim(e.m), self.dim(e.n)
        return f'np.eye({m} * {n})[np.arange({m} * {n}).reshape(({m}, {n}), order="F").ravel()]'

    def _as2d(self, e):
        k = _kind(e.shape)
        s = self.p(e)
        if k == "c":
            return f"{s}.reshape(-1, 1)"
        if k == "r":
            return f"{s}.reshape(1, -1)"
        return s


def to_numpy(e: E.Expr, dim_sources: dict | None = None, context=()) -> str:
    """NumPy source for e; the `context` expressions (f, the variable) supply sizes."""
    printer = NumpyPrinter(dim_sources)
    for c in context:
        printer.learn_dims(c)
    return printer.doprint(e)
