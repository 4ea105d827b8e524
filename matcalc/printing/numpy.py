"""NumPy (PyTorch, JAX) code for an Expr, in `np` and the variable names.

Vectors are 1-D arrays (row and column vectors alike), matrices 2-D, scalars
0-d. So the printer tracks shapes: a column times a row is an outer product,
everything else that multiplies is `@`, and `.T` is only written on 2-D operands.
Products are ordered by cost: a chain that ends in a vector is applied right to
left as matrix–vector products, never through a transposed matrix (`Xᵀ v` is
`v @ X`); an outer product `a bᵀ M` is formed only from the two vectors `a` and
`bᵀ M`; `A⁻¹ B` is `solve(A, B)` when the inverse is used once, `inv(A)` computed
once when it is used again; square chains go left to right, others through
`multi_dot` (which picks the order from the sizes); a diagonal scales, it is never
built. Ones are never built either: `M 1` is `M.sum(axis=1)`, `c 1` and `v 1ᵀ` are
broadcast where they are used (`1 - t ** 2`, `v[:, None] * S`). Sizes of I and of
arrays come from the variables (`X.shape[0]`).

Printing builds a CodeGraph, in which equal code is one node: the pieces of a stable
softmax (u − max u, its exp, their sum) are nodes, so a softmax and a log-softmax of one
u share them, and code_generation.py writes each node used twice as one local.
Parentheses come from Python's precedence table, only where needed.

The same printer writes PyTorch and JAX code: the namespace changes, and a few
calls that differ are methods or templates (`eye`, `ones`, `rowmax`, …).
"""
from __future__ import annotations

import ast
import keyword
from collections import Counter
from fractions import Fraction
from typing import NamedTuple

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


# Python's operator precedence, lowest first: a child is parenthesised when its code binds
# less tightly than its place in the parent asks for.
ADD, MUL, UNARY, POW, ATOM = 1, 2, 3, 4, 5
_BINARY = {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "@": MUL}
# left operands that take parentheses although Python does not need them: `(s * y) @ X`
_MIXED = {"@": ("{} * {}", "{} / {}"), "*": ("{} @ {}",), "/": ("{} @ {}",)}


class _Node(NamedTuple):
    fmt: str  # the code, with `{}` where each argument goes
    args: tuple  # ((node id, the least precedence written without parentheses), …)
    prec: int
    free: bool  # a name, a literal or a view (`X.T`): never worth a local
    loop: frozenset  # the loop indices it depends on (inside `sum(… for i in …)` only)


class CodeGraph:
    """Code as a graph in which equal code is one node (value numbering): a value the
    printer writes twice — the softmax shift in both the softmax and the log-softmax, X @ w
    in f and in its gradient — is one node, used twice, and `write` computes it once."""

    def __init__(self):
        self.nodes: list = []
        self._ids: dict = {}

    def add(self, fmt: str, prec: int, args=(), free: bool = False, loop=None) -> int:
        key = (fmt, args)
        i = self._ids.get(key)
        if i is None:
            if loop is None:
                loop = frozenset().union(*(self.nodes[a].loop for a, _ in args))
            i = len(self.nodes)
            self.nodes.append(_Node(fmt, args, prec, free, loop))
            self._ids[key] = i
        return i

    def free(self, i: int):
        self.nodes[i] = self.nodes[i]._replace(free=True)

    def render(self, i: int, ctx: int = 0, names: dict | None = None) -> str:
        """The code of node i, its arguments inline except those in `names` (id → local)."""
        if names and i in names:
            return names[i]
        n = self.nodes[i]
        s = n.fmt.format(*(self.render(a, c, names) for a, c in n.args))
        return f"({s})" if n.prec < ctx else s

    def write(self, roots: list, names: list, fresh) -> list:
        """(local, code) pairs, in an order that computes each before its use: every node
        used twice or more (and not free) once as `fresh("t")`; a root that is also used
        inside another root under its own name; then the roots not written yet."""
        inner: Counter = Counter()
        seen: set = set()

        def visit(i):
            if i in seen:
                return
            seen.add(i)
            for a, _ in self.nodes[i].args:
                inner[a] += 1
                visit(a)

        for r in roots:
            visit(r)
        for i in sorted(seen, reverse=True):  # a free node is written out at each use: so
            if self.nodes[i].free and inner[i] > 1:  # are its arguments ((A @ B).T twice)
                for a, _ in self.nodes[i].args:
                    inner[a] += inner[i] - 1
        as_root: dict = {}
        for r, name in zip(roots, names):
            as_root.setdefault(r, name)
        bound: dict = {}
        out = []
        for i in sorted(seen):  # ids grow as nodes are made: arguments come first
            node = self.nodes[i]
            if node.free or node.loop or inner[i] < (1 if i in as_root else 2):
                continue
            name = as_root.get(i) or fresh("t")
            out.append((name, self.render(i, 0, bound)))
            bound[i] = name
        for r, name in zip(roots, names):
            if bound.get(r) != name:
                out.append((name, self.render(r, 0, bound)))
        return out


