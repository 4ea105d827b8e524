"""One Python expression in `np` and the variable names that evaluates an Expr.

Vectors are 1-D arrays (row and column vectors alike), matrices 2-D, scalars
0-d. So the printer tracks shapes: a column times a row is an outer product,
everything else that multiplies is `@`, and `.T` is only written on 2-D operands.
Products are ordered by cost: a chain that ends in a vector is applied right to
left as matrix–vector products, an outer product `a bᵀ M` is formed only from the
two vectors `a` and `bᵀ M`, `A⁻¹ B` is `solve(A, B)`, longer matrix chains use
`multi_dot` (which picks the order from the sizes). Sizes of I and of all-ones
arrays come from the variables (`X.shape[0]`).

The same printer writes PyTorch and JAX code: the namespace changes, and a few
calls that differ are methods (`eye`, `ones`, `maximum`, …).
"""
from __future__ import annotations

import keyword
from fractions import Fraction

from .. import expr as E
from .. import functions
from ..decls import GREEK_LETTER_NAMES
from ..simplify import stable_form


def py_name(name: str) -> str:
    """A Python identifier for a symbol, built by matcalc from the name's letters, never the
    user's text verbatim: `lambda` → `lambda_`, `W_{12}` → `W_12`, `δ` → `delta`; any other
    character becomes `_` (so the result is always an ASCII identifier, never a keyword;
    code_generation.py makes the identifiers of one module distinct)."""
    out = []
    for c in str(name):
        if c in "{}":
            continue
        if c in GREEK_LETTER_NAMES:
            out.append(GREEK_LETTER_NAMES[c])
        elif c.isascii() and (c.isalnum() or c == "_"):
            out.append(c)
        elif not out or out[-1] != "_":
            out.append("_")
    n = "".join(out) or "_"
    if n[0].isdigit():
        n = "_" + n
    return n + "_" if keyword.iskeyword(n) or keyword.issoftkeyword(n) else n


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


