"""Rewriting to a normal form: a tuple of small named rules and a bottom-up driver.

Each rule takes a node whose children are already simplified and returns either
the node itself (does not apply) or an equal expression. The driver applies the
rules bottom-up to a fixed point. `simplify` keeps products of sums as they are
(for display: `-2 Xᵀ(y - Xw)`); `normal_form` also expands them, sorts the terms
and rotates traces, so that two equal expressions get the same key.
"""
from __future__ import annotations

from fractions import Fraction

from . import expr as E
from .walk import map_bottom_up


def _count_transposes(e: E.Expr) -> int:
    n = 1 if isinstance(e, E.Transpose) else 0
    return n + sum(_count_transposes(a) for a in e.args)


# ---------------------------------------------------------------- rules


def push_transpose(e):
    """(AB)ᵀ = BᵀAᵀ, (A+B)ᵀ = Aᵀ+Bᵀ, (A⁻¹)ᵀ = (Aᵀ)⁻¹: transposes move to the leaves."""
    if not isinstance(e, E.Transpose):
        return e
    a = e.arg
    if isinstance(a, E.Add):
        return E.add(*(E.transpose(t) for t in a.terms))
    if isinstance(a, E.MatMul):
        return E.mul(E.Const(a.coeff), *(E.transpose(f) for f in reversed(a.factors)))
    if isinstance(a, E.Inverse):
        return E.inv(E.transpose(a.arg))
    if isinstance(a, E.Hadamard):
        return E.hadamard(*(E.transpose(f) for f in a.factors))
    if isinstance(a, E.Func):
        return E.func(a.name, E.transpose(a.arg))
    if isinstance(a, E.Power):
        return E.power(E.transpose(a.base), a.exponent)
    if isinstance(a, E.Kron):
        return E.kron(E.transpose(a.left), E.transpose(a.right))
    if isinstance(a, E.SumOver):  # (Σ_i A_i)ᵀ = Σ_i A_iᵀ
        return E.sum_over(a.index, a.n, E.transpose(a.body))
    return e


def _all_square(factors) -> bool:
    return all(f.rows == f.cols for f in factors)


def inverse_of_product(e):
    """(AB)⁻¹ = B⁻¹A⁻¹ when every factor is square."""
    if isinstance(e, E.Inverse) and isinstance(e.arg, E.MatMul):
        a = e.arg
        if not a.scalars and _all_square(a.chain):
            return E.mul(E.Const(1 / a.coeff), *(E.inv(f) for f in reversed(a.chain)))
    return e


def _pull_scalars(e: E.Expr):
    """A product as (scalar part, matrix part): c s A B → (c s, A B)."""
    if isinstance(e, E.MatMul) and e.chain and (e.coeff != 1 or e.scalars):
        return E.mul(E.Const(e.coeff), *e.scalars), E.mul(*e.chain)
    return None, e


def linear_through(e):
    """tr, sum and diagvec are linear: they split over sums and let scalars out."""
    if not isinstance(e, (E.Trace, E.Sum)):
        return e
    a = e.arg
    if isinstance(a, E.Add):
        return E.add(*(e.rebuild((t,)) for t in a.terms))
    s, rest = _pull_scalars(a)
    if s is not None:
        return E.mul(s, e.rebuild((rest,)))
    if isinstance(a, E.Transpose):
        return e.rebuild((a.arg,))
    return e


def trace_to_scalar(e):
    """tr(a bᵀ) = bᵀa: a trace whose product can be rotated into a 1×1 product."""
    if isinstance(e, E.Trace) and isinstance(e.arg, E.MatMul) and not e.arg.scalars and e.arg.coeff == 1:
        ch = e.arg.chain
        for k in range(1, len(ch)):
            if ch[k].rows == 1:
                return E.mul(*ch[k:], *ch[:k])
    return e


def log_softmax(e):
    """ln softmax(u) = u − logsumexp(u) 1 (the log-sum-exp shift: no exp overflows, no log 0);
    row-wise ln softmax(Z) = Z − ln(exp(Z) 1) 1ᵀ (evaluated and printed with the row maxima
    shifted out, numeric.py and printing/numpy.py)."""
    if isinstance(e, E.Func) and e.name == "log" and isinstance(e.arg, E.Softmax):
        u = e.arg.arg
        if u.cols == 1:
            return E.sub(u, E.mul(E.logsumexp(u), E.Ones(*u.shape)))
        k = u.cols
        row_lse = E.func("log", E.mul(E.func("exp", u), E.Ones(k, 1)))
        return E.sub(u, E.mul(row_lse, E.Ones(1, k)))
    return e


