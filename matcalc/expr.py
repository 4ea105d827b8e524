"""The expression tree: immutable nodes that know their shape.

Only construction lives here. The constructor functions (`add`, `mul`, `transpose`,
...) validate shapes and fold the trivial cases (`X + 0`, `1 X`, `(Xᵀ)ᵀ`, `I X`,
scalar factors of a product moved to the front), so no later stage has to clean
up after another. Rewriting to a normal form is simplify.py's job.

A dimension is an int or a symbolic name (str). Scalars are 1×1. Every node has a
cached string `key` that identifies it; equality and hashing use it, and sorting
by it gives the deterministic order of commutative operands.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from .errors import NotSquare, ResultTooLarge, ShapeError

Dim = Union[int, str]
Number = Union[Fraction, float]
MAX_TREE_SIZE = 2_000_000
ONE = Fraction(1)
ZERO = Fraction(0)


def fmt_shape(shape) -> str:
    return f"{shape[0]}×{shape[1]}"


def as_number(v) -> Number:
    if isinstance(v, (Fraction, float)):
        return v
    if isinstance(v, int):
        return Fraction(v)
    raise TypeError(f"not a number: {v!r}")


def fmt_number(v: Number) -> str:
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    return repr(v)


class cached_property:  # noqa: N801 - a drop-in for functools.cached_property, without its lock
    """Computed once per node and stored in the instance dict (nodes are immutable)."""

    def __init__(self, fn):
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class Expr:
    """Base of all nodes. Subclasses are immutable records built by `_node` (fields from their
    annotations; equality and hashing from `key`).

    `linear` marks the node types that d() builds around a differential (sums, products,
    ᵀ, tr, …): the pullback needs a rule for each. `definition()`, where a node has one,
    writes it in other nodes (softmax(u) = exp(u) / sum(exp(u))) for the stages that
    have no rule of their own for it (SymPy).
    """

    linear = False

    def definition(self) -> "Expr | None":
        return None

    @property
    def shape(self) -> tuple:  # each node class defines it (cached)
        raise NotImplementedError

    @property
    def args(self) -> tuple:
        """Child expressions, in order."""
        return ()

    def rebuild(self, args) -> "Expr":
        """The same node over new children, through the folding constructors."""
        return self

    @property
    def rows(self):
        return self.shape[0]

    @property
    def cols(self):
        return self.shape[1]

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)

    @cached_property
    def size(self) -> int:
        """Nodes of the expression written out as a tree (shared subtrees counted each time)."""
        return 1 + sum(a.size for a in self.args)

    @cached_property
    def key(self) -> str:
        if self.size > MAX_TREE_SIZE:
            raise ResultTooLarge(
                f"the result is too large to write out ({self.size:,} nodes; the limit is "
                f"{MAX_TREE_SIZE:,}): differentiate a smaller expression, or fewer variables at once"
            )
        return self._key()

    def _key(self) -> str:
        raise NotImplementedError

    @cached_property
    def _hash(self) -> int:
        return hash((type(self).__name__, self.key))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return self is other or (
            type(self) is type(other) and self._hash == other._hash and self.key == other.key
        )

    @cached_property
    def symbols(self) -> frozenset:
        """Names of the symbols in this expression (differentials as 'dX')."""
        out = set()
        for a in self.args:
            out |= a.symbols
        return frozenset(out)

    @cached_property
    def has_differential(self) -> bool:
        return any(a.has_differential for a in self.args)

    @cached_property
    def indices(self) -> frozenset:
        """The summation indices (i in x_i) this expression uses and does not bind itself."""
        out = frozenset()
        for a in self.args:
            out |= a.indices
        return out

    def __repr__(self):
        from .printing.text import to_text

        return f"<{type(self).__name__} {to_text(self)}>"

    def __str__(self):
        from .printing.text import to_text

        return to_text(self)

    def _repr_latex_(self):
        from .printing.text import to_latex

        return f"${to_latex(self)}$"


class FrozenNode(AttributeError):
    """An attempt to change a node: nodes are immutable."""


def _frozen_setattr(self, name, value):
    raise FrozenNode(f"cannot assign to field {name!r}: nodes are immutable")


def _node(cls):
    """A node class: its annotated fields (in order, with their defaults) become the
    arguments of a generated __init__; instances are immutable. A lighter stand-in for
    @dataclass(frozen=True, eq=False): one small exec per class instead of dataclasses'
    machinery (which made importing matcalc ~1 ms slower per node type)."""
    names, defaults = [], {}
    for klass in reversed(cls.__mro__):
        for name in klass.__dict__.get("__annotations__", {}):
            if name not in names:
                names.append(name)
            if name in klass.__dict__:
                defaults[name] = klass.__dict__[name]
    params = ", ".join(f"{n}=_d_{n}" if n in defaults else n for n in names)
    body = "".join(f"    _set(self, {n!r}, {n})\n" for n in names) or "    pass\n"
    namespace = {"_set": object.__setattr__, **{f"_d_{n}": v for n, v in defaults.items()}}
    exec(f"def __init__(self, {params}):\n{body}", namespace)  # noqa: S102 - field names, not user text
    cls.__init__ = namespace["__init__"]
    cls.__init__.__qualname__ = f"{cls.__name__}.__init__"
    cls._fields = tuple(names)
    for n in defaults:  # the class attribute would shadow nothing, but keep the instance dict clean
        if n in cls.__dict__:
            delattr(cls, n)
    cls.__setattr__ = _frozen_setattr
    cls.__delattr__ = _frozen_setattr
    return cls


# ---------------------------------------------------------------- leaves


@_node
class Symbol(Expr):
    linear = True  # as the differential dX
    name: str
    nrows: Dim
    ncols: Dim
    symmetric: bool = False
    diff: bool = False  # the differential dX of the variable X

    @cached_property
    def shape(self):
        return (self.nrows, self.ncols)

    def _key(self):
        return ("d" if self.diff else "") + self.name

    @cached_property
    def symbols(self):
        return frozenset([self._key()])

    @property
    def has_differential(self):
        return self.diff

    def differential(self) -> "Symbol":
        return Symbol(self.name, self.nrows, self.ncols, self.symmetric, True)


@_node
class Const(Expr):
    value: Number

    @cached_property
    def shape(self):
        return (1, 1)

    def _key(self):
        return fmt_number(self.value)


@_node
class Identity(Expr):
    n: Dim

    @cached_property
    def shape(self):
        return (self.n, self.n)

    def _key(self):
        return f"I[{self.n}]"


@_node
class Zero(Expr):
    nrows: Dim
    ncols: Dim

    @cached_property
    def shape(self):
        return (self.nrows, self.ncols)

    def _key(self):
        return f"0[{self.nrows},{self.ncols}]"


@_node
class Ones(Expr):
    nrows: Dim
    ncols: Dim

    @cached_property
    def shape(self):
        return (self.nrows, self.ncols)

    def _key(self):
        return f"1[{self.nrows},{self.ncols}]"


# ---------------------------------------------------------------- inner nodes


@_node
class Add(Expr):
    linear = True
    terms: tuple

    @property
    def args(self):
        return self.terms

    def rebuild(self, args):
        return add(*args)

    @cached_property
    def shape(self):
        return self.terms[0].shape

    def _key(self):
        return "(" + " + ".join(t.key for t in self.terms) + ")"


@_node
class MatMul(Expr):
    """coeff · scalar factors · chain; the 1×1 factors come first, sorted."""

    linear = True

    coeff: Number
    factors: tuple

    @property
    def args(self):
        return self.factors

    def rebuild(self, args):
        return mul(Const(self.coeff), *args)

    @cached_property
    def chain(self) -> tuple:
        return tuple(f for f in self.factors if not f.is_scalar)

    @cached_property
    def scalars(self) -> tuple:
        return tuple(f for f in self.factors if f.is_scalar)

    @cached_property
    def shape(self):
        ch = self.chain
        return (ch[0].rows, ch[-1].cols) if ch else (1, 1)

    def _key(self):
        return "[" + fmt_number(self.coeff) + "*" + " ".join(f.key for f in self.factors) + "]"


class _Unary(Expr):
    @property
    def args(self):
        return (self.arg,)

    def _key(self):
        return f"{self.tag}({self.arg.key})"


@_node
class Transpose(_Unary):
    linear = True
    arg: Expr
    tag = "T"

    def rebuild(self, args):
        return transpose(args[0])

    @cached_property
    def shape(self):
        return (self.arg.cols, self.arg.rows)


@_node
class Inverse(_Unary):
    arg: Expr
    tag = "inv"

    def rebuild(self, args):
        return inv(args[0])

    @cached_property
    def shape(self):
        return self.arg.shape


@_node
class Trace(_Unary):
    linear = True
    arg: Expr
    tag = "tr"

    def rebuild(self, args):
        return trace(args[0])

    @cached_property
    def shape(self):
        return (1, 1)


@_node
class Det(_Unary):
    arg: Expr
    tag = "det"

    def rebuild(self, args):
        return det(args[0])

    @cached_property
    def shape(self):
        return (1, 1)


@_node
class Sum(_Unary):
    """Sum of all entries."""

    linear = True

    arg: Expr
    tag = "sum"

    def rebuild(self, args):
        return sum_entries(args[0])

    @cached_property
    def shape(self):
        return (1, 1)


@_node
class Diag(_Unary):
    """diag(v): the square matrix with the vector v on its diagonal."""

    linear = True

    arg: Expr
    tag = "diag"

    def rebuild(self, args):
        return diag(args[0])

    @cached_property
    def shape(self):
        return (self.arg.rows, self.arg.rows)


@_node
class DiagPart(_Unary):
    """diagvec(M): the diagonal of a square matrix as a column vector."""

    linear = True

    arg: Expr
    tag = "diagvec"

    def rebuild(self, args):
        return diag_part(args[0])

    @cached_property
    def shape(self):
        return (self.arg.rows, 1)


@_node
class Vec(_Unary):
    """vec(A): the columns of A stacked into one column vector."""

    linear = True

    arg: Expr
    tag = "vec"

    def rebuild(self, args):
        return vec(args[0])

    @cached_property
    def shape(self):
        return (_dim_mul(self.arg.rows, self.arg.cols), 1)


@_node
class Softmax(_Unary):
    """softmax(u) = exp(u) / sum(exp(u)) over the entries of a column vector u; over each
    row of a matrix Z (a batch with observations as rows, as in the course)."""

    arg: Expr
    tag = "softmax"

    def rebuild(self, args):
        return softmax(args[0])

    def definition(self):
        ex = func("exp", self.arg)
        if self.arg.cols == 1:
            return mul(ex, power(sum_entries(ex), -1))
        row_sums = mul(ex, Ones(self.arg.cols, 1), Ones(1, self.arg.cols))
        return hadamard(ex, power(row_sums, -1))

    @cached_property
    def shape(self):
        return self.arg.shape


@_node
class LogSumExp(_Unary):
    """logsumexp(u) = ln Σ exp(uᵢ), the smooth maximum of the entries of a column vector."""

    arg: Expr
    tag = "logsumexp"

    def rebuild(self, args):
        return logsumexp(args[0])

    @cached_property
    def shape(self):
        return (1, 1)

    def definition(self):
        return func("log", sum_entries(func("exp", self.arg)))


class _Conv(Expr):
    """A 1-D convolution of the column vectors `signal` and `kernel`: bilinear, so d() builds
    it around one differential at a time (`linear`)."""

    linear = True

    @property
    def args(self):
        return (self.signal, self.kernel)

    def _key(self):
        return f"{self.tag}({self.signal.key},{self.kernel.key})"


@_node
class Conv(_Conv):
    """conv(x, k): the valid cross-correlation of a signal x (n) with a kernel k (m), as a
    convolutional layer computes it: yᵢ = Σⱼ x_{i+j} kⱼ, of size n − m + 1."""

    signal: Expr
    kernel: Expr
    tag = "conv"

    def rebuild(self, args):
        return conv(*args)

    @cached_property
    def shape(self):
        return (_conv_size(self.signal.rows, self.kernel.rows, -1), 1)


@_node
class ConvT(_Conv):
    """convT(w, k): the transposed convolution (the adjoint of x ↦ conv(x, k)), the full
    convolution zᵢ = Σⱼ w_{i−j} kⱼ of w (p) with k (m), of size p + m − 1."""

    signal: Expr
    kernel: Expr
    tag = "convT"

    def rebuild(self, args):
        return conv_transpose(*args)

    @cached_property
    def shape(self):
        return (_conv_size(self.signal.rows, self.kernel.rows, +1), 1)


def _conv_size(n: Dim, m: Dim, sign: int) -> int:
    if not (isinstance(n, int) and isinstance(m, int)):
        raise ShapeError(f"a convolution needs the sizes of its signal and kernel (got {n} and {m}): "
                         f"declare them, e.g. dim=\"x=8,k=3\"")
    size = n + sign * (m - 1)
    if size < 1:
        raise ShapeError(f"the kernel ({m}) is longer than the signal ({n}) of the convolution")
    return size


def _require_columns(what: str, *args: Expr):
    for a in args:
        if a.cols != 1:
            raise ShapeError(f"{what} is of column vectors, but `{a}` is {fmt_shape(a.shape)}")


def conv(x: Expr, k: Expr) -> Expr:
    """conv(x, k), the valid cross-correlation; 0 if either is 0, x k for a 1-entry kernel."""
    _require_columns("conv(x, k)", x, k)
    size = _conv_size(x.rows, k.rows, -1)
    if isinstance(x, Zero) or isinstance(k, Zero):
        return Zero(size, 1)
    if k.is_scalar:
        return mul(x, k)
    return Conv(x, k)


def conv_transpose(w: Expr, k: Expr) -> Expr:
    """convT(w, k), the full convolution (the adjoint of conv(·, k)); 0 if either is 0."""
    _require_columns("convT(w, k)", w, k)
    size = _conv_size(w.rows, k.rows, +1)
    if isinstance(w, Zero) or isinstance(k, Zero):
        return Zero(size, 1)
    if k.is_scalar:
        return mul(w, k)
    return ConvT(w, k)


@_node
class Commutation(Expr):
    """K(m, n): the permutation with K vec(A) = vec(Aᵀ) for an m×n matrix A."""

    m: Dim
    n: Dim

    @cached_property
    def shape(self):
        size = _dim_mul(self.m, self.n)
        return (size, size)

    def _key(self):
        return f"K[{self.m},{self.n}]"


@_node
class Func(Expr):
    """An elementwise function (a plain scalar function when the argument is 1×1)."""

    name: str
    arg: Expr

    @property
    def args(self):
        return (self.arg,)

    def rebuild(self, args):
        return func(self.name, args[0])

    @cached_property
    def shape(self):
        return self.arg.shape

    def _key(self):
        return f"{self.name}({self.arg.key})"


@_node
class Power(Expr):
    """Elementwise power with a constant exponent (ordinary power for scalars)."""

    base: Expr
    exponent: Number

    @property
    def args(self):
        return (self.base,)

    def rebuild(self, args):
        return power(args[0], self.exponent)

    @cached_property
    def shape(self):
        return self.base.shape

    def _key(self):
        return f"pow({self.base.key},{fmt_number(self.exponent)})"


@_node
class Hadamard(Expr):
    linear = True
    factors: tuple

    @property
    def args(self):
        return self.factors

    def rebuild(self, args):
        return hadamard(*args)

    @cached_property
    def shape(self):
        return self.factors[0].shape

    def _key(self):
        return "{" + " .* ".join(f.key for f in self.factors) + "}"


@_node
class Kron(Expr):
    linear = True
    left: Expr
    right: Expr

    @property
    def args(self):
        return (self.left, self.right)

    def rebuild(self, args):
        return kron(*args)

    @cached_property
    def shape(self):
        return (_dim_mul(self.left.rows, self.right.rows), _dim_mul(self.left.cols, self.right.cols))

    def _key(self):
        return f"kron({self.left.key},{self.right.key})"


# ---------------------------------------------------------------- sums over observations


@_node
class Indexed(Expr):
    """x_i: row i of the data matrix X, as a column; y_i (entry): entry i of the vector y.

    `name` is how it prints (x for X); the data symbol is its only child, so the
    symbols of Σ_i f(x_i) are X and y, the values a user gives.
    """

    linear = True  # d(x_i) = (dX)_i
    data: Expr
    index: str
    name: str
    entry: bool = False  # y_i: a scalar entry of a vector

    @property
    def args(self):
        return (self.data,)

    def rebuild(self, args):
        return Indexed(args[0], self.index, self.name, self.entry)

    @cached_property
    def shape(self):
        return (1, 1) if self.entry else (self.data.cols, 1)

    @cached_property
    def indices(self):
        return self.data.indices | {self.index}

    def _key(self):
        return f"{self.name}_{self.index}<{self.data.key}>"


@_node
class SumOver(Expr):
    """Σ_{i=1}^n body: a sum over the observations; Σ_i 1 is the count n."""

    linear = True
    index: str
    n: Dim
    body: Expr

    @property
    def args(self):
        return (self.body,)

    def rebuild(self, args):
        return sum_over(self.index, self.n, args[0])

    @cached_property
    def shape(self):
        return self.body.shape

    @cached_property
    def indices(self):
        return self.body.indices - {self.index}

    @property
    def is_count(self) -> bool:
        return isinstance(self.body, Const) and self.body.value == 1

    def _key(self):
        return f"Σ[{self.index},{self.n}]({self.body.key})"


def count(n: Dim) -> Expr:
    """n, the number of observations, as Σ_i 1 (so that its value comes from the data)."""
    if isinstance(n, int):
        return Const(Fraction(n))
    return SumOver("i", n, Const(ONE))


def sum_over(index: str, n: Dim, body: Expr) -> Expr:
    """Σ_i body; folds Σ_i 0 = 0 and Σ_i c = n c for a body without i."""
    if isinstance(body, Zero):
        return body
    if index not in body.indices:
        if isinstance(body, Const) and body.value == 1:
            return count(n)
        return mul(count(n), body)
    if isinstance(body, MatMul) and body.coeff not in (1, -1):
        # Σ_i c f_i = c Σ_i f_i (a sign stays inside: Σ_i -y_i σ(…) x_i, as the course writes)
        return scale(body.coeff, sum_over(index, n, mul(*body.factors)))
    return SumOver(index, n, body)


NODE_TYPES = (
    Symbol, Const, Identity, Zero, Ones, Add, MatMul, Transpose, Inverse, Trace, Det,
    Sum, Diag, DiagPart, Func, Power, Hadamard, Kron, Vec, Commutation, Softmax, LogSumExp,
    Indexed, SumOver, Conv, ConvT,
)


def _dim_mul(a: Dim, b: Dim) -> Dim:
    """The size of a Kronecker product or of vec: numeric, or a name like 'n*m'."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    # a canonical name: numbers multiplied, names sorted (m*n = n*m)
    parts = str(a).split("*") + str(b).split("*")
    number = 1
    names = []
    for p in parts:
        if p.isdigit():
            number *= int(p)
        else:
            names.append(p)
    names.sort()
    return "*".join(([str(number)] if number != 1 else []) + names)