class NumpyPrinter:
    ns = "np"

    def __init__(self, dim_sources: dict | None = None, temps: dict | None = None,
                 names: dict | None = None, like: str | None = None):
        self.dim_sources = dict(dim_sources or {})
        self.temps = temps if temps is not None else {}  # Expr → name of a computed value
        self.names = names if names is not None else {}  # symbol name → Python identifier
        # an input array whose dtype and device the constants (I, ones, zeros) follow
        self.like = like

    def ident(self, name: str) -> str:
        """The Python identifier of a symbol (code_generation.py chooses unique ones)."""
        return self.names.get(name) or py_name(name)

    # -- the calls that differ between backends
    def eye(self, n: str) -> str:
        return f"{self.ns}.eye({n})"

    def ones(self, shape: str) -> str:
        return f"{self.ns}.ones({shape})"

    def zeros(self, shape: str) -> str:
        return f"{self.ns}.zeros({shape})"

    def arange(self, n: str) -> str:
        return f"{self.ns}.arange({n})"

    def rowmax(self, u: str) -> str:
        return f"{u}.max(axis=1, keepdims=True)"

    def rowsum(self, u: str) -> str:
        return f"{u}.sum(axis=1, keepdims=True)"

    def function(self, name: str, u: str) -> str:
        """f(u) in this backend, from the function's record."""
        return functions.get(name, "code").source(self.ns, u)

    # -- sizes
    def learn_dims(self, e: E.Expr):
        """Remember, for each symbolic size, an expression such as `X.shape[0]` that gives it."""
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, E.Symbol):
                for axis, d in enumerate(n.shape):
                    if d != 1 and not isinstance(d, int) and d not in self.dim_sources:
                        var = self.ident(("d" if n.diff else "") + n.name)
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
        name = self.temps.get(e)
        if name is not None:
            return name
        method = getattr(self, "_print_" + type(e).__name__, None)
        if method is None:
            raise functions.MissingEntry(f"no {self.ns} code for {type(e).__name__}")
        return method(e)

    # -- leaves
    def _print_Symbol(self, e):
        return self.ident(("d" if e.diff else "") + e.name)

    def _print_Const(self, e):
        v = e.value
        if isinstance(v, Fraction):
            return str(v.numerator) if v.denominator == 1 else f"({v.numerator}/{v.denominator})"
        return repr(v)

    # -- sums over observations: a loop over the rows of the data (vectorise.py gives the
    # matrix form, which the code generator prefers)
    def _print_SumOver(self, e):
        if e.is_count:
            return self.dim(e.n)
        i = py_name(e.index)
        return f"sum(({self.p(e.body)} for {i} in range({self.dim(e.n)})), start=0.0)"

    def _print_Indexed(self, e):
        return f"{self.p(e.data)}[{py_name(e.index)}]"

    def _print_Identity(self, e):
        return self.eye(self.dim(e.n))

    def _shape_str(self, shape):
        k = _kind(shape)
        if k == "s":
            return None
        if k in "cr":
            return f"({self.dim(shape[0] if k == 'c' else shape[1])},)"
        return f"({self.dim(shape[0])}, {self.dim(shape[1])})"

    def _print_Zero(self, e):
        s = self._shape_str(e.shape)
        return "0.0" if s is None else self.zeros(s)

    def _print_Ones(self, e):
        s = self._shape_str(e.shape)
        return "1.0" if s is None else self.ones(s)

    def _print_Commutation(self, e):
        m, n = self.dim(e.m), self.dim(e.n)
        # row i*n + j of K holds its 1 in column i + j*m
        return f"{self.eye(f'{m} * {n}')}[{self.arange(f'{m} * {n}')}.reshape(({n}, {m})).T.reshape(-1)]"

    # -- sums and products
    def _print_Add(self, e):
        out = self.p(e.terms[0])
        for t in e.terms[1:]:
            if isinstance(t, E.MatMul) and t.coeff < 0 and t not in self.temps:
                out += f" - {self.p(E.neg(t))}"
            else:
                out += f" + {self.p(t)}"
        return f"({out})"

    def _chain(self, chain) -> str:
        """A product of non-scalar factors, in a cheap order."""
        if len(chain) == 1:
            return self.p(chain[0])
        for k in range(1, len(chain)):  # a column times a row: an outer product of two vectors
            if _kind(chain[k - 1].shape) == "c" and chain[k].rows == 1:
                return f"{self.ns}.outer({self._chain(chain[:k])}, {self._chain(chain[k:])})"
        if chain[-1].cols == 1:  # … M v: matrix–vector products, right to left
            acc = self.p(chain[-1])
            for f in reversed(chain[:-1]):
                acc = self._apply_left(f, acc)
            return acc
        if chain[0].rows == 1:  # vᵀ M …: vector–matrix products, left to right
            acc = self.p(chain[0])
            for f in chain[1:]:
                acc = self._apply_right(acc, f)
            return acc
        diags = [i for i, f in enumerate(chain) if isinstance(f, E.Diag)]
        if diags:  # M diag(v) N = (M * v) @ N: a diagonal scales, it is never built
            i = diags[0]
            v = self.p(chain[i].arg)
            left = self._chain(chain[:i]) if i else None
            right = self._chain(chain[i + 1 :]) if i + 1 < len(chain) else None
            if left is not None and right is not None:
                if len(left) <= len(right):
                    return f"(({left} * {v}) @ {right})"
                return f"({left} @ ({v}[:, None] * {right}))"
            if left is not None:
                return f"({left} * {v})"
            return f"({v}[:, None] * {right})"
        if isinstance(chain[0], E.Inverse):  # A⁻¹ B … = solve(A, B …)
            return f"{self.ns}.linalg.solve({self.p(chain[0].arg)}, {self._chain(chain[1:])})"
        if len(chain) >= 3:
            return f"{self.ns}.linalg.multi_dot([{', '.join(self.p(f) for f in chain)}])"
        return f"({self.p(chain[0])} @ {self.p(chain[1])})"

    def _apply_left(self, f: E.Expr, acc: str) -> str:
        if isinstance(f, E.Diag) and f not in self.temps:  # diag(v) u = v * u
            return f"({self.p(f.arg)} * {acc})"
        if isinstance(f, E.Inverse) and f not in self.temps:
            return f"{self.ns}.linalg.solve({self.p(f.arg)}, {acc})"
        return f"({self.p(f)} @ {acc})"

    def _apply_right(self, acc: str, f: E.Expr) -> str:
        if isinstance(f, E.Diag) and f not in self.temps:
            return f"({acc} * {self.p(f.arg)})"
        if isinstance(f, E.Inverse) and f not in self.temps:  # r A⁻¹ = solve(Aᵀ, r) for a 1-D r
            return f"{self.ns}.linalg.solve({self._transposed(f.arg)}, {acc})"
        return f"({acc} @ {self.p(f)})"

    def _transposed(self, a: E.Expr) -> str:
        if isinstance(a, E.Transpose):
            return self.p(a.arg)
        return f"{self.p(a)}.T"

    def _print_MatMul(self, e):
        parts = []
        if e.coeff == -1 and (e.scalars or e.chain):
            return f"(-{self.p(E.neg(e))})"
        if e.coeff != 1:
            parts.append(self._print_Const(E.Const(e.coeff)))
        parts.extend(self.p(f) for f in e.scalars)
        if e.chain:
            parts.append(self._chain(list(e.chain)))
        return "(" + " * ".join(parts) + ")"

    def _print_Transpose(self, e):
        inner = self.p(e.arg)
        return f"{inner}.T" if _ndim(e.shape) == 2 else inner

    def _print_Inverse(self, e):
        return f"{self.ns}.linalg.inv({self.p(e.arg)})"

    def _print_Trace(self, e):
        a = e.arg
        if a.is_scalar:  # tr(s) = s, written out in a derivation step
            return self.p(a)
        if isinstance(a, E.MatMul) and a.coeff == 1 and not a.scalars and len(a.chain) >= 2 \
                and a not in self.temps:
            # tr(P Q) = sum(P ⊙ Qᵀ): no product matrix is formed
            first, rest = a.chain[0], E.mul(*a.chain[1:])
            return f"{self.ns}.sum({self.p(first)} * {self._transposed(rest)})"
        return f"{self.ns}.trace({self.p(a)})"

    def _print_Det(self, e):
        return f"{self.ns}.linalg.det({self.p(e.arg)})"

    def _print_Sum(self, e):
        return f"{self.ns}.sum({self.p(e.arg)})"

    def _print_Diag(self, e):
        return f"{self.ns}.diag({self.p(e.arg)})"

    def _print_DiagPart(self, e):
        return f"{self.ns}.diag({self.p(e.arg)})"

    def _print_Func(self, e):
        if e.name == "log" and isinstance(e.arg, E.Softmax):  # log-softmax: the maxima shifted out
            u = self.p(e.arg.arg)
            if _ndim(e.shape) < 2:
                z = f"({u} - {self.ns}.max({u}))"
                return f"({z} - {self.ns}.log({self.ns}.sum({self.ns}.exp({z}))))"
            z = f"({u} - {self.rowmax(u)})"
            return f"({z} - {self.ns}.log({self.rowsum(f'{self.ns}.exp({z})')}))"
        stable = stable_form(e)  # ln σ(u) = −softplus(−u), … (simplify.STABLE_RULES)
        if stable is not None:
            return self.p(stable)
        if e.name == "log" and isinstance(e.arg, E.Det):
            return f"{self.ns}.linalg.slogdet({self.p(e.arg.arg)})[1]"
        if e.name == "log" and isinstance(e.arg, E.Add) and len(e.arg.terms) == 2:
            one, ex = e.arg.terms  # log(1 + exp(u)) without overflow
            if isinstance(one, (E.Func,)) and not isinstance(ex, E.Func):
                one, ex = ex, one
            if ((isinstance(one, E.Const) and one.value == 1) or isinstance(one, E.Ones)) and \
                    isinstance(ex, E.Func) and ex.name == "exp":
                return self.function("softplus", self.p(ex.arg))
        return self.function(e.name, self.p(e.arg))

    def _print_Power(self, e):
        base = self.p(e.base)
        if e.exponent == Fraction(1, 2):
            return f"{self.ns}.sqrt({base})"
        return f"({base} ** {self._print_Const(E.Const(e.exponent))})"

    def _print_Hadamard(self, e):
        return "(" + " * ".join(self.p(f) for f in e.factors) + ")"

    def _print_Softmax(self, e):
        u, ns = self.p(e.arg), self.ns
        if _ndim(e.shape) < 2:  # a vector (1-D): over its entries
            return f"({ns}.exp({u} - {ns}.max({u})) / {ns}.sum({ns}.exp({u} - {ns}.max({u}))))"
        z = f"{ns}.exp({u} - {self.rowmax(u)})"  # each row of a batch
        return f"({z} / {self.rowsum(z)})"

    def correlate(self, x: str, k: str) -> str:
        return f"{self.ns}.correlate({x}, {k}, 'valid')"

    def convolve(self, w: str, k: str) -> str:
        return f"{self.ns}.convolve({w}, {k}, 'full')"

    def _print_Conv(self, e):
        return self.correlate(self.p(e.signal), self.p(e.kernel))

    def _print_ConvT(self, e):
        return self.convolve(self.p(e.signal), self.p(e.kernel))

    def _print_LogSumExp(self, e):
        u = self.p(e.arg)
        return f"({self.ns}.max({u}) + {self.ns}.log({self.ns}.sum({self.ns}.exp({u} - {self.ns}.max({u})))))"

    def _print_Vec(self, e):
        return f"{self._transposed(e.arg)}.reshape(-1)"  # column-major: the columns stacked

    def _print_Kron(self, e):
        out = f"{self.ns}.kron({self._as2d(e.left)}, {self._as2d(e.right)})"
        # np.kron of 2-D operands is 2-D; a vector result is 1-D like every other vector here
        return f"{out}.reshape(-1)" if _kind(e.shape) in "cr" else out

    def _as2d(self, e):
        k = _kind(e.shape)
        s = self.p(e)
        if k == "c":
            return f"{s}.reshape(-1, 1)"
        if k == "r":
            return f"{s}.reshape(1, -1)"
        return s


