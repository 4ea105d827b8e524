"""Raw tree → Expr: kinds and shapes inferred, then the nodes built.

A union-find unifies the sizes over the raw tree (`_Shapes`); `_Builder` infers every
node's shape and then builds the Expr through expr.py's constructors. When the default
kinds of the names (latin lowercase: vector, uppercase: matrix, Greek lowercase:
scalar, …) make the expression ill-formed, `kinds_from_context` tries the other
readings (Greek names and observations x_i first, then a broadcast scalar, then latin
names) and says in a note which one it chose.
"""
from __future__ import annotations

import itertools
import re
from fractions import Fraction

from . import expr as E
from .decls import COUNT_NAMES, Decls, is_greek, kind_readings, pretty_name
from .errors import NotSquare, ParseError, ShapeError
from .syntax import (GREEK_LETTERS, GREEK_NAMES, MATRIX_FUNCTIONS, Raw, balanced, caret, snippet, span,
                     walk_raw)


class _DimVar:
    __slots__ = ("id",)
    _ids = itertools.count()

    def __init__(self):
        self.id = next(_DimVar._ids)


class _OnesDim(_DimVar):
    """A size of `ones` written without one: it takes whatever the context needs, 1 too
    (`y - β ones` is y - β·1 with a column of ones)."""

    __slots__ = ()