def log_sigmoid(e):
    """ln σ(u) = −softplus(−u): finite where σ(u) underflows to 0 (u ≪ 0)."""
    if isinstance(e, E.Func) and e.name == "log" and isinstance(e.arg, E.Func) and e.arg.name == "sigmoid":
        return E.neg(E.func("softplus", E.neg(e.arg.arg)))
    return e


def _one_minus_sigmoid(e):
    """u when e is 1 − σ(u) (scalar or elementwise), else None."""
    if isinstance(e, E.Add) and len(e.terms) == 2:
        for one, other in (e.terms, reversed(e.terms)):
            if (isinstance(one, E.Const) and one.value == 1) or isinstance(one, E.Ones):
                s = E.neg(other)
                if isinstance(s, E.Func) and s.name == "sigmoid" and s.shape == e.shape:
                    return s.arg
    return None


def log_one_minus_sigmoid(e):
    """ln(1 − σ(u)) = −softplus(u): finite where 1 − σ(u) rounds to 0 (u ≫ 0)."""
    if isinstance(e, E.Func) and e.name == "log":
        u = _one_minus_sigmoid(e.arg)
        if u is not None:
            return E.neg(E.func("softplus", u))
    return e


# Rules that turn a value that overflows or takes log 0 at extreme arguments into a stable
# one; the evaluator and the code printers apply them too (`stable_form`).
STABLE_RULES = (log_softmax, log_sigmoid, log_one_minus_sigmoid)


def stable_form(e: E.Expr):
    """e rewritten by the first stable-value rule that applies at its top node, or None.
    (A row-wise ln softmax(Z) is left to the evaluator and the printers, which shift out
    the row maxima themselves.)"""
    if isinstance(e, E.Func) and isinstance(e.arg, E.Softmax) and e.arg.cols != 1:
        return None
    for rule in STABLE_RULES:
        r = rule(e)
        if r is not e and r != e:
            return r
    return None


def stabilized(e: E.Expr) -> E.Expr:
    """e with every node a stable-value rule applies to rewritten (codegen prints this)."""
    return map_bottom_up(e, lambda n: stable_form(n) or n, {})


def _bases(f: E.Expr):
    return f.base if isinstance(f, E.Power) else f


def inner_with_hadamard(e):
    """aᵀ (b ⊙ a⁻¹) = sum(b): an inner product whose ⊙ side shares a base with a."""
    if isinstance(e, E.MatMul) and e.is_scalar and len(e.chain) == 2 and e.coeff == 1 and not e.scalars:
        left, right = e.chain
        if isinstance(left, E.Transpose) and isinstance(right, E.Hadamard):
            a = left.arg
            if any(_bases(f) == a for f in right.factors):
                return E.sum_entries(E.hadamard(a, right))
    return e


def sum_of_hadamard(e):
    """sum(a ⊙ b) = aᵀb for vectors."""
    if isinstance(e, E.Sum) and isinstance(e.arg, E.Hadamard) and e.arg.cols == 1:
        f = e.arg.factors
        rest = f[1:]
        b = rest[0] if len(rest) == 1 else E.Hadamard(tuple(rest))
        return E.mul(E.transpose(f[0]), b)
    return e


def det_rules(e):
    """det Aᵀ = det A, det A⁻¹ = 1/det A, det(AB) = det A det B for square factors."""
    if not isinstance(e, E.Det):
        return e
    a = e.arg
    if isinstance(a, E.Transpose):
        return E.det(a.arg)
    if isinstance(a, E.Inverse):
        return E.power(E.det(a.arg), -1)
    if isinstance(a, E.MatMul) and not a.scalars and len(a.chain) > 1 and _all_square(a.chain):
        # det(c A B) = det(c A) det(B): the number stays inside (c^n needs the size n)
        first = E.mul(E.Const(a.coeff), a.chain[0])
        return E.mul(E.det(first), *(E.det(f) for f in a.chain[1:]))
    return e