# ---------------------------------------------------------------- constructors


def const(v) -> Const:
    return Const(as_number(v))


def _shape_mismatch(what: str, a: Expr, b: Expr, why: str) -> ShapeError:
    return ShapeError(
        f"shape mismatch in {what}: `{a}` is {fmt_shape(a.shape)} but `{b}` is "
        f"{fmt_shape(b.shape)} ({why})"
    )


def _split_coeff(t: Expr):
    """A term as (numeric coefficient, the rest)."""
    if isinstance(t, MatMul):
        rest = t.factors[0] if len(t.factors) == 1 else MatMul(ONE, t.factors)
        return t.coeff, rest
    if isinstance(t, Const):
        return t.value, Const(ONE)
    return ONE, t


def add(*terms: Expr) -> Expr:
    """Sum; flattens, checks shapes, drops zeros and collects like terms in first-seen order."""
    flat = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, Add) else (t,))
    if not flat:
        raise ValueError("add() needs at least one term")
    shape = flat[0].shape
    for t in flat[1:]:
        if t.shape != shape:
            raise _shape_mismatch("a sum", flat[0], t, "terms of a sum must have equal shapes")
    coeffs: dict = {}
    for t in flat:
        if isinstance(t, Zero):
            continue
        c, rest = _split_coeff(t)
        coeffs[rest] = coeffs.get(rest, ZERO) + c
    out = [scale(c, rest) for rest, c in coeffs.items() if c != 0]
    if not out:
        return Zero(*shape)
    return out[0] if len(out) == 1 else Add(tuple(out))