class _Shapes:
    """Union-find over dimensions; ints and declared names are fixed, _DimVars are free."""

    def __init__(self, text: str):
        self.text = text
        self.parent: dict = {}
        self.names: dict = {}

    def find(self, d):
        path = []
        while d in self.parent:
            path.append(d)
            d = self.parent[d]
        for p in path:
            self.parent[p] = d
        return d

    def is_one(self, d) -> bool:
        return self.find(d) == 1

    def unify(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb or ra == rb:
            return True
        free_a, free_b = isinstance(ra, _DimVar), isinstance(rb, _DimVar)
        if not free_a and not free_b:
            return False
        if free_a and rb == 1 and not isinstance(ra, _OnesDim) or free_b and ra == 1 and not isinstance(rb, _OnesDim):
            return False  # a vector or matrix never shrinks to size 1 by inference
        if free_a and not (free_b and isinstance(rb, _OnesDim)):
            self.parent[ra] = rb
        else:
            self.parent[rb] = ra
        return True

    def show(self, d) -> str:
        d = self.find(d)
        if isinstance(d, _DimVar):
            return self.names.get(d, "?")
        return str(d)

    def show_shape(self, s) -> str:
        return f"{self.show(s[0])}×{self.show(s[1])}"


class _Builder:
    def __init__(self, text: str, decls: Decls, differentials: set, kinds=None, broadcast=False):
        self.text = text
        self.decls = decls
        self.differentials = differentials
        self.kinds = kinds or {}  # name → kind chosen by the reading (parse() searches them)
        self.broadcast = broadcast  # may a scalar name be added to a vector (y - β = y - β1)?
        self.notes: list = []
        self.dims = _Shapes(text)
        self.symbols: dict = {}  # name -> (shape, symmetric)
        self.size_names: set = set()  # sizes named in ones(n, m)
        self.matrix_calls: list = []  # exp/log/sqrt of a matrix, checked once sizes are known
        # sums over observations (see the section at the end of the class)
        self.bound: dict = {}  # index → size of the index set, inside Σ_i
        self.limits: set = set()  # the sizes of all sums (a name `n` among them is the count)
        self.observation_kinds: dict = {}  # x → "vector" | "scalar": the reading tried
        self.observations: dict = {}  # x → the data name (X for x_i, y for y_i)
        self.plain_names: set = set()

    # -- helpers
    def snip(self, r):
        return snippet(self.text, r)

    def fresh(self):
        return _DimVar()

    def shape_error(self, what, a: Raw, b: Raw, why) -> ShapeError:
        self._name_dims()
        return ShapeError(
            f"shape mismatch in {what} `{self.snip_span(a, b)}`: `{self.snip(a)}` is "
            f"{self.dims.show_shape(a.shape)} but `{self.snip(b)}` is "
            f"{self.dims.show_shape(b.shape)} ({why})"
        )

    def snip_span(self, a, b):
        return balanced(self.text, *span(a, b))

    def square_error(self, what, r: Raw) -> ShapeError:
        self._name_dims()
        return NotSquare(
            f"{what} needs a square matrix, but `{self.snip(r)}` is "
            f"{self.dims.show_shape(r.shape)}"
        )

    def is_scalar(self, r):
        return self.dims.is_one(r.shape[0]) and self.dims.is_one(r.shape[1])

    def is_vector(self, r):
        return self.dims.is_one(r.shape[1]) and not self.dims.is_one(r.shape[0])

    def symbol_shape(self, name: str):
        if name in self.symbols:
            return self.symbols[name][0]
        kind = self.decls.kind_of(name) or self.kinds.get(name)
        if kind is None and name in self.decls.dims and self.decls.dims[name][1] is not None:
            rows, cols = self.decls.dims[name]  # a full size says the kind
            kind = "scalar" if (rows, cols) == (1, 1) else "vector" if cols == 1 else "matrix"
        if kind is None:
            kind = kind_readings(name, self.decls.is_bold(name))[0][0]
            if kind == "scalar" and name in self.decls.dims and self.decls.dims[name][0] != 1:
                kind = "vector"  # --dim μ=n: a size says it is not a scalar
        if name in self.decls.dims:
            rows, cols = self.decls.dims[name]
            if cols is None:
                cols = 1 if kind == "vector" else (rows if kind == "matrix" else 1)
            if kind == "scalar" and (rows, cols) != (1, 1):
                raise ShapeError(f"`{name}` is declared a scalar but given the size {rows}×{cols}")
            shape = (rows, cols)
        elif kind == "scalar":
            shape = (1, 1)
        elif kind == "vector":
            shape = (self.fresh(), 1)
        elif kind == "row":  # `x W_1` with the book's "x is a row"
            shape = (1, self.fresh())
        else:
            n = self.fresh()
            shape = (n, n) if name in self.decls.symmetric else (n, self.fresh())
        symmetric = name in self.decls.symmetric
        if symmetric and not self.dims.unify(shape[0], shape[1]):
            raise ShapeError(f"`{name}` is declared symmetric but its size is not square")
        self.symbols[name] = (shape, symmetric)
        return shape

    def const_value(self, r: Raw) -> Fraction:
        """The value of a constant exponent such as 2, -1, 1/2 or (1/2)."""
        if r.op == "num":
            return r.data
        if r.op == "neg":
            return -self.const_value(r.kids[0])
        if r.op == "div":
            den = self.const_value(r.kids[1])
            if den == 0:
                raise ParseError(f"division by zero in `{self.snip(r)}`")
            return self.const_value(r.kids[0]) / den
        if r.op == "mul":
            out = Fraction(1)
            for k in r.kids:
                out *= self.const_value(k)
            return out
        if r.op == "add":
            return sum((self.const_value(k) for k in r.kids), Fraction(0))
        raise ParseError(f"exponents must be numbers, not `{self.snip(r)}`\n{caret(self.text, r.start)}")

    def has_symbols(self, r: Raw) -> bool:
        stack = [r]
        while stack:
            n = stack.pop()
            if n.op in ("sym", "identity", "ones", "word", "idx"):
                return True
            stack.extend(n.kids)
        return False

    # -- inference: sets r.shape on every node, unifying dimensions
    def infer(self, r: Raw):
        if r.op == "call" and r.data in ("eye", "ones"):
            return self.infer_call(r)  # the arguments are sizes, not expressions
        if r.op == "sumover":
            return self.infer_sumover(r)  # the index is bound in the body
        for k in r.kids:
            self.infer(k)
        getattr(self, "infer_" + r.op)(r)

    def infer_num(self, r):
        r.shape = (1, 1)

    def infer_sym(self, r):
        name = r.data
        if self.infer_observation(r):
            return
        self.plain_names.add(name)
        if name.startswith("d") and name[1:] in self.differentials and not self.decls.declares(name):
            r.op, r.data = "dsym", name[1:]
            r.shape = self.symbol_shape(name[1:])
        else:
            r.shape = self.symbol_shape(name)

    def infer_identity(self, r):
        n = r.data if isinstance(r.data, int) else self.fresh()
        r.shape = (n, n)

    def infer_ones(self, r):
        cols = {"vector": 1, "matrix": self.fresh()}.get(r.data) if r.data else None
        r.shape = (self.fresh(), cols if cols is not None else _OnesDim())

    def infer_bars(self, r):
        """|x| of a scalar is abs, |X| of a square matrix det (the Cookbook's notation)."""
        a = r.kids[0]
        if self.is_scalar(a):
            r.data = "abs"
        elif self.is_vector(a):
            raise ShapeError(
                f"`|{self.snip(a)}|` of a vector: write ||{self.snip(a)}|| for the norm or "
                f"abs({self.snip(a)}) for the entries' absolute values"
            )
        else:
            self._require_square("|X| (the determinant)", a)
            r.data = "det"
        r.shape = (1, 1)

    def build_bars(self, r, kids):
        return E.func("abs", kids[0]) if r.data == "abs" else E.det(kids[0])

    def infer_word(self, r):
        self.infer_mul(r)

    def _infer_sum(self, r):
        """Terms of equal shape; a constant scalar term is broadcast to an array sum."""
        arrays = [k for k in r.kids if not self.is_scalar(k)]
        scalars = [k for k in r.kids if self.is_scalar(k)]
        if arrays and scalars:
            for sc in scalars:
                if self.has_symbols(sc):
                    arr = arrays[0]
                    self._name_dims()
                    square = self.dims.find(arr.shape[0]) == self.dims.find(arr.shape[1])
                    fix = (f"write `{self.snip(sc)} I` for a multiple of the identity" if square
                           else f"write `{self.snip(sc)} ones` to add it to every entry")
                    core = sc
                    while core.op == "neg":
                        core = core.kids[0]
                    if self.broadcast and self.is_vector(arr) and core.op != "idx":  # not a label y_i
                        self.notes.append(
                            f"`{self.snip(r)}` adds the scalar `{self.snip(sc)}` to every entry of "
                            f"the vector `{self.snip(arr)}`: read as `{self.snip(sc)}` times the vector of ones"
                        )
                        continue
                    if core.op == "sym":  # a name is a scalar unless declared otherwise
                        fix += f"; if {pretty_name(core.data)} is a vector, declare it: vector={pretty_name(core.data)}"
                    raise ShapeError(
                        f"cannot add the scalar `{self.snip(sc)}` to `{self.snip(arr)}`, which is "
                        f"{self.dims.show_shape(arr.shape)}: {fix}, or declare the other operand a scalar"
                    )
            r.data = "broadcast"
        first = arrays[0] if arrays else r.kids[0]
        if self.broadcast and arrays:  # X W + b: a bias broadcast over the rows of a batch
            first = next((k for k in arrays if k.op == "mul" and not self.is_vector(k)), first)
        for k in ([a for a in arrays if a is not first] if arrays else r.kids[1:]):
            if (self.broadcast and first.op == "mul" and k.op == "sym" and self.is_vector(k)
                    and not self.is_vector(first) and self.dims.unify(k.shape[0], first.shape[1])):
                self.notes.append(
                    f"`{self.snip(r)}` adds the vector `{self.snip(k)}` to every row of `{self.snip(first)}`: "
                    f"read as a bias broadcast over the batch, `{self.snip(first)} + 1 {self.snip(k)}ᵀ`"
                )
                r.data = "broadcast"
                continue
            if not (self.dims.unify(first.shape[0], k.shape[0]) and self.dims.unify(first.shape[1], k.shape[1])):
                raise self.shape_error("the sum", first, k, "terms of a sum must have equal shapes")
        r.shape = first.shape

    infer_add = _infer_sum

    def infer_neg(self, r):
        r.shape = r.kids[0].shape

    def infer_mul(self, r):
        cur = r.kids[0]
        shape = cur.shape
        for k in r.kids[1:]:
            if self.dims.is_one(shape[0]) and self.dims.is_one(shape[1]):
                shape = k.shape
            elif self.is_scalar(k):
                pass
            elif self.dims.unify(shape[1], k.shape[0]):
                shape = (shape[0], k.shape[1])
            else:
                left = Raw("span", (), r.kids[0].start, cur.end)
                left.shape = shape
                raise self.shape_error(
                    "the product", left, k,
                    "the columns of the left factor must match the rows of the right one",
                )
            cur = k
        r.shape = shape

    def infer_div(self, r):
        a, b = r.kids
        if not self.is_scalar(b):
            self._name_dims()
            raise ShapeError(
                f"division by `{self.snip(b)}`, which is {self.dims.show_shape(b.shape)}, not a "
                f"scalar; put a scalar denominator in parentheses, e.g. `A x / (x^T A x)`, or "
                f"use ./ for elementwise division"
            )
        r.shape = a.shape

    def _infer_elementwise(self, r):
        a, b = r.kids
        if self.is_scalar(a) or self.is_scalar(b):
            r.shape = b.shape if self.is_scalar(a) else a.shape
            return
        if not (self.dims.unify(a.shape[0], b.shape[0]) and self.dims.unify(a.shape[1], b.shape[1])):
            raise self.shape_error(
                "the elementwise operation", a, b, "elementwise operands must have equal shapes"
            )
        r.shape = a.shape

    infer_hadamard = infer_ediv = _infer_elementwise

    def infer_transpose(self, r):
        s = r.kids[0].shape
        r.shape = (s[1], s[0])

    def _require_square(self, what, r):
        s = r.shape
        if not self.dims.unify(s[0], s[1]):
            raise self.square_error(what, r)

    def infer_inverse(self, r):
        a = r.kids[0]
        if not self.is_scalar(a):
            self._require_square("the inverse", a)
        r.shape = a.shape

    def infer_inverse_transpose(self, r):
        self.infer_inverse(r)

    def infer_power(self, r):
        a = r.kids[0]
        p = self.const_value(r.data)
        r.data = p
        if self.is_scalar(a):
            r.shape = (1, 1)
        elif self.is_vector(a):
            if p != 2:
                raise ShapeError(
                    f"`{self.snip(r)}`: a vector can only be squared (v^2 = vᵀv); "
                    f"use .^ for elementwise powers"
                )
            r.shape = (1, 1)
        else:
            if p.denominator != 1:
                raise ShapeError(
                    f"`{self.snip(r)}`: fractional powers of a matrix are not supported; "
                    f"use .^ for elementwise powers"
                )
            self._require_square("a matrix power", a)
            r.shape = a.shape

    def infer_spower(self, r):
        """a^b with a name in the exponent: exp(b ln a), for scalars (a > 0)."""
        a, b = r.kids
        if not (self.is_scalar(a) and self.is_scalar(b)):
            raise ShapeError(
                f"`{self.snip(r)}`: a power with a symbolic exponent is taken of scalars (a^b = exp(b ln a)); "
                f"for arrays write the elementwise power `{self.snip(a)} .^ {self.snip(b)}`"
            )
        r.shape = (1, 1)
        exponent = self.snip(b) if b.op in ("sym", "num") else f"({self.snip(b)})"
        domain = f", defined for {self.snip(a)} > 0" if self.has_symbols(a) else ""
        self.notes.append(f"`{self.snip(r)}` is read as exp({exponent} ln {self.snip(a)}){domain}")

    def infer_sepower(self, r):
        """x .^ y elementwise: exp.(y ⊙ ln x), for positive entries of x."""
        self._infer_elementwise(r)
        a, b = r.kids
        self.notes.append(f"`{self.snip(r)}` is read as exp({self.snip(b)} .* ln({self.snip(a)})) "
                          f"elementwise, defined for positive entries of {self.snip(a)}")

    def infer_epower(self, r):
        r.data = self.const_value(r.data)
        r.shape = r.kids[0].shape

    def size_arg(self, r: Raw):
        """A size written in ones(n, m) / eye(n): a positive integer or a size name."""
        if r.op == "num" and r.data.denominator == 1 and r.data > 0:
            return int(r.data)
        if r.op in ("sym", "word"):
            name = self.text[r.start : r.end].strip()
            self.size_names.add(name)
            return name
        raise ParseError(f"`{self.snip(r)}` is not a size: use a positive integer or a name like n")

    def infer_norm(self, r):
        """||x||, ||X||_F, ||x||_1, norm(x, p), norm1(X) (matrixcalculus.org: Σ|entries|)."""
        a = r.kids[0]
        if isinstance(r.data, Raw):  # norm(x, p)
            p = self.const_value(r.data)
            if p not in (1, 2):
                raise ParseError(f"`{self.snip(r)}`: norm(x, p) is supported for p = 1 and p = 2 "
                                 f"(and ||X||_F for the Frobenius norm)")
            r.data = str(p)
        if r.data == "1" and not self.is_vector(a) and not self.is_scalar(a):
            raise ShapeError(
                f"`{self.snip(r)}`: the 1-norm of a matrix (its largest column sum of |entries|) is not "
                f"supported; for the sum of the |entries| write sum(abs({self.snip(a)})) or norm1({self.snip(a)})"
            )
        if r.data == "2" and not self.is_vector(a) and not self.is_scalar(a):
            raise ShapeError(
                f"`{self.snip(r)}`: the spectral norm of a matrix is not supported; "
                f"use the Frobenius norm ||X||_F"
            )
        r.shape = (1, 1)

    def infer_call(self, r):
        f = r.data
        args = r.kids
        if f in ("eye", "ones"):
            sizes = [self.size_arg(k) for k in args]
            if f == "eye" and len(sizes) == 1:
                r.shape = (sizes[0], sizes[0])
            elif f == "ones" and len(sizes) in (1, 2):
                r.shape = (sizes[0], sizes[1] if len(sizes) == 2 else 1)
            else:
                raise ParseError(f"write `{f}(n)`{' or `ones(n, m)`' if f == 'ones' else ''}, or `{'I' if f == 'eye' else 'ones'}` with the size inferred")
            return
        if f in E.CALLS and E.CALLS[f].arity > 1:
            self.infer_node_call(r, E.CALLS[f], *args)
            return
        if len(args) != 1 and not (f == "norm" and len(args) == 2):
            comma = re.search(r"\d,\d", self.snip(r))
            raise ParseError(f"`{f}` takes one argument, got {len(args)} in `{self.snip(r)}`"
                             + (" (a decimal comma? write numbers with a point, as in 0.5)" if comma else ""))
        a = args[0]
        if f in E.CALLS:
            self.infer_node_call(r, E.CALLS[f], a)
        elif f == "logdet":
            if not self.is_scalar(a):
                self._require_square("ln det", a)
            r.shape = (1, 1)
        elif f == "inv":
            self.infer_inverse(r)
        elif f == "norm":
            r.shape = (1, 1)
        elif f in MATRIX_FUNCTIONS and not r.elementwise and not self.is_scalar(a) and not self.is_vector(a):
            self.matrix_calls.append(r)  # ambiguous if the matrix turns out square
            r.shape = a.shape
        elif f == "diag":
            if self.is_scalar(a) or self.is_vector(a):
                r.shape = (a.shape[0], a.shape[0])
            else:
                self._require_square("diag", a)
                r.shape = (a.shape[0], 1)
        else:
            r.shape = a.shape

    def infer_node_call(self, r, call: E.Call, a, *more):
        """The shape of a call-style node from its CALLS entry."""
        if call.arity != 1 + len(more):
            raise ParseError(f"`{r.data}` takes {call.arity} arguments, got {1 + len(more)} in `{self.snip(r)}`")
        if call.arg == "vectors":  # conv(x, k): column vectors of known sizes
            sizes = []
            for v in (a, *more):
                if not (self.is_vector(v) or self.is_scalar(v)):
                    raise ShapeError(f"`{self.snip(r)}`: {r.data} is applied to column vectors, "
                                     f"but `{self.snip(v)}` is {self.dims.show_shape(v.shape)}")
                size = self.dims.find(v.shape[0])
                if not isinstance(size, int):
                    raise ShapeError(f"`{self.snip(r)}` needs the sizes of its signal and kernel: "
                                     f"declare them, e.g. dim=\"x=8,k=3\" (`{self.snip(v)}` has no size yet)")
                sizes.append(size)
            n, m = sizes
            size = n - m + 1 if call.result == "conv" else n + m - 1
            if size < 1:
                raise ShapeError(f"`{self.snip(r)}`: the kernel ({m}) is longer than the signal ({n})")
            r.shape = (size, 1)
            return
        if call.arg == "square" and not self.is_scalar(a):
            self._require_square(call.what or f"`{r.data}`", a)
        elif call.arg == "vector" and not (self.is_vector(a) or self.is_scalar(a)):
            raise ShapeError(f"`{self.snip(r)}`: {r.data} is applied to a column vector")
        r.shape = (1, 1) if call.result == "scalar" else a.shape


    # -- sums over observations: Σ_i f(x_i, y_i). Inside Σ_i, a name x_i is an observation:
    # a vector x_i is row i of the data matrix X (n×p) as a column, a scalar y_i entry i
    # of the vector y (n×1); n is the size of the index set. The reading (vector or
    # scalar) of each indexed name is chosen by `_infer_with_observations`.
    def infer_sumover(self, r):
        index, limit = r.data
        if index in self.bound:
            raise ParseError(f"the index {index} is already bound by an enclosing sum in `{self.snip(r)}`")
        self.size_names.add(limit) if isinstance(limit, str) else None
        self.bound[index] = limit
        try:
            self.infer(r.kids[0])
        finally:
            del self.bound[index]
        r.shape = r.kids[0].shape

    def infer_observation(self, r) -> bool:
        """x_i inside Σ_i → an observation (op "idx"); `n` of Σ_{i=1}^n → the count."""
        name = r.data
        if name in self.limits and not self.decls.declares(name):
            r.op, r.shape = "count", (1, 1)
            return True
        base, sep, sub = name.partition("_")
        sub = sub.strip("{}")
        if not sep or sub not in self.bound:
            return False
        if base[:1].isupper():
            raise ParseError(
                f"`{name}`: indexed matrices are not supported; an observation is a vector x_{sub} "
                f"(row {sub} of X) or a scalar y_{sub} (entry {sub} of y)\n{caret(self.text, r.start)}"
            )
        kind = self.observation_kinds.get(base, _default_observation_kind(base))
        entry = kind == "scalar"
        data = base if entry else base[0].upper() + base[1:]
        self.observations[base] = data
        shape = self.symbol_shape(data)
        if not self.dims.unify(shape[0], self.bound[sub]) or (entry and not self.dims.is_one(shape[1])):
            self._name_dims()
            raise ShapeError(
                f"`{name}` is an observation of `{data}`, which is {self.dims.show_shape(shape)}, "
                f"but the sum over {sub} runs to {self.bound[sub]}"
            )
        r.op, r.data = "idx", (base, sub, data, entry)
        r.shape = (1, 1) if entry else (shape[1], 1)
        return True

    def check_observations(self):
        """A name used both with and without the index is an error."""
        for base, data in self.observations.items():
            for plain in {base, data} if data == base else {base}:
                if plain in self.plain_names:
                    raise ParseError(
                        f"`{plain}` is used both with an index ({base}_i, an observation) and without "
                        f"one; inside Σ_i write {base}_i for the i-th observation, and use another name "
                        f"for a quantity that is not indexed"
                    )

    def build_sumover(self, r, kids):
        index, limit = r.data
        return E.sum_over(index, self.dim(limit), kids[0])

    def build_idx(self, r, kids):
        base, index, data, entry = r.data
        return E.Indexed(self._symbol(data), index, base, entry)

    def build_count(self, r, kids):
        return E.count(self.dim(r.data))

    def check_matrix_functions(self):
        """exp(X), log(X), sqrt(X) of a square matrix: the matrix function or elementwise?"""
        for r in self.matrix_calls:
            a = r.kids[0]
            if self.dims.find(a.shape[0]) == self.dims.find(a.shape[1]) or (
                self.dims.find(a.shape[0]) is self.dims.find(a.shape[1])
            ):
                f = r.data
                meaning = {"log": "logarithm", "exp": "exponential", "sqrt": "square root"}.get(f, f"function {f}")
                raise ShapeError(
                    f"`{self.snip(r)}`: {f} of the square matrix `{self.snip(a)}` is ambiguous "
                    f"(the matrix {meaning} or elementwise?). matcalc applies functions elementwise: write "
                    f"`{f}.({self.snip(a)})` to say so"
                    + (f"; for ln det write `ln det {self.snip(a)}`" if f == "log" else "")
                )

    def require_shape(self, r: Raw, shape):
        if r.op == "num" and r.data == 0:  # a bare `0` where an array is asked for: the zero array
            r.op, r.shape = "zero", tuple(shape)
            return
        ok = all(self.dims.unify(a, b) for a, b in zip(r.shape, shape))
        if not ok:
            self._name_dims()
            raise ShapeError(
                f"`{self.snip(r)}` is {self.dims.show_shape(r.shape)} but "
                f"{shape[0]}×{shape[1]} is expected"
            )

    def check_sizes_determined(self, raw: Raw, shape):
        """An `I` whose size nothing ties to a variable or to the result's shape (`α tr(I)`)
        has no value: refused."""
        fixed = {self.dims.find(d) for sh, _ in self.symbols.values() for d in sh}
        fixed |= {self.dims.find(d) for d in (shape or ())}
        fixed |= {self.dims.find(d) for d in raw.shape}  # `xᵀx I`: a size of the result itself
        stack = [raw]
        while stack:
            r = stack.pop()
            stack.extend(r.kids)
            if r.op == "identity" and not isinstance(self.dims.find(r.shape[0]), (int, str)) \
                    and self.dims.find(r.shape[0]) not in fixed:
                raise ShapeError(
                    f"the size of `{self.snip(r)}` is not determined by anything in the expression "
                    f"(in `{self.text.strip()}`): write its size, e.g. eye(n) or I_3, or use it "
                    f"with a variable that fixes it"
                )

    # -- naming of free dimensions, then building
    def _name_dims(self):
        taken = {d for shape, _ in self.symbols.values() for d in shape if isinstance(d, str)}
        taken |= {d for dims in self.decls.dims.values() for d in dims if isinstance(d, str)}
        taken |= self.size_names
        pool = (n for n in itertools.chain("nmpqkrstuvwabcdefgh", (f"n{i}" for i in itertools.count(1)))
                if n not in taken)
        used = set(self.dims.names.values())
        pool = (n for n in pool if n not in used)
        for shape, _ in self.symbols.values():
            for d in shape:
                root = self.dims.find(d)
                if isinstance(root, _DimVar) and root not in self.dims.names:
                    self.dims.names[root] = next(pool)
        self._pool = pool

    def dim(self, d):
        root = self.dims.find(d)
        if isinstance(root, _OnesDim):
            return 1  # `ones` with a size nothing fixes: the vector of ones (`1ᵀx`)
        if isinstance(root, _DimVar):
            if root not in self.dims.names:
                self.dims.names[root] = next(self._pool)
            return self.dims.names[root]
        return root

    def shape_of(self, r):
        return (self.dim(r.shape[0]), self.dim(r.shape[1]))

    def build(self, r: Raw) -> E.Expr:
        if r.op == "call" and r.data in ("eye", "ones"):
            shape = self.shape_of(r)
            return E.Identity(shape[0]) if r.data == "eye" else E.Ones(*shape)
        kids = [self.build(k) for k in r.kids]
        return getattr(self, "build_" + r.op)(r, kids)

    def build_num(self, r, kids):
        return E.Const(r.data)

    def build_zero(self, r, kids):
        return E.Zero(*self.shape_of(r))

    def _symbol(self, name, diff=False):
        shape, symmetric = self.symbols[name]
        s = E.Symbol(name, self.dim(shape[0]), self.dim(shape[1]), symmetric)
        return s.differential() if diff else s

    def build_sym(self, r, kids):
        return self._symbol(r.data)

    def build_dsym(self, r, kids):
        return self._symbol(r.data, diff=True)

    def build_identity(self, r, kids):
        return E.Identity(self.dim(r.shape[0]))

    def build_ones(self, r, kids):
        return E.Ones(*self.shape_of(r))

    def build_mul(self, r, kids):
        """Products left to right; a finished 1×1 run (`xᵀx` in `xᵀx I`) scales what follows."""
        runs, run = [], []
        first = last = None  # the run's first and last non-scalar factors (linear in the length)
        for k in kids:
            if first is not None and first.rows == 1 and last.cols == 1 and not k.is_scalar:
                runs.append(E.mul(*run))
                run, first, last = [], None, None
            run.append(k)
            if not k.is_scalar:
                first = k if first is None else first
                last = k
        return E.mul(*runs, E.mul(*run))

    build_word = build_mul

    def _broadcast(self, r, kids):
        if r.data == "broadcast":
            shape = self.shape_of(r)
            rows = [E.mul(E.Ones(shape[0], 1), E.transpose(k))  # a bias row: 1 bᵀ
                    if k.cols == 1 and not k.is_scalar and shape[1] != 1 and k.shape != shape else k
                    for k in kids]
            return [E.mul(k, E.Ones(*shape)) if k.is_scalar else k for k in rows]
        return kids

    def build_add(self, r, kids):
        return E.add(*self._broadcast(r, kids))

    def build_neg(self, r, kids):
        return E.neg(kids[0])

    def build_div(self, r, kids):
        a, b = kids
        if isinstance(b, E.Const) and b.value == 0:
            raise ParseError(f"division by zero in `{self.snip(r)}`")
        return E.mul(a, E.power(b, -1))

    def build_hadamard(self, r, kids):
        return E.hadamard(*kids)

    def build_ediv(self, r, kids):
        a, b = kids
        return E.hadamard(a, E.power(b, -1))

    def build_transpose(self, r, kids):
        return E.transpose(kids[0])

    def build_inverse(self, r, kids):
        return E.inv(kids[0])

    def build_inverse_transpose(self, r, kids):
        return E.inv(E.transpose(kids[0]))

    def build_power(self, r, kids):
        (a,), p = kids, r.data
        if a.is_scalar:
            return E.power(a, p)
        if a.cols == 1:
            return E.mul(E.transpose(a), a)
        n = int(p)
        if n == 0:
            return E.Identity(a.rows)
        base = a if n > 0 else E.inv(a)
        return E.mul(*([base] * abs(n)))

    def build_epower(self, r, kids):
        return E.power(kids[0], r.data)

    def build_norm(self, r, kids):
        if r.data in ("1", "entries"):  # ||x||_1 = sum(abs(x)): the subgradient sign(0) = 0 at a kink
            return E.sum_entries(E.func("abs", kids[0]))
        return E.power(E.inner(kids[0], kids[0]), Fraction(1, 2))

    def build_spower(self, r, kids):
        a, b = kids
        return E.func("exp", E.mul(b, E.func("log", a)))

    def build_sepower(self, r, kids):
        a, b = kids
        return E.func("exp", E.hadamard(b, E.func("log", a)))

    def build_call(self, r, kids):
        f, a = r.data, kids[0]
        if f in E.CALLS:
            return E.CALLS[f].make(*kids)
        if f == "logdet":
            return E.func("log", E.det(a))
        if f == "inv":
            return E.inv(a)
        if f == "norm":
            return self.build_norm(r, kids[:1])
        if f == "sqrt":
            return E.power(a, Fraction(1, 2))
        if f == "diag":
            return E.diag(a) if a.cols == 1 else E.diag_part(a)
        return E.func(f, a)


# ---------------------------------------------------------------- sums over observations


# Indexed names that are scalars by default: labels and targets (y_i, t_i), as the course
# writes them; other latin names are vector observations (x_i, z_i), Greek ones scalars.
SCALAR_OBSERVATIONS = {"y", "t"}


def _default_observation_kind(base: str) -> str:
    if base in SCALAR_OBSERVATIONS or base in GREEK_NAMES or base[:1] in GREEK_LETTERS:
        return "scalar"
    return "vector"


def _sums_in(raw: Raw):
    """(limits, indexed bases) of the sums in a raw tree."""
    limits, bases, stack = set(), set(), [(raw, frozenset())]
    while stack:
        r, bound = stack.pop()
        if r.op == "sumover":
            limits.add(r.data[1])
            bound = bound | {r.data[0]}
        elif r.op == "sym" and "_" in r.data:
            base, _, sub = r.data.partition("_")
            if sub.strip("{}") in bound and not base[:1].isupper():
                bases.add(base)
        stack.extend((k, bound) for k in r.kids)
    return {x for x in limits if isinstance(x, str)}, sorted(bases)


def _infer_with_observations(raw: Raw, text: str, decls: Decls, differentials: set, shape,
                             kinds=None, broadcast=False, observation_kinds=None):
    """Shape inference; with sums over observations, the reading of each indexed name
    (x_i a vector observation, y_i a scalar one) that makes the expression well formed,
    under the kinds `kinds` of the other names. Returns (builder, inferred copy of raw).

    The defaults (latin: vector, Greek: scalar) are tried first; otherwise the readings
    with the fewest changes, preferring a scalar result (a loss), then vectors for the
    names earlier in the alphabet (x_i a vector and y_i a scalar, as the course writes).
    """
    limits, bases = _sums_in(raw)

    def attempt(observation_kinds, tree):
        b = _Builder(text, decls, differentials, kinds, broadcast)
        b.limits = limits | set(decls.counts)
        b.observation_kinds = observation_kinds
        b.infer(tree)
        if shape is not None:
            b.require_shape(tree, shape)
        b.check_observations()
        return b

    if not bases or observation_kinds is not None:  # the reading of x_i, y_i is given
        tree = raw.clone()
        return attempt({b: (observation_kinds or {}).get(b, _default_observation_kind(b)) for b in bases}, tree), tree
    if len(bases) > 6:
        raise ParseError(f"too many indexed names in one expression ({len(bases)}; the limit is 6)")
    defaults = {x: _default_observation_kind(x) for x in bases}
    found = []
    for choice in itertools.product(("vector", "scalar"), repeat=len(bases)):
        observation_kinds = dict(zip(bases, choice))
        tree = raw.clone()
        try:
            b = attempt(observation_kinds, tree)
        except ShapeError:
            continue
        changes = sum(observation_kinds[x] != defaults[x] for x in bases)
        scalar_result = b.is_scalar(tree)
        broadcasts = sum(1 for n in walk_raw(tree) if n.op == "add" and n.data == "broadcast")
        found.append(((broadcasts, changes, not scalar_result, tuple(c == "scalar" for c in choice)), b, tree))
    if not found:
        attempt(defaults, raw.clone())  # raises the error of the default reading
    found.sort(key=lambda f: f[0])
    _, b, tree = found[0]
    return b, tree


_READING_TRIES = 400  # readings tried at most when the default kinds do not fit


def _sym_names(raw: Raw) -> list:
    """The names of the symbols, each once, in order of appearance."""
    out, stack = {}, [raw]
    while stack:
        n = stack.pop()
        if n.op == "sym":
            out.setdefault(n.data)
        stack.extend(reversed(n.kids))
    return list(out)


def _count_names(raw: Raw) -> set:
    """n in `n/2`, m in `1/m`, m and n in `m·n/2`: names of counts, read as scalars
    (`-n/2 ln det Σ`, `-m n/2 ln 2π`)."""

    def factors(r):  # the names of a product of names and numbers, or None
        if r.op == "sym":
            return {r.data}
        if r.op == "num":
            return set()
        if r.op in ("mul", "word", "neg"):
            parts = [factors(k) for k in r.kids]
            return None if any(p is None for p in parts) else set().union(*parts)
        return None

    out, stack = set(), [raw]
    while stack:
        n = stack.pop()
        if n.op == "div" and len(n.kids) == 2:
            a, b = n.kids
            for x, y in ((a, b), (b, a)):
                names = factors(x) if y.op == "num" else None
                if names and names <= COUNT_NAMES:
                    out |= names
        stack.extend(n.kids)
    return out


class _Reading:
    """One assignment of kinds to the names no declaration fixes, and what it gave."""

    def __init__(self, kinds: dict, builder, raw):
        self.kinds, self.builder, self.raw = kinds, builder, raw

    @property
    def scalar(self) -> bool:
        return self.builder.is_scalar(self.raw)


def kinds_from_context(prepared, raw, decls, differentials, shape):
    """The reading of the names: the default kinds if they make the expression well formed;
    otherwise the one reading that does (Greek names first, then a scalar name added to a
    vector as y - β·1, then latin names), preferring fewer changes and a scalar result.
    Returns (builder, inferred raw tree, notes)."""

    def attempt(kinds, broadcast=False):
        observed = {n.partition("_")[0]: kinds[n] for n in indexed if n in kinds}
        plain = {n: k for n, k in kinds.items() if n not in indexed}
        b, r = _infer_with_observations(raw, prepared, decls, set(differentials), shape, plain,
                                        broadcast, observed)
        b.check_matrix_functions()
        return _Reading(kinds, b, r)

    differential_names = {"d" + v for v in differentials}
    # x_i, y_i under a sum: their kinds (a vector or a scalar observation) are read like names'
    indices = {r.data[0] for r in walk_raw(raw) if r.op == "sumover"}
    indexed = [n for n in _sym_names(raw) if n.partition("_")[2].strip("{}") in indices]
    readings = {n: [(_default_observation_kind(n.partition("_")[0]), 0)] for n in indexed}
    for n in indexed:
        readings[n].append(("scalar" if readings[n][0][0] == "vector" else "vector", 1))
    free = [n for n in _sym_names(raw) if not decls.declares(n) and n not in differential_names]
    for n in free:  # a bold name (LaTeX \mathbf{x}) is not a scalar: only its array readings
        if decls.is_bold(n) and n not in indexed:  # bold y in y_i says y is a vector: y_i may be an entry
            readings[n] = kind_readings(n, bold=True)
    transposed = {k.data for r in walk_raw(raw) if r.op in ("transpose", "inverse_transpose")
                  for k in r.kids if k.op == "sym"}
    for n in free:  # αᵀ X α: a Greek name written transposed is a vector first (ᵀ of a scalar says nothing)
        if n in transposed and n not in readings and is_greek(n) and n.split("_", 1)[0][0].islower():
            readings[n] = [("vector", 0), ("scalar", 1)]
    plain = [n for n in free if not decls.is_bold(n)]  # the names the notes on defaults are about
    counts = _count_names(raw)
    defaults = {n: ("scalar" if n in counts and not decls.is_bold(n) else (readings.get(n) or kind_readings(n))[0][0]) for n in free}
    count_notes = [f"{n} is read as a scalar (a count, divided by or dividing a number); declare vector={n} otherwise"
                   for n in sorted(counts & set(free))]
    try:
        best = attempt(defaults)
        notes = _default_notes(best, plain, defaults, attempt) + _vector_notes(best, plain, defaults, attempt)
        return best.builder, best.raw, count_notes + best.builder.notes + notes
    except ShapeError as err:
        first_error = err

    def cost(reading) -> int:
        """How far a reading is from the defaults: the sum of its changed kinds' costs."""
        return sum(dict(readings.get(n) or kind_readings(n)).get(reading.kinds[n], 5)
                   for n in free if reading.kinds[n] != defaults[n])

    def alternatives(names, rows=False):
        """The other kinds a name may have; a row vector (`x W_1`, "x is a row") only when no
        other reading fits."""
        return {n: [k for k, _ in (readings.get(n) or kind_readings(n))
                    if k != defaults[n] and (rows or k != "row")] for n in names}

    # Greek names and the vector observations (x_i) first; a label y_i is a scalar unless
    # nothing else fits (then it is read as a vector in the latin stage, for a scalar f only)
    greek = [n for n in free if is_greek(n) or (n in readings and defaults[n] == "vector")]
    rows = list(free)  # the last resort: lowercase names as row vectors too
    labels = [n for n in free if n in readings and defaults[n] == "scalar"]  # y_i as a vector
    hints = _row_hints(raw, free)  # `x W_1`: the book's "x is a row"
    hinted = {**defaults, **{n: "row" for n in hints}}
    # (names that may change, a broadcast reading, the kinds to start from, a scalar f only)
    stages = [(greek, False, defaults, False), ([], True, defaults, False)]
    if hints:
        stages.append(([n for n in free if n not in hints], False, hinted, True))
    stages += [(free, False, defaults, True), (labels, False, defaults, False), (rows, False, defaults, True)]
    tries = 0
    fallback = None  # the first well-formed reading whose result is not a scalar
    for names, broadcast, base, scalar_only in stages:
        if broadcast:
            try:
                best = attempt(defaults, broadcast=True)
            except ShapeError:
                continue
            if best.scalar:
                return best.builder, best.raw, count_notes + best.builder.notes
            fallback = fallback or (best.builder, best.raw, count_notes + best.builder.notes)
            continue
        if names is rows and fallback is not None:
            break
        alts = alternatives(names, rows=names is rows)
        flexible = [n for n in names if alts[n]]
        found = []
        if base is not defaults:  # the hinted reading itself, with no other change
            try:
                found.append(attempt(base))
            except (ShapeError, ParseError):
                pass
        for size in range(1, min(len(flexible), 4) + 1):
            if any(f.scalar for f in found):
                break
            for group in itertools.combinations(flexible, size):
                for choice in itertools.product(*(alts[n] for n in group)):
                    tries += 1
                    if tries > _READING_TRIES:
                        break
                    kinds = {**base, **dict(zip(group, choice))}
                    try:
                        found.append(attempt(kinds))
                    except (ShapeError, ParseError):
                        pass
        if scalar_only:
            found = [f for f in found if f.scalar]
        lowercase = {n: "scalar" for n in flexible if n.split("_", 1)[0][0].islower() and not decls.is_bold(n)}
        best = _choose(found, {**defaults, **lowercase}, attempt, cost)
        if best is not None:
            changed = [n for n in free if best.kinds[n] != defaults[n]]
            notes = [
                f"{pretty_name(n)} is read as a {_kind_word(best.kinds[n])}: as a {_kind_word(defaults[n])} "
                f"the expression is not well formed; declare {_declaration(defaults[n], n)} or "
                f"{_declaration(best.kinds[n], n)} to say so" for n in changed
            ]
            unchanged = [n for n in plain if n not in changed]
            chosen = (best.builder, best.raw, count_notes + best.builder.notes + notes
                      + _default_notes(best, unchanged, best.kinds, attempt))
            if best.scalar:  # a loss is what the course differentiates: a scalar reading wins
                return chosen
            fallback = fallback or chosen
    if fallback is not None:
        return fallback
    raise first_error


def _row_hints(raw: Raw, free) -> set:
    """Lowercase latin names written just left of an uppercase one in a product (`x W_1`,
    also inside a call: `σ(x W_1)`): the book's row vectors (observations as rows)."""
    out = set()
    for r in walk_raw(raw):
        if r.op not in ("mul", "word"):
            continue
        for a, b in zip(r.kids, r.kids[1:]):
            if a.op == "sym" and b.op == "sym" and a.data in free and a.data[:1].islower() \
                    and a.data[:1].isascii() and b.data[:1].isupper():
                out.add(a.data)
    return out


def _kind_word(kind: str) -> str:
    return "row vector" if kind == "row" else kind


def _declaration(kind: str, name: str) -> str:
    """How to declare a kind (API argument form; the CLI shows it as a flag)."""
    return f"dim={pretty_name(name)}=1xn" if kind == "row" else f"{kind}={pretty_name(name)}"


def _vector_notes(reading, free, defaults, attempt) -> list:
    """When the default reading gives a vector or matrix result but reading some lowercase
    latin names as scalars gives a scalar f, say so: `tanh(t)`, `-log σ(y wᵀx)`."""
    if reading.scalar:
        return []
    names = [n for n in free if defaults[n] == "vector" and not is_greek(n) and n[0].islower()]
    scalars = []
    for n in names[:8]:
        try:
            if attempt({**defaults, n: "scalar"}).scalar:
                scalars.append(n)
        except (ShapeError, ParseError):
            continue
    if not scalars:
        return []
    listed = ",".join(pretty_name(n) for n in scalars)
    return [f"{', '.join(pretty_name(n) for n in scalars)} {'is' if len(scalars) == 1 else 'are'} read as "
            f"{'a vector' if len(scalars) == 1 else 'vectors'} (the default for lowercase latin names), so "
            f"the result is not a scalar; declare scalar={listed} if {'it is a scalar' if len(scalars) == 1 else 'they are scalars'}"]


def _choose(found, all_scalar, attempt, cost=None):
    """The best reading: a scalar result first, then the fewest changed kinds, then the
    cheapest changes (`cost`: an uppercase name read as a column costs more than a lowercase
    one read as a scalar); a tie left is settled by the reading where every lowercase name
    is a scalar (the chain-rule exercises `(y - w·x)^2`), if that reading fits."""
    if not found:
        return None
    scalar = [f for f in found if f.scalar] or found  # the search went from few changes to many
    if len(scalar) == 1:
        return scalar[0]
    if cost is not None:
        least = min(cost(f) for f in scalar)
        cheapest = [f for f in scalar if cost(f) == least]
        if len(cheapest) == 1:
            return cheapest[0]
    try:
        reading = attempt(all_scalar)
        return reading if reading.scalar else None
    except (ShapeError, ParseError):
        return None


def _default_notes(reading, free, defaults, attempt) -> list:
    """Say so when a Greek name's default kind was taken but the other reading fits too
    (keeping a scalar result scalar): Σ in `(x - μ)ᵀ Σ⁻¹ (x - μ)` could be a scalar."""
    notes = []
    for n in free:
        if not is_greek(n):
            continue
        usual = kind_readings(n)[0][0]
        why = (f"the default for {'uppercase' if n[0].isupper() else 'lowercase'} Greek" if defaults[n] == usual
               else f"it is written transposed, {pretty_name(n)}ᵀ")
        for kind, _ in kind_readings(n):
            if kind == defaults[n]:
                continue
            try:
                other = attempt({**defaults, n: kind})
            except (ShapeError, ParseError):
                continue
            if other.scalar == reading.scalar or defaults[n] != usual:
                notes.append(f"{pretty_name(n)} is read as a {defaults[n]} ({why}); declare "
                             f"{kind}={pretty_name(n)} if it is a {kind}")
    return notes