class Bc(NamedTuple):
    """A value kept smaller than its Expr and broadcast where it is used (elementwise): kind
    "s" one scalar for every entry (c ⋅ ones), "c" a 1-D v for each column of a matrix
    (v 1ᵀ, written `v[:, None]`), "r" a 1-D v for each row (1 vᵀ)."""

    kind: str
    ref: int


_ONES = -1  # the all-ones vector at the end of a product: never built, it sums


def _number(v):
    """Code for a number and its precedence: 1/2 as 0.5 (exact decimals), 1/3 as 1/3."""
    if isinstance(v, Fraction):
        if v.denominator == 1:
            text = str(v.numerator)
        else:
            text = repr(float(v))
            if len(text) > 8 or Fraction(text) != v:
                return f"{v.numerator}/{v.denominator}", MUL
    else:
        text = repr(v)
    return text, (UNARY if text.startswith("-") else ATOM)


def _is_primary(fmt: str) -> bool:
    """A name, call, attribute or subscript at the top (binds tightest: no parentheses)."""
    depth, quote = 0, None
    for c in fmt:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and not (c.isalnum() or c in "_.{}"):
            return False
    return not fmt.startswith("{}") or fmt[2:3] in (".", "[")


def _esc(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class NumpyPrinter:
    ns = "np"

    def __init__(self, dim_sources: dict | None = None, names: dict | None = None,
                 like: str | None = None):
        self.dim_sources = dict(dim_sources or {})
        self.names = names if names is not None else {}  # symbol name → Python identifier
        # an input array whose dtype and device the constants (I, ones, zeros) follow
        self.like = like
        self.graph = CodeGraph()
        self.uses: Counter = Counter()  # Expr → its occurrences in what is printed (plan)
        self.inverse_uses: Counter = Counter()
        self.vector_solves: Counter = Counter()
        self._memo: dict = {}

    def ident(self, name: str) -> str:
        """The Python identifier of a symbol (code_generation.py chooses unique ones)."""
        return self.names.get(name) or py_name(name)

    # -- the calls that differ between backends (code with {} for the operand)
    def eye(self, n: str) -> str:
        return f"{self.ns}.eye({n})"

    def ones(self, shape: str) -> str:
        return f"{self.ns}.ones({shape})"

    def zeros(self, shape: str) -> str:
        return f"{self.ns}.zeros({shape})"

    def arange(self, n: str) -> str:
        return f"{self.ns}.arange({n})"

    rowmax = "{}.max(axis=1, keepdims=True)"
    rowsum_keep = "{}.sum(axis=1, keepdims=True)"
    rowsum = "{}.sum(axis=1)"
    colsum = "{}.sum(axis=0)"
    correlate = "np.correlate({}, {}, 'valid')"
    convolve = "np.convolve({}, {}, 'full')"

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

    # -- building code
    def plan(self, roots):
        """Count the occurrences of each Expr in `roots` (children once per distinct parent):
        the cost rules ask whether a value is used more than once."""
        seen: set = set()

        def count(e):
            self.uses[e] += 1
            if e in seen:
                return
            seen.add(e)
            for a in e.args:
                count(a)

        for r in roots:
            count(r)
        # each inverse: its uses (X⁻ᵀ is a use of X⁻¹), and how many are solves against a vector
        for e in seen:
            if isinstance(e, E.Transpose) and isinstance(e.arg, E.Inverse):
                continue  # counted where X⁻ᵀ is used
            chain = list(e.chain) if isinstance(e, E.MatMul) else []
            for a in e.args:
                inverse = _inverse_in(a)
                if inverse is None:
                    continue
                self.inverse_uses[inverse] += 1
                if a in chain:
                    i = chain.index(a)
                    if any(f.cols == 1 for f in chain[i + 1:]) or any(f.rows == 1 for f in chain[:i]):
                        self.vector_solves[inverse] += 1
        for r in roots:
            if _inverse_in(r) is not None:
                self.inverse_uses[_inverse_in(r)] += 1

    def reused(self, inverse: E.Inverse) -> bool:
        """Compute A⁻¹ once (`inv`) rather than `solve` at each use: a solve against a vector
        costs a third to a quarter of `inv` (one LU factorisation, against LU and the inverse;
        NumPy, one thread: n = 500: 12 vs 36 ms, n = 1000: 67 vs 267 ms), one against a
        matrix as much as `inv`; so inv from four uses against vectors, or from two when one
        of them is against a matrix."""
        n = self.inverse_uses[inverse]
        return n >= 4 or (n >= 2 and self.vector_solves[inverse] < n)

    def doprint(self, e: E.Expr) -> str:
        """One Python expression for e (no locals: nothing is planned as shared)."""
        self.learn_dims(e)
        return self.graph.render(self.p(e))

    def lit(self, text: str, prec: int = ATOM) -> int:
        return self.graph.add(_esc(text), prec, (), free=True)

    def number(self, v) -> int:
        return self.lit(*_number(v))

    def tpl(self, template: str, *refs: int, view: bool = False) -> int:
        """A node from code with `{}` for each operand. An operand inside call brackets or
        between commas is written bare; one in grouping parentheses `-({})` takes them only
        when it needs them; one before `.` or `[` must be an atom. `view`: no computation
        (`.T`, `[:, None]`): never a local of its own (its operand is one, if used twice)."""
        pieces = template.split("{}")
        if len(refs) == 1:  # f(u) written with u twice: `u / (1 + abs(u))`
            refs *= len(pieces) - 1
        assert len(pieces) == len(refs) + 1, template
        fmt, args = pieces[0], []
        for k, r in enumerate(refs):
            after = pieces[k + 1]
            if fmt.endswith("(") and after.startswith(")") and not fmt[-2:-1].isidentifier():
                fmt, after, ctx = fmt[:-1], after[1:], POW
                node = self.graph.nodes[r]
                if node.fmt == "-{}" and fmt.endswith(("(-", ", -", "[-")):  # a unary -(-u) = u
                    fmt, r, ctx = fmt[:-1], node.args[0][0], 0 if after[:1] in (")", ",", "]") else POW
            elif after[:1] in (".", "["):
                ctx = ATOM
            elif fmt.endswith(("(", "[", ", ")) and after[:1] in (")", ",", "]"):
                ctx = 0
            else:
                ctx = ATOM
            fmt += "{}" + after
            args.append((r, ctx))
        return self.graph.add(fmt, ATOM if _is_primary(fmt) else ADD, tuple(args), view)

    def op(self, a: int, o: str, b: int) -> int:
        if o == "**":
            return self.graph.add("{} ** {}", POW, ((a, ATOM), (b, UNARY)))
        p = _BINARY[o]
        left = p
        if self.graph.nodes[a].fmt in _MIXED.get(o, ()):
            left = p + 1  # (s * y) @ X, (X @ w) * y: `*` and `@` do not mix unseen
        return self.graph.add("{} " + o + " {}", p, ((a, left), (b, p + 1)))

    def negate(self, v):
        if isinstance(v, Bc):
            return Bc(v.kind, self.negate(v.ref))
        node = self.graph.nodes[v]
        if node.fmt == "-{}":  # -(-u) = u
            return node.args[0][0]
        # free: written at each use (one pass over the array; its operand is a local if shared)
        return self.graph.add("-{}", UNARY, ((v, POW),), free=True)

    def product(self, refs: list, o: str = "*") -> int:
        refs = [r for r in refs if self.graph.nodes[r].fmt != "1"] or refs[:1]
        out = refs[0]
        for r in refs[1:]:
            out = self.op(out, o, r)
        return out

    # -- values kept small and broadcast
    def full(self, v, shape) -> int:
        """v as an array of the Expr's shape."""
        if not isinstance(v, Bc):
            return v
        fmt = self.graph.nodes[v.ref].fmt
        if v.kind == "s" and fmt in ("0", "1"):
            return self.lit((self.zeros if fmt == "0" else self.ones)(self._shape_str(shape)))
        return self.op(self._expand(v), "*", self.lit(self.ones(self._shape_str(shape))))

    def _expand(self, v: Bc) -> int:
        return self.tpl("{}[:, None]", v.ref, view=True) if v.kind == "c" else v.ref

    def elementwise(self, vals: list, combine):
        """combine(refs) over operands of one shape, some of them broadcast: the result is
        broadcast too while every operand is (a column and a row make a full matrix)."""
        kinds = {v.kind for v in vals if isinstance(v, Bc)}
        if all(isinstance(v, Bc) for v in vals) and not {"c", "r"} <= kinds:
            return Bc(next(iter(kinds - {"s"}), "s"), combine([v.ref for v in vals]))
        return combine([self._expand(v) if isinstance(v, Bc) else v for v in vals])

    # -- dispatch
    def pb(self, e: E.Expr):
        """The code of e, possibly a broadcast value (Bc)."""
        r = self._memo.get(e)
        if r is None:
            method = getattr(self, "_print_" + type(e).__name__, None)
            if method is None:
                raise functions.MissingEntry(f"no {self.ns} code for {type(e).__name__}")
            r = self._memo[e] = method(e)
            if e.is_scalar and not isinstance(r, Bc) and all(not a.args and a.is_scalar for a in e.args):
                self.graph.free(r)  # 0.5 * n: a number from numbers, not worth a local
        return r

    def p(self, e: E.Expr) -> int:
        """The code of e, an array of e's shape."""
        return self.full(self.pb(e), e.shape)

    # -- leaves
    def _print_Symbol(self, e):
        return self.lit(self.ident(("d" if e.diff else "") + e.name))

    def _print_Const(self, e):
        return self.number(e.value)

    # -- sums over observations: a loop over the rows of the data (vectorise.py gives the
    # matrix form, which the code generator prefers)
    def _print_SumOver(self, e):
        if e.is_count:
            return self.lit(self.dim(e.n))
        i = py_name(e.index)
        body = self.p(e.body)
        fmt = "sum(({} for " + i + " in range(" + _esc(self.dim(e.n)) + ")), start=0.0)"
        return self.graph.add(fmt, ATOM, ((body, 0),), loop=self.graph.nodes[body].loop - {i})

    def _print_Indexed(self, e):
        i = py_name(e.index)
        data = self.p(e.data)
        return self.graph.add("{}[" + i + "]", ATOM, ((data, ATOM),),
                              loop=self.graph.nodes[data].loop | {i})

    def _print_Identity(self, e):
        return self.lit(self.eye(self.dim(e.n)))

    def _shape_str(self, shape):
        k = _kind(shape)
        if k == "s":
            return None
        if k in "cr":
            return f"({self.dim(shape[0] if k == 'c' else shape[1])},)"
        return f"({self.dim(shape[0])}, {self.dim(shape[1])})"

    def _print_Zero(self, e):
        s = self._shape_str(e.shape)
        return self.lit("0.0") if s is None else self.lit(self.zeros(s))

    def _print_Ones(self, e):
        return self.lit("1.0") if e.is_scalar else Bc("s", self.lit("1"))

    def _print_Commutation(self, e):
        m, n = self.dim(e.m), self.dim(e.n)
        # row i*n + j of K holds its 1 in column i + j*m
        return self.lit(f"{self.eye(f'{m} * {n}')}[{self.arange(f'{m} * {n}')}.reshape(({n}, {m})).T.reshape(-1)]")

    # -- sums and products
    def _print_Add(self, e):
        flipped = E.add(*(E.neg(t) for t in e.terms))
        if self.uses[flipped] and flipped.key < e.key:  # y - X w and X w - y: one computation
            return self.negate(self.pb(flipped))
        terms = list(e.terms)
        k = next((i for i, t in enumerate(terms) if not _negative(t)), 0)
        terms = terms[k:] + terms[:k]  # a - b rather than -b + a
        signs = ["+"] + ["-" if _negative(t) else "+" for t in terms[1:]]
        vals = [self.pb(E.neg(t) if s == "-" else t) for s, t in zip(signs, terms)]

        def combine(refs):
            out = refs[0]
            for s, r in zip(signs[1:], refs[1:]):
                out = self.op(out, s, r)
            return out

        return self.elementwise(vals, combine)

    def _print_Hadamard(self, e):
        return self.elementwise([self.pb(f) for f in e.factors], self.product)

    def _print_MatMul(self, e):
        if e.coeff == -1:
            return self.negate(self.pb(E.neg(e)))
        parts = ([self.number(e.coeff)] if e.coeff != 1 else []) + [self.p(s) for s in e.scalars]
        if not e.chain:
            return self.product(parts)
        if len(parts) > 1 and all(not s.args for s in e.scalars):  # (scalars are 1×1)
            parts = [self.product(parts)]
            self.graph.free(parts[0])  # 2 * lambda_: a number from numbers, not worth a local
        body = self._chain(list(e.chain)) if len(e.chain) > 1 else self.pb(e.chain[0])
        if isinstance(body, Bc):
            return Bc(body.kind, self.product(parts + [body.ref]))
        return self.product(parts + [body])

    def _chain(self, chain):
        """A product of two or more non-scalar factors, in a cheap order."""
        ns = self.ns
        if len(chain) == 2 and _is_ones(chain[:1]) and chain[1].cols == 1:  # 1ᵀ v = sum(v)
            return self.p(E.sum_entries(chain[1]))
        if len(chain) == 2 and _is_ones(chain[1:]) and chain[0].rows == 1:  # vᵀ 1 = sum(v)
            return self.p(E.sum_entries(E.transpose(chain[0])))
        for k in range(1, len(chain)):  # a column times a row: an outer product of two vectors
            if _kind(chain[k - 1].shape) == "c" and chain[k].rows == 1:
                left, right = chain[:k], chain[k:]
                ones_left, ones_right = _is_ones(left), _is_ones(right)
                if ones_left and ones_right:
                    return Bc("s", self.lit("1"))
                if ones_right:  # v 1ᵀ: v repeated in each column
                    return Bc("c", self._part(left))
                if ones_left:  # 1 vᵀ: v repeated in each row
                    return Bc("r", self._part(right))
                return self.tpl(f"{ns}.outer({{}}, {{}})", self._part(left), self._part(right))
        if chain[-1].cols == 1:  # … M v: matrix–vector products, right to left
            acc = _ONES if isinstance(chain[-1], E.Ones) else self.p(chain[-1])
            for f in reversed(chain[:-1]):
                acc = self._apply_left(f, acc)
            return acc
        if chain[0].rows == 1:  # vᵀ M …: vector–matrix products, left to right
            acc = _ONES if isinstance(chain[0], E.Ones) else self.p(chain[0])
            for f in chain[1:]:
                acc = self._apply_right(acc, f)
            return acc
        diags = [i for i, f in enumerate(chain) if isinstance(f, E.Diag)]
        if diags:  # M diag(v) N = (M * v) @ N: a diagonal scales, it is never built
            i = diags[0]
            v = self.p(chain[i].arg)
            left, right = chain[:i], chain[i + 1:]
            if left:
                scaled = self.op(self._part(left), "*", v)
                return self.op(scaled, "@", self._part(right)) if right else scaled
            return self.op(self.tpl("{}[:, None]", v, view=True), "*", self._part(right))
        solve = self._solvable(chain[0])
        if solve is not None:  # A⁻¹ B … = solve(A, B …)
            return self.tpl(f"{ns}.linalg.solve({{}}, {{}})", solve, self._part(chain[1:]))
        refs = [self.p(f) for f in chain]
        if len(chain) == 2 or len({f.rows for f in chain} | {chain[-1].cols}) == 1:
            return self.product(refs, "@")  # square (or two): left to right
        return self.tpl(f"{ns}.linalg.multi_dot([{', '.join('{}' for _ in refs)}])", *refs)

    def _part(self, chain) -> int:
        """A sub-chain's value as an array."""
        if len(chain) == 1:
            return self.p(chain[0])
        shape = (chain[0].rows, chain[-1].cols)
        return self.full(self._chain(chain), shape)

    def _solvable(self, f: E.Expr, transpose: bool = False):
        """For a factor A⁻¹ or A⁻ᵀ applied by `solve` (not reused): the code of A (Aᵀ) to
        solve with (with `transpose`, of its transpose: r A⁻¹ = solve(Aᵀ, r)); else None."""
        inverse = _inverse_in(f)
        if inverse is None or self.reused(inverse):
            return None
        m = inverse.arg
        return self.p(E.transpose(m) if (f is not inverse) != transpose else m)

    def _apply_left(self, f: E.Expr, acc) -> int:
        """f times the 1-D vector acc (_ONES: the all-ones vector, which is never built)."""
        ns = self.ns
        if isinstance(f, E.Ones):  # 1ᵀ v = sum(v)
            return self.lit(self.dim(f.cols)) if acc is _ONES else self.tpl(f"{ns}.sum({{}})", acc)
        if isinstance(f, E.Diag):  # diag(v) u = v * u
            return self.p(f.arg) if acc is _ONES else self.op(self.p(f.arg), "*", acc)
        ones = acc is _ONES
        if ones and f.rows == 1:
            return self.tpl(f"{ns}.sum({{}})", self.p(f))
        solve = self._solvable(f)
        if solve is not None:
            acc = self.lit(self.ones(self._shape_str((f.cols, 1)))) if ones else acc
            return self.tpl(f"{ns}.linalg.solve({{}}, {{}})", solve, acc)
        if isinstance(f, E.Transpose) and _ndim(f.arg.shape) == 2:  # Mᵀ v = v @ M
            return self.tpl(self.colsum, self.p(f.arg)) if ones else self.op(acc, "@", self.p(f.arg))
        return self.tpl(self.rowsum, self.p(f)) if ones else self.op(self.p(f), "@", acc)

    def _apply_right(self, acc, f: E.Expr) -> int:
        """The 1-D row acc times f (_ONES: the all-ones row)."""
        ns = self.ns
        if isinstance(f, E.Ones):
            return self.lit(self.dim(f.rows)) if acc is _ONES else self.tpl(f"{ns}.sum({{}})", acc)
        if isinstance(f, E.Diag):
            return self.p(f.arg) if acc is _ONES else self.op(acc, "*", self.p(f.arg))
        ones = acc is _ONES
        if ones and f.cols == 1:
            return self.tpl(f"{ns}.sum({{}})", self.p(f))
        solve = self._solvable(f, transpose=True)  # r A⁻¹ = solve(Aᵀ, r) for a 1-D r
        if solve is not None:
            acc = self.lit(self.ones(self._shape_str((f.rows, 1)))) if ones else acc
            return self.tpl(f"{ns}.linalg.solve({{}}, {{}})", solve, acc)
        if isinstance(f, E.Transpose) and _ndim(f.arg.shape) == 2:  # r Mᵀ = M @ r
            return self.tpl(self.rowsum, self.p(f.arg)) if ones else self.op(self.p(f.arg), "@", acc)
        return self.tpl(self.colsum, self.p(f)) if ones else self.op(acc, "@", self.p(f))

    def _print_Transpose(self, e):
        inner = self.pb(e.arg)
        if isinstance(inner, Bc):
            return Bc({"c": "r", "r": "c"}.get(inner.kind, "s"), inner.ref)
        return self.tpl("{}.T", inner, view=True) if _ndim(e.shape) == 2 else inner

    def _print_Inverse(self, e):
        return self.tpl(f"{self.ns}.linalg.inv({{}})", self.p(e.arg))

    def _print_Trace(self, e):
        a = e.arg
        if a.is_scalar:  # tr(s) = s, written out in a derivation step
            return self.p(a)
        if isinstance(a, E.MatMul) and a.coeff == 1 and not a.scalars and len(a.chain) >= 2 \
                and self.uses[a] < 2:
            # tr(P Q) = sum(P ⊙ Qᵀ) = sum(Pᵀ ⊙ Q): no product matrix is formed (unless it is
            # used elsewhere), and the side that is a transpose loses it
            first, rest = a.chain[0], E.mul(*a.chain[1:])
            if isinstance(first, E.Transpose):
                pair = self.p(first.arg), self.p(rest)
            else:
                pair = self.p(first), self.p(transposed(rest))
            return self.tpl(f"{self.ns}.sum({{}})", self.op(pair[0], "*", pair[1]))
        return self.tpl(f"{self.ns}.trace({{}})", self.p(a))

    def _print_Det(self, e):
        return self.tpl(f"{self.ns}.linalg.det({{}})", self.p(e.arg))

    def _print_Sum(self, e):
        if isinstance(e.arg, E.DiagPart):  # the sum of the diagonal is the trace
            return self.p(E.trace(e.arg.arg))
        v, total = self.pb(e.arg), f"{self.ns}.sum({{}})"
        if not isinstance(v, Bc):
            return self.tpl(total, v)
        # a broadcast value: its sum times the number of copies (never built)
        rows, cols = e.arg.shape
        copies = {"s": [rows, cols], "c": [cols], "r": [rows]}[v.kind]
        inner = v.ref if v.kind == "s" else self.tpl(total, v.ref)
        return self.product([inner, *(self.lit(self.dim(d), MUL if "*" in str(d) else ATOM)
                                      for d in copies if d != 1)])

    def _print_Diag(self, e):
        return self.tpl(f"{self.ns}.diag({{}})", self.p(e.arg))

    def _print_DiagPart(self, e):
        return self.tpl(f"{self.ns}.diag({{}})", self.p(e.arg))

    def function(self, name: str, v, shape=(1, 1)):
        """f(v) in this backend, from the function's record. The record's code is read into
        nodes (σ(u) = exp(−softplus(−u)) holds the node −u and softplus(−u), which f may
        compute too), or kept whole when it is more than calls and arithmetic."""
        return self.call(functions.get(name, "code").source(self.ns, "{}"), v, shape)

    def call(self, template: str, v, shape):
        """An elementwise function's code (`{}` for the argument) on v; a broadcast stays
        broadcast, except a bare number under torch (torch.exp(1) fails: not a tensor)."""
        if isinstance(v, Bc) and (self.ns != "torch" or self.graph.nodes[v.ref].args):
            return Bc(v.kind, self._code(template, v.ref))
        return self._code(template, self.full(v, shape))

    def _code(self, template: str, ref: int) -> int:
        try:
            tree = ast.parse(template.replace("{}", _ARG), mode="eval").body
            return self._from_ast(tree, ref)
        except (SyntaxError, _NotPlain):
            return self.tpl(template, ref)

    def _from_ast(self, n, ref: int) -> int:
        if isinstance(n, ast.Name) and n.id == _ARG:
            return ref
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            return self.number(n.value)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return self.negate(self._from_ast(n.operand, ref))
        if isinstance(n, ast.BinOp) and type(n.op) in _AST_OPS:
            return self.op(self._from_ast(n.left, ref), _AST_OPS[type(n.op)], self._from_ast(n.right, ref))
        if isinstance(n, ast.Call) and _dotted(n.func) and all(k.arg for k in n.keywords):
            args = [self._from_ast(a, ref) for a in n.args]
            args += [self._from_ast(k.value, ref) for k in n.keywords]
            holes = ["{}"] * len(n.args) + [f"{k.arg}={{}}" for k in n.keywords]
            return self.tpl(f"{ast.unparse(n.func)}({', '.join(holes)})", *args)
        raise _NotPlain

    def _print_Func(self, e):
        if e.name == "log" and isinstance(e.arg, E.Softmax):  # log-softmax: the maxima shifted out
            _, z, _, s = self._shifted(e.arg.arg)
            return self.op(z, "-", self.tpl(f"{self.ns}.log({{}})", s))
        stable = stable_form(e)  # ln σ(u) = −softplus(−u), … (simplify.STABLE_RULES)
        if stable is not None:
            return self.pb(stable)
        if e.name == "log" and isinstance(e.arg, E.Det):
            return self.tpl(f"{self.ns}.linalg.slogdet({{}})[1]", self.p(e.arg.arg))
        if e.name == "log" and isinstance(e.arg, E.Add) and len(e.arg.terms) == 2:
            one, ex = e.arg.terms  # log(1 + exp(u)) without overflow
            if isinstance(one, (E.Func,)) and not isinstance(ex, E.Func):
                one, ex = ex, one
            if ((isinstance(one, E.Const) and one.value == 1) or isinstance(one, E.Ones)) and \
                    isinstance(ex, E.Func) and ex.name == "exp":
                return self.function("softplus", self.pb(ex.arg), e.shape)
        return self.function(e.name, self.pb(e.arg), e.shape)

    def _print_Power(self, e):
        base = self.pb(e.base)
        if e.exponent == Fraction(1, 2):
            return self.call(f"{self.ns}.sqrt({{}})", base, e.shape)
        if isinstance(base, Bc):
            return Bc(base.kind, self.op(base.ref, "**", self.number(e.exponent)))
        return self.op(base, "**", self.number(e.exponent))

    def _shifted(self, u: E.Expr):
        """(m, z, e^z, Σ e^z) for u with its maximum m (each row's, for a matrix) shifted
        out: softmax, log-softmax and logsumexp of one u share these nodes."""
        ns, ref = self.ns, self.p(u)
        rows = _ndim(u.shape) == 2
        m = self.tpl(self.rowmax if rows else f"{ns}.max({{}})", ref)
        z = self.op(ref, "-", m)
        ez = self.tpl(f"{ns}.exp({{}})", z)
        return m, z, ez, self.tpl(self.rowsum_keep if rows else f"{ns}.sum({{}})", ez)

    def _print_Softmax(self, e):
        _, _, ez, s = self._shifted(e.arg)
        return self.op(ez, "/", s)

    def _print_LogSumExp(self, e):
        m, _, _, s = self._shifted(e.arg)
        return self.op(m, "+", self.tpl(f"{self.ns}.log({{}})", s))

    def _print_Conv(self, e):
        return self.tpl(self.correlate, self.p(e.signal), self.p(e.kernel))

    def _print_ConvT(self, e):
        return self.tpl(self.convolve, self.p(e.signal), self.p(e.kernel))

    def _print_Vec(self, e):  # column-major: the columns stacked
        return self.tpl("{}.reshape(-1)", self.p(E.transpose(e.arg)))

    def _print_Kron(self, e):
        out = self.tpl(f"{self.ns}.kron({{}}, {{}})", self._as2d(e.left), self._as2d(e.right))
        # np.kron of 2-D operands is 2-D; a vector result is 1-D like every other vector here
        return self.tpl("{}.reshape(-1)", out) if _kind(e.shape) in "cr" else out

    def _as2d(self, e):
        k = _kind(e.shape)
        s = self.p(e)
        if k == "c":
            return self.tpl("{}.reshape(-1, 1)", s)
        if k == "r":
            return self.tpl("{}.reshape(1, -1)", s)
        return s


def transposed(e: E.Expr) -> E.Expr:
    """eᵀ with the transpose taken inside products, sums and elementwise nodes."""
    if isinstance(e, E.Transpose):
        return e.arg
    if isinstance(e, E.MatMul):
        return E.mul(E.Const(e.coeff), *e.scalars, *(transposed(f) for f in reversed(e.chain)))
    if isinstance(e, E.Add):
        return E.add(*map(transposed, e.terms))
    if isinstance(e, E.Hadamard):
        return E.hadamard(*map(transposed, e.factors))
    if isinstance(e, E.Func):
        return E.func(e.name, transposed(e.arg))
    if isinstance(e, E.Power):
        return E.power(transposed(e.base), e.exponent)
    return E.transpose(e)


def _negative(t: E.Expr) -> bool:
    return (isinstance(t, E.MatMul) and t.coeff < 0) or (isinstance(t, E.Const) and t.value < 0)


_ARG = "__matcalc_u__"
_AST_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


class _NotPlain(Exception):
    """A function's code that is more than calls, numbers and arithmetic."""


def _dotted(n) -> bool:
    return isinstance(n, ast.Name) or (isinstance(n, ast.Attribute) and _dotted(n.value))


def _inverse_in(f: E.Expr):
    """The Inverse node of a factor A⁻¹ or A⁻ᵀ, else None."""
    if isinstance(f, E.Transpose):
        f = f.arg
    return f if isinstance(f, E.Inverse) else None


def _is_ones(chain) -> bool:
    return len(chain) == 1 and isinstance(chain[0], E.Ones)


class JaxPrinter(NumpyPrinter):
    """JAX: constants take the dtype of an input array (float32 stays float32 with x64 on)."""

    ns = "jnp"
    correlate = "jnp.correlate({}, {}, 'valid')"
    convolve = "jnp.convolve({}, {}, 'full')"

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
    rowmax = "torch.amax({}, dim=1, keepdim=True)"
    rowsum_keep = "torch.sum({}, dim=1, keepdim=True)"
    rowsum = "torch.sum({}, dim=1)"
    colsum = "torch.sum({}, dim=0)"
    correlate = "torch.nn.functional.conv1d({}.view(1, 1, -1), {}.view(1, 1, -1)).view(-1)"
    convolve = "torch.nn.functional.conv_transpose1d({}.view(1, 1, -1), {}.view(1, 1, -1)).view(-1)"

    def _like(self):
        return f", dtype={self.like}.dtype, device={self.like}.device" if self.like else ""

    def eye(self, n):
        return f"torch.eye({n}{self._like()})"

    def ones(self, shape):
        return f"{self.like}.new_ones({shape})" if self.like else f"torch.ones({shape})"

    def zeros(self, shape):
        return f"{self.like}.new_zeros({shape})" if self.like else f"torch.zeros({shape})"

    def arange(self, n):
        return f"torch.arange({n}, device={self.like}.device)" if self.like else f"torch.arange({n})"


PRINTERS = {"numpy": NumpyPrinter, "jax": JaxPrinter, "torch": TorchPrinter}


def to_numpy(e: E.Expr, dim_sources: dict | None = None, context=()) -> str:
    """NumPy source for e; the `context` expressions (f, the variable) supply sizes."""
    printer = NumpyPrinter(dim_sources)
    for c in context:
        printer.learn_dims(c)
    return printer.doprint(e)
