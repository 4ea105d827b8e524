"""Bridges to SymPy's matrix expressions: `to_sympy(expr)` and `from_sympy(expr)`.

Symbolic sizes become SymPy symbols (`n`), numeric ones integers. Scalars are SymPy
symbols, vectors n×1 and matrices MatrixSymbols; elementwise functions of arrays
become `ElementwiseApplyFunction`, ⊙ `HadamardProduct`, `.^p` `HadamardPower`,
⊗ `KroneckerProduct`, sum of entries `1ᵀ A 1`. SymPy is imported only here.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from . import expr as E
from . import functions
from .errors import DerivationError
from .walk import RuleTable


def _sp():
    import sympy

    return sympy


def _dim(d):
    sp = _sp()
    return d if isinstance(d, int) else sp.Symbol(str(d), integer=True, positive=True)


# Nodes SymPy's matrix expressions cannot say; to_sympy names them in its error.
NO_SYMPY = {
    E.Vec: "SymPy has no vec of a matrix expression",
    E.Commutation: "SymPy has no commutation matrix",
    E.SumOver: "a sum over observations (Σ_i) has no SymPy matrix form; use the matrix form "
               "(matcalc diff prints it) or write the sum with X",
    E.Indexed: "an observation x_i has no SymPy matrix form; write the sum with X",
    E.Conv: "SymPy has no convolution of matrix expressions",
    E.ConvT: "SymPy has no transposed convolution of matrix expressions",
}


def _scalar_function(name: str):
    """The SymPy callable of an elementwise function, from its record."""
    return functions.get(name, "SymPy counterpart").to_sympy(_sp())


def _unary_table():
    """(matcalc node, SymPy class, matcalc constructor): one table for both directions."""
    sp = _sp()
    from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

    return [(E.Transpose, sp.Transpose, E.transpose), (E.Inverse, sp.Inverse, E.inv),
            (E.Trace, sp.Trace, E.trace), (E.Det, sp.Determinant, E.det),
            (E.Diag, DiagMatrix, E.diag), (E.DiagPart, DiagonalOf, E.diag_part)]


TO_SYMPY = RuleTable()  # node type → rule(node, converted children) → SymPy expression
to_rule = TO_SYMPY.rule


def to_sympy(e: E.Expr):
    """A SymPy (matrix) expression equal to e: one rule per node type (TO_SYMPY); a node
    without one is converted through its definition() in other nodes, or named in the error."""
    _register_unary_rules()
    memo: dict = {}

    def go(n):
        got = memo.get(n)
        if got is not None:
            return got
        if type(n) in NO_SYMPY:
            raise functions.MissingEntry(f"no SymPy counterpart for {type(n).__name__}: {NO_SYMPY[type(n)]}")
        rule = TO_SYMPY.get(type(n))
        if rule is not None:
            out = rule(n, [go(a) for a in n.args])
        elif n.definition() is not None:  # a node written in other nodes: convert those
            out = go(n.definition())
        else:
            raise functions.MissingEntry(f"no SymPy counterpart for {type(n).__name__}: no rule for it "
                                         f"in sympy_interop.py and no definition() in expr.py")
        memo[n] = out
        return out

    return go(e)


@to_rule(E.Symbol)
def sympy_symbol(n, args):
    """a scalar is a Symbol, an array a MatrixSymbol (dX named `dX`)"""
    sp = _sp()
    name = ("d" if n.diff else "") + n.name
    return sp.Symbol(name) if n.is_scalar else sp.MatrixSymbol(name, _dim(n.nrows), _dim(n.ncols))


@to_rule(E.Const)
def sympy_const(n, args):
    """an exact rational stays exact"""
    sp = _sp()
    v = n.value
    return sp.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else sp.Float(v)


@to_rule(E.Identity)
def sympy_identity(n, args):
    """I(n)"""
    return _sp().Identity(_dim(n.n))


@to_rule(E.Zero)
def sympy_zero(n, args):
    """0 or ZeroMatrix"""
    sp = _sp()
    return sp.Integer(0) if n.is_scalar else sp.ZeroMatrix(_dim(n.nrows), _dim(n.ncols))


@to_rule(E.Ones)
def sympy_ones(n, args):
    """1 or OneMatrix"""
    sp = _sp()
    return sp.Integer(1) if n.is_scalar else sp.OneMatrix(_dim(n.nrows), _dim(n.ncols))


@to_rule(E.Add)
def sympy_add(n, args):
    """a sum of scalars is Add, of arrays MatAdd"""
    sp = _sp()
    if n.is_scalar and not any(isinstance(a, sp.MatrixExpr) for a in args):
        return sp.Add(*args)
    return sp.MatAdd(*args).doit()


@to_rule(E.MatMul)
def sympy_matmul(n, args):
    """c · scalars · chain: Mul of the scalars, MatMul with the chain"""
    sp = _sp()
    k = len(n.scalars)
    scalars, chain = args[:k], args[k:]
    c = sympy_const(E.Const(n.coeff), [])
    return sp.Mul(c, *scalars) if not chain else sp.MatMul(sp.Mul(c, *scalars), *chain).doit()


def _unary_rule(node, make):
    @to_rule(node)
    def sympy_unary(n, args):
        return make(args[0])

    sympy_unary.__doc__ = f"{node.__name__} → SymPy's counterpart"
    return sympy_unary


@to_rule(E.Sum)
def sympy_sum(n, args):
    """sum(A) = tr(1ᵀ A 1): the trace keeps it a scalar SymPy multiplies with arrays"""
    sp = _sp()
    a = n.arg
    return sp.Trace(sp.OneMatrix(1, _dim(a.rows)) * args[0] * sp.OneMatrix(_dim(a.cols), 1))


@to_rule(E.Hadamard)
def sympy_hadamard(n, args):
    """A ⊙ B = HadamardProduct"""
    return _sp().HadamardProduct(*args)


@to_rule(E.Power)
def sympy_power(n, args):
    """sᵖ for a scalar, HadamardPower for an array"""
    sp = _sp()
    p = sympy_const(E.Const(n.exponent), [])
    return args[0] ** p if n.base.is_scalar else sp.HadamardPower(args[0], p)


@to_rule(E.Func)
def sympy_func(n, args):
    """f(s) for a scalar, ElementwiseApplyFunction for an array (f from the function's record)"""
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    f = _scalar_function(n.name)
    return f(args[0]) if n.arg.is_scalar else ElementwiseApplyFunction(f, args[0])


@to_rule(E.Kron)
def sympy_kron(n, args):
    """A ⊗ B = KroneckerProduct"""
    return _sp().KroneckerProduct(*args)


@lru_cache(maxsize=1)
def _register_unary_rules():
    """ᵀ, ⁻¹, tr, det, diag: one table for both directions (_unary_table), SymPy imported late."""
    for node, cls, _ in _unary_table():
        if node not in TO_SYMPY:
            _unary_rule(node, (lambda c: (lambda a: c(a).doit()))(cls) if node is E.Transpose else cls)


def from_sympy(s, fold: bool = True) -> E.Expr:
    """The matcalc expression of a SymPy matrix expression (MatrixSymbol, MatMul, MatAdd,
    Transpose, Inverse, Trace, Determinant, HadamardProduct, log, exp, …)."""
    sp = _sp()
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    from sympy.matrices.expressions.matexpr import MatrixElement

    def dim(d):
        if d.is_Integer:
            return int(d)
        return str(d)

    def go(x):
        if isinstance(x, sp.Sum) and x.has(MatrixElement):  # (xᵀ A x)[0, 0] written out
            return go(_indexed_to_matrix(x))
        found = _as_function(x)
        if found is not None:
            return E.func(found[0], go(found[1]))
        if isinstance(x, sp.MatrixSymbol):
            return E.Symbol(x.name, dim(x.shape[0]), dim(x.shape[1]))
        if isinstance(x, sp.Symbol):
            return E.Symbol(x.name, 1, 1)
        if isinstance(x, sp.Rational):
            return E.Const(Fraction(int(x.p), int(x.q)))
        if isinstance(x, sp.Float):
            return E.Const(float(x))
        if isinstance(x, sp.Identity):
            return E.Identity(dim(x.shape[0]))
        if isinstance(x, sp.ZeroMatrix):
            return E.Zero(dim(x.shape[0]), dim(x.shape[1]))
        if isinstance(x, sp.OneMatrix):
            return E.Ones(dim(x.shape[0]), dim(x.shape[1]))
        if isinstance(x, sp.MatPow):
            return _matrix_power(go(x.base), x.exp)
        if isinstance(x, sp.Trace) and isinstance(x.arg, sp.MatMul):
            ones = _sum_of_entries(x.arg)  # 1ᵀ A 1: how to_sympy writes sum(A)
            if ones is not None:
                return E.sum_entries(go(ones))
        args = [go(a) for a in x.args] if not isinstance(x, ElementwiseApplyFunction) else None
        if isinstance(x, (sp.MatAdd, sp.Add)):
            return E.add(*args)
        if isinstance(x, (sp.MatMul, sp.Mul)):
            return E.mul(*args)
        for _, cls, make in _unary_table():
            if isinstance(x, cls):
                return make(args[0])
        if isinstance(x, sp.HadamardProduct):
            return E.hadamard(*args)
        if isinstance(x, sp.HadamardPower):
            return E.power(args[0], Fraction(str(x.exp)))
        if isinstance(x, sp.Pow):
            base, p = args
            if not isinstance(p, E.Const):
                raise DerivationError(f"matcalc needs numeric exponents, not {x.exp}")
            if base.is_scalar:
                return E.power(base, p.value)
            if p.value == -1:
                return E.inv(base)
            n = int(p.value)
            return E.mul(*([base if n > 0 else E.inv(base)] * abs(n)))
        if isinstance(x, sp.KroneckerProduct):
            return E.kron(*args)
        if isinstance(x, ElementwiseApplyFunction):
            name = _function_name(x.function)
            return E.func(name, go(x.expr))
        if isinstance(x, sp.Function) and len(args) == 1:
            name = _function_name(x.func, quiet=True)
            if name is not None:
                return E.func(name, args[0])
        if isinstance(x, MatrixElement) and x.parent.shape == (1, 1):
            return go(x.parent)
        raise DerivationError(f"matcalc has no counterpart for the SymPy {type(x).__name__} in {x}")

    e = go(s)
    return _fold_definitions(e) if fold else e


def _indexed_to_matrix(x):
    """A sum over matrix entries as a matrix expression (SymPy's array conversion)."""
    from sympy.tensor.array.expressions import convert_array_to_matrix, convert_indexed_to_array

    try:
        return convert_array_to_matrix(convert_indexed_to_array(x))
    except Exception as err:  # noqa: BLE001 - SymPy raises many kinds here
        raise DerivationError(f"matcalc has no counterpart for the SymPy index sum {x}: write it "
                              f"as a matrix expression ({type(err).__name__})") from None


def _matrix_power(base: E.Expr, exponent) -> E.Expr:
    """X**k for a SymPy MatPow: a 1×1 base is a scalar power; an integer k a product."""
    sp = _sp()
    if not exponent.is_number:
        raise DerivationError(f"matcalc needs numeric exponents, not {exponent}")
    p = Fraction(str(sp.nsimplify(exponent)))
    if base.is_scalar:
        return E.power(base, p)
    if p.denominator != 1:
        raise DerivationError(f"matcalc has no matrix power {p} of a matrix (only integer powers)")
    k = int(p)
    if k == 0:
        return E.Identity(base.rows)
    return E.mul(*([base if k > 0 else E.inv(base)] * abs(k)))


def _sum_of_entries(m):
    """A of a SymPy product 1ᵀ A 1 (the ones of the right sizes at both ends), else None."""
    sp = _sp()
    numbers = [f for f in m.args if not isinstance(f, sp.MatrixExpr)]  # c 1ᵀ A 1 = 1ᵀ (c A) 1
    factors = [f for f in m.args if isinstance(f, sp.MatrixExpr)]
    if len(factors) >= 2 and isinstance(factors[0], sp.OneMatrix) and factors[0].shape[0] == 1:
        inner = factors[1:]
        if isinstance(inner[-1], sp.OneMatrix) and inner[-1].shape[1] == 1 and len(inner) > 1:
            inner = inner[:-1]
        if inner[-1].shape[1] == 1 or len(factors) > 2:
            return sp.MatMul(*numbers, *inner) if numbers or len(inner) > 1 else inner[0]
    return None


# Nodes SymPy has no class for, which to_sympy writes out by their definition(); from_sympy
# folds a definition back into the node (softmax(u), logsumexp(u)), with u any exp argument.
FOLDED = (E.softmax, E.logsumexp)


def _fold_definitions(e: E.Expr) -> E.Expr:
    from .walk import map_bottom_up

    def fold(n):
        for u in {m.arg for m in _exp_nodes(n)}:
            for make in FOLDED:
                try:
                    candidate = make(u)
                except Exception:  # noqa: BLE001 - u is not an argument this node takes
                    continue
                if type(candidate) is type(n):
                    continue
                d = from_sympy(to_sympy(candidate), fold=False)
                if candidate.shape == n.shape and d == n:
                    return candidate
                inside = _replace_in_product(n, d, candidate)  # x^T exp(u) / sum(exp(u))
                if inside is not None:
                    return fold(inside)
        return n

    return map_bottom_up(e, fold, {})


def _replace_in_product(n: E.Expr, d: E.Expr, node: E.Expr):
    """The product n with the factors of the product d (its scalars, a run of its chain)
    replaced by node, or None when n does not hold them all."""
    if not (isinstance(n, E.MatMul) and isinstance(d, E.MatMul) and d.coeff == 1):
        return None
    scalars = list(n.scalars)
    for f in d.scalars:
        if f not in scalars:
            return None
        scalars.remove(f)
    chain, k = list(n.chain), len(d.chain)
    for i in range(len(chain) - k + 1):
        if tuple(chain[i:i + k]) == tuple(d.chain):
            placed = [node] if k else []
            rest = chain[:i] + placed + chain[i + k:]
            extra = [node] if not k else []
            return E.mul(E.Const(n.coeff), *scalars, *extra, *rest)
    return None


def _exp_nodes(e: E.Expr):
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, E.Func) and n.name == "exp":
            yield n
        stack.extend(n.args)