def scale(c, e: Expr) -> Expr:
    c = as_number(c)
    if c == 1:
        return e
    return mul(Const(c), e)


def neg(e: Expr) -> Expr:
    return scale(-1, e)


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


def _power_parts(s: Expr):
    if isinstance(s, Power) and s.base.is_scalar:
        return s.base, s.exponent
    return s, ONE


def _combine_scalars(scalars: list) -> list:
    """s · s⁻¹ = 1, s · s = s²: scalar factors grouped by base, exponents added."""
    exps: dict = {}
    for s in scalars:
        b, e = _power_parts(s)
        exps[b] = exps.get(b, ZERO) + e
    out = []
    for b, e in exps.items():
        if e == 0:
            continue
        out.append(b if e == 1 else Power(b, e))
    return out


def _is_inverse_pair(a: Expr, b: Expr) -> bool:
    return (isinstance(b, Inverse) and b.arg == a) or (isinstance(a, Inverse) and a.arg == b)


def _cancel_chain(chain: list) -> list:
    """Drop I factors and adjacent A A⁻¹ pairs from a conforming chain."""
    out: list = []
    for f in chain:
        if isinstance(f, Identity):
            continue
        if out and _is_inverse_pair(out[-1], f):
            out.pop()
            continue
        out.append(f)
    return out