def _is_one_plus_exp(e):
    """1 + exp(u) (scalar or elementwise) → u, else None."""
    if isinstance(e, E.Add) and len(e.terms) == 2:
        one, ex = e.terms
        if isinstance(ex, (E.Const, E.Ones)):
            one, ex = ex, one
        is_one = (isinstance(one, E.Const) and one.value == 1) or isinstance(one, E.Ones)
        if is_one and isinstance(ex, E.Func) and ex.name == "exp":
            return ex.arg
    return None


def _commuting_factors(e):
    """The factors of a product that commute (⊙ factors, or the scalars of a matrix
    product) and a function that rebuilds the product from new ones."""
    if isinstance(e, E.Hadamard):
        return list(e.factors), (lambda fs: E.hadamard(*fs))
    if isinstance(e, E.MatMul):
        return list(e.scalars), (lambda fs: E.mul(E.Const(e.coeff), *fs, *e.chain))
    return [], None


def sign_over_abs(e):
    """sign(u) / |u| = 1/u (also elementwise)."""
    factors, rebuild = _commuting_factors(e)
    for i, f in enumerate(factors):
        if isinstance(f, E.Func) and f.name == "sign":
            target = E.power(E.func("abs", f.arg), -1)
            for j, g in enumerate(factors):
                if j != i and g == target:
                    rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                    return rebuild(rest + [E.power(f.arg, -1)])
    return e


def merge_diagonals(e):
    """diag(a) diag(b) = diag(a ⊙ b), and c diag(a) + diag(b) = diag(c a + b)."""
    if isinstance(e, E.MatMul):
        ch = list(e.chain)
        for i in range(len(ch) - 1):
            if isinstance(ch[i], E.Diag) and isinstance(ch[i + 1], E.Diag):
                merged = E.diag(E.hadamard(ch[i].arg, ch[i + 1].arg))
                return E.mul(E.Const(e.coeff), *e.scalars, *ch[:i], merged, *ch[i + 2 :])
    if isinstance(e, E.Add):
        diags, rest = [], []
        for t in e.terms:
            if isinstance(t, E.Diag):
                diags.append(t.arg)
            elif isinstance(t, E.MatMul) and len(t.chain) == 1 and isinstance(t.chain[0], E.Diag):
                diags.append(E.mul(E.Const(t.coeff), *t.scalars, t.chain[0].arg))
            else:
                rest.append(t)
        if len(diags) > 1:
            return E.add(*rest, E.diag(E.add(*diags)))
    return e


def commutation_right(e):
    """K(p,m) (A ⊗ B) = (B ⊗ A) K(q,n) for A m×n, B p×q: commutation matrices move right."""
    if isinstance(e, E.MatMul):
        ch = list(e.chain)
        for i in range(len(ch) - 1):
            k, kr = ch[i], ch[i + 1]
            if isinstance(k, E.Commutation) and isinstance(kr, E.Kron):
                a, b = kr.left, kr.right
                if k.m == b.rows and k.n == a.rows:
                    swapped = [E.kron(b, a), E.commutation(b.cols, a.cols)]
                    return E.mul(E.Const(e.coeff), *e.scalars, *ch[:i], *swapped, *ch[i + 2 :])
            if isinstance(k, E.Commutation) and isinstance(kr, E.Commutation) and k.m == kr.n and k.n == kr.m:
                return E.mul(E.Const(e.coeff), *e.scalars, *ch[:i], *ch[i + 2 :]) if len(ch) > 2 \
                    else E.mul(E.Const(e.coeff), *e.scalars, E.Identity(k.rows))
    return e


def sigmoid_identity(e):
    """1 / (1 + exp(u)) = sigmoid(-u), and exp(u) ⊙ sigmoid(-u) = sigmoid(u)."""
    if isinstance(e, E.Power) and e.exponent == -1:
        u = _is_one_plus_exp(e.base)
        if u is not None:
            return E.func("sigmoid", E.neg(u))
        return e
    factors, rebuild = _commuting_factors(e)
    for i, f in enumerate(factors):
        if isinstance(f, E.Func) and f.name == "exp":
            target = E.func("sigmoid", E.neg(f.arg))
            for j, g in enumerate(factors):
                if j != i and g == target:
                    rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                    return rebuild(rest + [E.func("sigmoid", f.arg)])
    return e