class JaxPrinter(NumpyPrinter):
    """JAX: constants take the dtype of an input array (float32 stays float32 with x64 on)."""

    ns = "jnp"

    def _dtype(self):
        return f", dtype={self.like}.dtype" if self.like else ""

    def eye(self, n):
        return f"jnp.eye({n}{self._dtype()})"

    def ones(self, shape):
        return f"jnp.ones({shape}{self._dtype()})"

    def zeros(self, shape):
        return f"jnp.zeros({shape}{self._dtype()})"


class TorchPrinter(NumpyPrinter):
    """PyTorch: constants on the dtype and device of an input tensor (`x.new_ones`), never a
    hard-coded dtype; and the few calls whose names differ from NumPy's."""

    ns = "torch"

    def _like(self):
        return f", dtype={self.like}.dtype, device={self.like}.device" if self.like else ""

    def eye(self, n):
        return f"torch.eye({n}{self._like()})"

    def correlate(self, x, k):
        return f"torch.nn.functional.conv1d({x}.view(1, 1, -1), {k}.view(1, 1, -1)).view(-1)"

    def convolve(self, w, k):
        return f"torch.nn.functional.conv_transpose1d({w}.view(1, 1, -1), {k}.view(1, 1, -1)).view(-1)"

    def ones(self, shape):
        return f"{self.like}.new_ones({shape})" if self.like else f"torch.ones({shape})"

    def zeros(self, shape):
        return f"{self.like}.new_zeros({shape})" if self.like else f"torch.zeros({shape})"

    def arange(self, n):
        return f"torch.arange({n}, device={self.like}.device)" if self.like else f"torch.arange({n})"

    def rowmax(self, u):
        return f"torch.amax({u}, dim=1, keepdim=True)"

    def rowsum(self, u):
        return f"torch.sum({u}, dim=1, keepdim=True)"


PRINTERS = {"numpy": NumpyPrinter, "jax": JaxPrinter, "torch": TorchPrinter}


def to_numpy(e: E.Expr, dim_sources: dict | None = None, context=()) -> str:
    """NumPy source for e; the `context` expressions (f, the variable) supply sizes."""
    printer = NumpyPrinter(dim_sources)
    for c in context:
        printer.learn_dims(c)
    return printer.doprint(e)