def _scalar_segments(chain: list):
    """Split a chain into 1×1 runs (row vector … column vector) and the remaining chain.

    `x xᵀ x` has the run `xᵀ x`, a scalar that commutes: the product becomes (xᵀx) x.
    """
    segments, rest, i, n = [], [], 0, len(chain)
    while i < n:
        if chain[i].rows == 1:
            j = i
            while j < n and chain[j].cols != 1:
                j += 1
            if j < n:
                segments.append(tuple(chain[i : j + 1]))
                i = j + 1
                continue
            rest.extend(chain[i:])
            break
        rest.append(chain[i])
        i += 1
    return segments, rest


def _scalar_order(s: Expr):
    """Plain scalar symbols first (`2 lambda w`), then the rest by key."""
    return (0 if isinstance(s, Symbol) else 1, s.key)


def mul(*args: Expr) -> Expr:
    """Matrix product; 1×1 factors act as scalars (they commute and are moved to the front)."""
    coeff: Number = ONE
    scalars: list = []
    chain: list = []
    zero = False
    for a in args:
        if isinstance(a, Const):
            coeff = coeff * a.value
        elif isinstance(a, MatMul):
            coeff = coeff * a.coeff
            scalars.extend(a.scalars)
            if a.is_scalar and a.chain:
                scalars.append(MatMul(ONE, a.chain))
            else:
                chain.extend(a.chain)
        elif isinstance(a, Identity) and a.is_scalar:
            continue  # the 1×1 identity is the number 1
        elif a.is_scalar:
            zero |= isinstance(a, Zero)
            scalars.append(a)
        else:
            zero |= isinstance(a, Zero)
            chain.append(a)
    for left, right in zip(chain, chain[1:]):
        if left.cols != right.rows:
            raise _shape_mismatch(
                "a product", left, right,
                "the columns of the left factor must match the rows of the right one",
            )
    shape = (chain[0].rows, chain[-1].cols) if chain else (1, 1)
    if zero or coeff == 0:
        return Zero(*shape)
    reduced = _cancel_chain(chain)
    if not reduced and chain:
        reduced = [Identity(shape[0])]
    segments, reduced = _scalar_segments(reduced)
    scalars.extend(MatMul(ONE, s) for s in segments)
    scalars = sorted(_combine_scalars(scalars), key=_scalar_order)
    segs = [s for s in scalars if isinstance(s, MatMul)]
    if not reduced and len(segs) == 1:
        # a single run such as xᵀAx stays inline: 2 xᵀAx, λ wᵀw
        scalars.remove(segs[0])
        reduced = list(segs[0].factors)
    factors = tuple(scalars) + tuple(reduced)
    if not factors:
        return Const(coeff)
    if coeff == 1 and len(factors) == 1:
        return factors[0]
    if coeff == 1 and not scalars and len(segs) == 1 and not chain:
        return segs[0]
    return MatMul(coeff, factors)