def distribute_number(e):
    """c (A + B) = c A + c B when the product is just a number times a sum."""
    if isinstance(e, E.MatMul) and len(e.factors) == 1 and isinstance(e.factors[0], E.Add):
        return E.add(*(E.scale(e.coeff, t) for t in e.factors[0].terms))
    return e


def orient_scalar(e):
    """A 1×1 product equals its transpose: keep the orientation with fewer transposes."""
    if isinstance(e, E.MatMul) and e.is_scalar and e.chain and e.coeff == 1 and not e.scalars:
        flipped = E.mul(*(simplify(E.transpose(f)) for f in reversed(e.chain)))
        a, b = _count_transposes(e), _count_transposes(flipped)
        if (b, flipped.key) < (a, e.key):
            return flipped
    return e


def sign_out_of_sum(e):
    """c (Σ_i −b_i) = (−c) Σ_i b_i: a negative number in front of a sum of negated terms"""
    if isinstance(e, E.MatMul) and e.coeff < 0:
        for k, f in enumerate(e.factors):
            if isinstance(f, E.SumOver) and isinstance(f.body, E.MatMul) and f.body.coeff < 0:
                flipped = E.sum_over(f.index, f.n, E.neg(f.body))
                return E.mul(E.Const(-e.coeff), *e.factors[:k], flipped, *e.factors[k + 1:])
    return e


def constants_out_of_sum(e):
    """Σ_i A b_i B = A (Σ_i b_i) B: factors at the ends of the body that do not depend on i
    (scalars too) come out of the sum, where they can cancel with what is outside it."""
    if not (isinstance(e, E.SumOver) and isinstance(e.body, E.MatMul)):
        return e
    body, i = e.body, e.index
    outer_scalars = [s for s in body.scalars if i not in s.indices]
    chain = list(body.chain)
    lead = 0
    while lead < len(chain) - 1 and i not in chain[lead].indices:
        lead += 1
    trail = len(chain)
    while trail - 1 > lead and i not in chain[trail - 1].indices:
        trail -= 1
    if not outer_scalars and lead == 0 and trail == len(chain):
        return e
    inner_scalars = [s for s in body.scalars if i in s.indices]
    inner = E.mul(E.Const(body.coeff), *inner_scalars, *chain[lead:trail])
    if i not in inner.indices:
        return e
    return E.mul(*outer_scalars, *chain[:lead], E.sum_over(i, e.n, inner), *chain[trail:])


push_transpose.quiet = orient_scalar.quiet = linear_through.quiet = True  # bookkeeping, not teaching

RULES = (
    push_transpose, inverse_of_product, linear_through, trace_to_scalar, sum_of_hadamard,
    det_rules, sigmoid_identity, sign_over_abs, merge_diagonals, orient_scalar,
    commutation_right, log_softmax, log_sigmoid, log_one_minus_sigmoid, inner_with_hadamard,
    sign_out_of_sum,
)


# The node types each rule can change (its first test): a node is offered only the rules for its
# type, in their order, so a pass does not call every rule on every node.
_RULE_TYPES = {
    push_transpose: (E.Transpose,), inverse_of_product: (E.Inverse,), linear_through: (E.Trace, E.Sum),
    trace_to_scalar: (E.Trace,), sum_of_hadamard: (E.Sum,), det_rules: (E.Det,), sigmoid_identity: (E.Power, E.Hadamard, E.MatMul),
    sign_over_abs: (E.Hadamard, E.MatMul), merge_diagonals: (E.MatMul, E.Add), orient_scalar: (E.MatMul,),
    commutation_right: (E.MatMul,), log_softmax: (E.Func,), log_sigmoid: (E.Func,),
    log_one_minus_sigmoid: (E.Func,), inner_with_hadamard: (E.MatMul,), sign_out_of_sum: (E.MatMul,),
    constants_out_of_sum: (E.SumOver,),
}
_BY_TYPE: dict = {}


def _rules_for(rules: tuple, node_type) -> tuple:
    key = (rules, node_type)
    got = _BY_TYPE.get(key)
    if got is None:
        got = _BY_TYPE[key] = tuple(r for r in rules if node_type in _RULE_TYPES.get(r, (node_type,)))
    return got