@lru_cache(maxsize=1)
def _body_patterns():
    """(wild, [(record, its SymPy body in the wild)]), the larger bodies first; plain
    function classes (sp.tanh) are matched by name instead."""
    sp = _sp()
    w = sp.Wild("w")
    out = []
    for record in functions.FUNCTIONS_LIST:
        if record.sympy is None:
            continue
        pattern = record.sympy(sp, w)
        if not (isinstance(pattern, sp.Function) and pattern.args == (w,)):
            out.append((record, pattern))
    out.sort(key=lambda rp: -sp.count_ops(rp[1]))
    return w, out


def _as_function(x):
    """(record name, argument) when the scalar SymPy expression x is one of the records'
    bodies applied to an argument (Max(0, u) is relu(u), 1/(1 + e^(-u)) is sigmoid(u))."""
    sp = _sp()
    if isinstance(x, sp.MatrixExpr) or x.is_Atom or x.has(sp.MatrixExpr):
        return None
    if isinstance(x, sp.Function) and len(x.args) == 1 and not isinstance(x, sp.log):
        return None  # sin(u) is matched by name; log(1 + e^u) may be softplus(u)
    w, patterns = _body_patterns()
    for record, pattern in patterns:
        m = x.match(pattern)
        if m and w in m and sp.simplify(pattern.subs(w, m[w]) - x) == 0:
            return record.name, m[w]
    return None


def _function_name(f, quiet: bool = False):
    """The record whose SymPy counterpart is f (a SymPy function class or a Lambda)."""
    sp = _sp()
    for record in functions.FUNCTIONS_LIST:
        if record.sympy is None:
            continue
        if f == record.to_sympy(sp):
            return record.name
        if isinstance(f, sp.Lambda) and len(f.variables) == 1:
            t = f.variables[0]
            if sp.simplify(f.expr - record.sympy(sp, t)) == 0:
                return record.name
    if quiet:
        return None
    raise DerivationError(f"matcalc has no counterpart for the SymPy function {f}")