def transpose(a: Expr) -> Expr:
    """Aᵀ; folds (Aᵀ)ᵀ, scalars, symmetric matrices, I, 0 and 1."""
    if a.is_scalar:
        return a
    if isinstance(a, Transpose):
        return a.arg
    if isinstance(a, (Identity, Diag)) or (isinstance(a, Symbol) and a.symmetric):
        return a
    if isinstance(a, Zero):
        return Zero(a.ncols, a.nrows)
    if isinstance(a, Ones):
        return Ones(a.ncols, a.nrows)
    if isinstance(a, Commutation):
        return commutation(a.n, a.m)  # K(m,n)ᵀ = K(n,m)
    return Transpose(a)


def _require_square(what: str, a: Expr):
    if a.rows != a.cols:
        raise NotSquare(
            f"{what} needs a square matrix, but `{a}` is {fmt_shape(a.shape)}"
        )


def inv(a: Expr) -> Expr:
    """A⁻¹; folds (A⁻¹)⁻¹, I⁻¹ and scalars."""
    if a.is_scalar:
        return power(a, -1)
    _require_square("the inverse", a)
    if isinstance(a, Zero):
        raise ShapeError("the inverse of a zero matrix does not exist")
    if _singular(a):
        raise ShapeError(
            f"the inverse of `{a}` does not exist: it is {fmt_shape(a.shape)} but a product "
            f"through size {rank_bottleneck(a)[1]}, so singular"
        )
    if isinstance(a, Inverse):
        return a.arg
    if isinstance(a, Identity):
        return a
    if isinstance(a, MatMul) and a.coeff != 1:
        return scale(1 / a.coeff, inv(MatMul(ONE, a.factors) if len(a.factors) > 1 else a.factors[0]))
    return Inverse(a)