def _rewrite(e: E.Expr, rules, memo: dict, record: list | None) -> E.Expr:
    """Children first; then the first rule that applies, and the result rewritten again.
    Each rule that fires is appended to `record` (when given): steps.py shows them."""

    def apply(n):
        for rule in _rules_for(rules, type(n)):
            r = rule(n)
            if r is not n and r != n:
                if record is not None:
                    record.append(rule)
                return _rewrite(r, rules, memo, record)
        return n

    return map_bottom_up(e, apply, memo)


def _fixed_point(e: E.Expr, rules, record: list | None = None) -> E.Expr:
    """Rewrite until nothing changes: a constructor may create new nodes (a 1×1 run pulled
    out of a product) after their children were rewritten."""
    for _ in range(8):
        new = _rewrite(e, rules, {}, record)
        if new == e:
            return new
        e = new
    return e


def simplify(e: E.Expr, record: list | None = None) -> E.Expr:
    """The display normal form: transposes at the leaves, like terms collected."""
    return _fixed_point(e, RULES, record)


def constants_outside_sums(e: E.Expr) -> E.Expr:
    """simplify, with factors that do not depend on a sum's index taken out of it: solve
    needs Σ⁻¹ (Σ_i b_i) to cancel Σ⁻¹; the printed gradient keeps the course's Σ_i Σ⁻¹ b_i."""
    return _fixed_point(e, RULES + (constants_out_of_sum,))


# ---------------------------------------------------------------- full normal form


def _has_inverse_power(e: E.Expr) -> bool:
    return any(isinstance(n, E.Power) and n.exponent < 0 for n in _nodes(e))


def _nodes(e: E.Expr):
    stack = [e]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.args)


def expand_products(e):
    """A (B + C) = A B + A C, and the same for ⊙ and ⊗. A sum holding reciprocals is
    distributed first, so that (1 - s) ⊙ ((1 - s)⁻¹ ⊙ a + …) cancels before (1 - s) is split."""
    if isinstance(e, (E.MatMul, E.Hadamard, E.Kron)):
        args = e.args
        sums = [i for i, a in enumerate(args) if isinstance(a, E.Add)]
        if sums:
            i = next((j for j in sums if _has_inverse_power(args[j])), sums[0])
            return E.add(*(e.rebuild(args[:i] + (t,) + args[i + 1 :]) for t in args[i].terms))
    return e


def expanded(e: E.Expr, record: list | None = None) -> E.Expr:
    """Products of sums multiplied out, like terms collected (terms keep their order)."""
    return _fixed_point(e, RULES + (expand_products,), record)


def rotate_trace(e):
    """tr(ABC) = tr(BCA) = tr(CᵀBᵀAᵀ): the rotation with the smallest key."""
    if isinstance(e, E.Trace) and isinstance(e.arg, E.MatMul) and not e.arg.scalars and e.arg.coeff == 1:
        ch = list(e.arg.chain)
        flipped = [simplify(E.transpose(f)) for f in reversed(ch)]
        options = []
        for seq in (ch, flipped):
            for k in range(len(seq)):
                rot = seq[k:] + seq[:k]
                if rot[0].rows == rot[-1].cols:
                    options.append(E.Trace(E.mul(*rot)))
        best = min(options, key=lambda t: t.key)
        return best
    return e


def sort_terms(e):
    if isinstance(e, E.Add):
        terms = sorted(e.terms, key=lambda t: t.key)
        if list(terms) != list(e.terms):
            return E.Add(tuple(terms))
    return e


_RULE_TYPES.update({expand_products: (E.MatMul, E.Hadamard, E.Kron), rotate_trace: (E.Trace,),
                    sort_terms: (E.Add,)})
NORMAL_RULES = RULES + (expand_products, rotate_trace, sort_terms)


def normal_form(e: E.Expr) -> E.Expr:
    """Expanded, sorted normal form: equal keys mean equal expressions."""
    return _fixed_point(e, NORMAL_RULES)


def equal(a: E.Expr, b: E.Expr) -> bool:
    """Structural equality after normalisation (False does not prove inequality)."""
    return a.shape == b.shape and normal_form(a).key == normal_form(b).key


def sym(g: E.Expr) -> E.Expr:
    """(G + Gᵀ)/2: the gradient on symmetric matrices."""
    return simplify(E.scale(Fraction(1, 2), E.add(g, E.transpose(g))))