def trace(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    _require_square("the trace", a)
    if isinstance(a, Zero):
        return Const(ZERO)
    if isinstance(a, Identity) and isinstance(a.n, int):
        return Const(Fraction(a.n))
    return Trace(a)


def rank_bottleneck(a: Expr):
    """The smallest size a square matrix passes through, when its shape says it is singular:
    `x yᵀ` goes through size 1, `Z P` (Z 4×3) through 3 < 4. Returns (kind, inner size):
    kind "singular" when the sizes prove rank < n, "assumed" when they are symbolic and
    full rank needs inner ≥ n; None when nothing narrows (or a is not such a product)."""
    if isinstance(a, Transpose):
        return rank_bottleneck(a.arg)
    if not isinstance(a, MatMul) or len(a.chain) < 2:
        return None
    n = a.rows
    inner = [f.cols for f in a.chain[:-1]]
    found = None
    for k in inner:
        if k == n:
            continue
        if k == 1 or (isinstance(k, int) and isinstance(n, int) and k < n):
            return ("singular", k)
        if isinstance(k, int) and isinstance(n, int):
            continue  # wider than n: no bottleneck
        found = found or ("assumed", k)
    return found


def _singular(a: Expr) -> bool:
    return isinstance(a, Zero) or (rank_bottleneck(a) or ("",))[0] == "singular"


def det(a: Expr) -> Expr:
    """det(A); folds I, and 0 for a matrix singular by its shape (`det(x yᵀ)`: rank 1)."""
    if a.is_scalar:
        return a
    _require_square("the determinant", a)
    if isinstance(a, Identity):
        return Const(ONE)
    if _singular(a):
        return Const(ZERO)
    return Det(a)


def sum_entries(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    if isinstance(a, Zero):
        return Const(ZERO)
    return Sum(a)


def diag(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    if a.cols != 1:
        raise ShapeError(f"diag(v) needs a column vector, but `{a}` is {fmt_shape(a.shape)}")
    if isinstance(a, Zero):
        return Zero(a.rows, a.rows)
    if isinstance(a, Ones):
        return Identity(a.rows)
    return Diag(a)


def diag_part(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    _require_square("the diagonal", a)
    if isinstance(a, Diag):
        return a.arg
    if isinstance(a, Zero):
        return Zero(a.rows, 1)
    if isinstance(a, Identity):
        return Ones(a.n, 1)
    return DiagPart(a)


def func(name: str, a: Expr) -> Expr:
    """f(u) elementwise; folds log(exp(u)) = u and f(0) where it is a number."""
    if name == "log" and isinstance(a, Func) and a.name == "exp":
        return a.arg
    if isinstance(a, Zero) or (isinstance(a, Const) and a.value == 0):
        v = _functions.get(name, "function record").at_zero
        if v is not None:
            if a.is_scalar:
                return Const(Fraction(v))
            return Zero(*a.shape) if v == 0 else scale(v, Ones(*a.shape))
        if not a.is_scalar:  # f(0) · ones(n, m): printed, a bare `0` would read as a scalar
            return mul(Func(name, Const(ZERO)), Ones(*a.shape))
    return Func(name, a)


def power(a: Expr, p) -> Expr:
    """Elementwise aᵖ for a constant p; (aᵠ)ⁿ = a^(qn) for integer n."""
    p = as_number(p)
    if p == 1:
        return a
    if p == 0:
        return Const(ONE) if a.is_scalar else Ones(*a.shape)
    if isinstance(a, Const):
        if isinstance(p, Fraction) and p.denominator == 1 and (a.value != 0 or p > 0):
            return Const(a.value ** int(p))
    if isinstance(a, Ones):
        return a
    if isinstance(a, Zero) and p > 0:
        return a
    if isinstance(a, Power) and isinstance(p, Fraction) and p.denominator == 1:
        return power(a.base, a.exponent * p)
    if isinstance(a, MatMul) and a.is_scalar and not a.chain:
        # (c · s1 · s2)^p = c^p s1^p s2^p for integer p
        if isinstance(p, Fraction) and p.denominator == 1:
            return mul(Const(a.coeff ** int(p)), *(power(s, p) for s in a.factors))
    return Power(a, p)


def _combine_elementwise(factors: list) -> list:
    """u ⊙ u⁻¹ = 1, u ⊙ u = u²: elementwise factors grouped by base, exponents added."""
    exps: dict = {}
    for f in factors:
        b, e = (f.base, f.exponent) if isinstance(f, Power) else (f, ONE)
        exps[b] = exps.get(b, ZERO) + e
    return [b if e == 1 else Power(b, e) for b, e in exps.items() if e != 0]


def hadamard(*args: Expr) -> Expr:
    """Elementwise product; commutative, so factors are sorted. Scalars act as scalars."""
    coeff: Number = ONE
    scalars: list = []
    flat: list = []
    for a in args:
        parts = a.factors if isinstance(a, Hadamard) else (a,)
        for f in parts:
            if isinstance(f, Const):
                coeff = coeff * f.value
            elif f.is_scalar and not all(g.is_scalar for g in args):
                scalars.append(f)
            elif isinstance(f, MatMul) and f.chain and (f.coeff != 1 or f.scalars):
                # (c s A) ⊙ B = c s (A ⊙ B): numbers and scalar factors come out
                coeff = coeff * f.coeff
                scalars.extend(f.scalars)
                inner = mul(*f.chain)
                flat.extend(inner.factors if isinstance(inner, Hadamard) else (inner,))
            else:
                flat.append(f)
    if not flat:
        return mul(Const(coeff), *scalars)
    shape = flat[0].shape
    for f in flat[1:]:
        if f.shape != shape:
            raise _shape_mismatch("an elementwise product", flat[0], f, "shapes must be equal")
    if any(isinstance(f, Zero) for f in flat) or coeff == 0:
        return Zero(*shape)
    kept = _combine_elementwise([f for f in flat if not isinstance(f, Ones)])
    if not kept:
        return mul(Const(coeff), *scalars, Ones(*shape))
    kept.sort(key=lambda f: f.key)
    core = kept[0] if len(kept) == 1 else Hadamard(tuple(kept))
    if shape == (1, 1) and len(kept) > 1:
        core = mul(*kept)
    return mul(Const(coeff), *scalars, core)


def kron(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Zero) or isinstance(b, Zero):
        return Zero(_dim_mul(a.rows, b.rows), _dim_mul(a.cols, b.cols))
    if a.is_scalar or b.is_scalar:
        return mul(a, b)
    if isinstance(a, Identity) and isinstance(b, Identity):
        return Identity(_dim_mul(a.n, b.n))
    return Kron(a, b)


def vec(a: Expr) -> Expr:
    """vec(A); a column vector is its own vec, vec(a bᵀ) = b ⊗ a."""
    if a.cols == 1:
        return a
    if a.rows == 1:
        return transpose(a)
    if isinstance(a, Zero):
        return Zero(_dim_mul(a.rows, a.cols), 1)
    if isinstance(a, MatMul) and len(a.chain) == 2 and a.chain[0].cols == 1:
        col, row = a.chain
        return mul(Const(a.coeff), *a.scalars, kron(transpose(row), col))
    return Vec(a)


def softmax(a: Expr) -> Expr:
    """softmax of a column vector, or row-wise of a matrix (each row of a batch)."""
    if a.is_scalar:
        return Const(ONE)
    if isinstance(a, Zero):  # softmax is shift invariant: softmax(0) = softmax(ones(n))
        return Softmax(Ones(*a.shape))
    return Softmax(a)


def logsumexp(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    if a.cols != 1:
        raise ShapeError(f"logsumexp needs a column vector, but `{a}` is {fmt_shape(a.shape)}")
    if isinstance(a, Zero):  # logsumexp(0) = logsumexp(ones(n)) - 1 = ln n
        return add(LogSumExp(Ones(*a.shape)), Const(-ONE))
    return LogSumExp(a)


def commutation(m: Dim, n: Dim) -> Expr:
    """K(m, n); K(1, n) and K(m, 1) are identities."""
    if m == 1 or n == 1:
        return Identity(_dim_mul(m, n))
    return Commutation(m, n)


def ones_like(e: Expr) -> Expr:
    return Const(ONE) if e.is_scalar else Ones(*e.shape)


def inner(w: Expr, m: Expr) -> Expr:
    """Frobenius inner product ⟨W, M⟩ = tr(Wᵀ M), written the natural way for each shape."""
    if w.is_scalar:
        return mul(w, m)
    if w.cols == 1:
        return mul(transpose(w), m)
    if w.rows == 1:
        return mul(w, transpose(m))
    return trace(mul(transpose(w), m))


# ---------------------------------------------------------------- nodes written as calls


@dataclass(frozen=True)
class Call:
    """A node written as a call, `name(arg)`: its class and constructor, what the argument
    must be ("any", "square" matrix or column "vector") and the result ("scalar" or "same")."""

    node: type
    make: object
    arg: str = "any"
    result: str = "scalar"
    what: str = ""  # for messages: "the trace"
    arity: int = 1  # arguments: conv(x, k) takes two column vectors ("vectors")


# The nodes users write as calls, by spelling (the first spelling is the printed name). A
# new call-style node is its class, its constructor and an entry here: the parser and the
# text, unicode and LaTeX printers read this table.
CALLS = {
    "tr": Call(Trace, trace, "square", what="the trace"),
    "trace": Call(Trace, trace, "square", what="the trace"),
    "Tr": Call(Trace, trace, "square", what="the trace"),
    "det": Call(Det, det, "square", what="the determinant"),
    "sum": Call(Sum, sum_entries, what="the sum of entries"),
    "softmax": Call(Softmax, softmax, "any", "same", what="softmax"),
    "Softmax": Call(Softmax, softmax, "any", "same", what="softmax"),
    "logsumexp": Call(LogSumExp, logsumexp, "vector", what="logsumexp"),
    "conv": Call(Conv, conv, "vectors", "conv", what="the convolution", arity=2),
    "convT": Call(ConvT, conv_transpose, "vectors", "convT", what="the transposed convolution", arity=2),
}


def call_name(node_type: type) -> str | None:
    """The name a call-style node prints as (its first spelling in CALLS)."""
    return next((name for name, c in CALLS.items() if c.node is node_type), None)


from . import functions as _functions  # noqa: E402 - the records build Exprs too
