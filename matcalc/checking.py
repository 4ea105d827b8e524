"""Is a claimed derivative right? Normal forms first, then numbers, then a diagnosis.

`check(expr, wrt, claim)` derives the answer itself and compares:
1. equal normal forms → correct;
2. otherwise values at several random points of the domain (sizes unequal, square
   matrices well conditioned, symmetric ones SPD) → correct when they agree to 1e-8
   relative to scale at every point;
3. when they differ: a diagnosis where one fits (the transpose, a constant factor,
   the sign, right only for symmetric matrices, the wrong shape), the correct
   answer, and a small counterexample with both values and the relative error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import expr as E
from .api import Result, diff, observation_counts, parse_like
from .decls import Decls
from .errors import DeclarationError, MatcalcError, NotSquare, ShapeError
from .numeric import NoValidPoint, evaluate
from .reading import parse as _parse
from .reading import top_level_parts, unwrap_environments
from .reading import symbols_of
from .walk import distinct_nodes
from .simplify import equal

POINTS = 6
RTOL = 1e-10  # relative: 1e-8 differences (`2.00000001 x`) are wrong, rounding is not
COND_LIMIT = 1e3  # sampled matrices that are inverted are this well conditioned
MAGNITUDE_FLOOR = 1e-4  # a difference below 1e-4 × the largest intermediate value × RTOL is rounding


@dataclass
class Counterexample:
    values: dict  # name → array (vectors 1-D)
    claimed: np.ndarray
    correct: np.ndarray
    relative_error: float

    def to_json(self):
        return {
            "values": {k: np.asarray(v).tolist() for k, v in self.values.items()},
            "claimed": np.asarray(self.claimed).tolist(),
            "correct": np.asarray(self.correct).tolist(),
            "relative_error": self.relative_error,
        }


@dataclass
class CheckReport:
    """The verdict on a claimed derivative; truthy when the claim is correct."""

    expr: str
    wrt: str
    claim: str
    correct: bool
    kind: str = ""
    answer: str = ""  # the derived answer, as text
    answer_unicode: str = ""
    reason: str = ""  # why it is correct, or what is wrong, in words
    diagnosis: str | None = None  # transpose | factor | sign | symmetric | shape | differential
    counterexample: Counterexample | None = None
    notes: list = field(default_factory=list)

    def __bool__(self):
        return self.correct

    def __repr__(self):
        return f"<matcalc.CheckReport {'correct' if self.correct else 'wrong'}: {self.reason}>"

    def _repr_latex_(self):
        from .reading import parse
        from .printing.text import latex_text, to_latex

        verdict = "correct" if self.correct else f"wrong ({self.diagnosis or 'no simple diagnosis'})"
        try:
            answer = to_latex(parse(self.answer, differentials=[self.wrt]))
        except Exception:  # noqa: BLE001 - the answer is shown as text then
            answer = f"\\text{{{latex_text(self.answer)}}}"
        return f"$\\text{{{latex_text(verdict)}; the answer: }} {answer}$"

    def summary(self) -> str:
        return ("correct: " if self.correct else "wrong: ") + self.reason

    def format(self, fmt: str = "text") -> str:
        if fmt == "json":
            import json

            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        lines = [self.summary()]
        if not self.correct:
            lines.append(f"correct answer: {self.answer_unicode if fmt == 'unicode' else self.answer}")
            ce = self.counterexample
            if ce is not None:
                lines.append("counterexample:")
                for name, v in ce.values.items():
                    lines.append(f"  {name} = {_fmt(v)}")
                lines.append(f"  claimed: {_fmt(ce.claimed)}")
                lines.append(f"  correct: {_fmt(ce.correct)}")
                lines.append(f"  relative error: {ce.relative_error:.3g}")
        return "\n".join(lines)

    def to_json(self):
        return {
            "expr": self.expr, "wrt": self.wrt, "claim": self.claim,
            "verdict": "correct" if self.correct else "wrong", "kind": self.kind,
            "answer": self.answer, "reason": self.reason, "diagnosis": self.diagnosis,
            "counterexample": self.counterexample.to_json() if self.counterexample else None,
            "notes": self.notes,
        }


def _fmt(a) -> str:
    a = np.asarray(a, dtype=float)
    if a.ndim == 0 or a.size == 1:
        return f"{float(a.reshape(-1)[0]):.4g}"
    return np.array2string(a, precision=4, suppress_small=True, separator=", ").replace("\n", "\n    ")


def _user_shape(a: np.ndarray) -> np.ndarray:
    """Vectors as 1-D arrays, scalars as numbers, for display."""
    if a.shape == (1, 1):
        return a.reshape(())
    if a.ndim == 2 and a.shape[1] == 1:
        return a[:, 0]
    return a


def _rel(a: np.ndarray, b: np.ndarray, magnitude: float = 0.0) -> float:
    """max |a - b| relative to the values, or to the intermediate values of the computation
    when both are near 0 (a correct zero gradient is rounding noise of sigmoid(x) - sigmoid(x))."""
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), MAGNITUDE_FLOOR * magnitude, 1e-300)
    err = float(np.max(np.abs(a - b)) / scale)
    return err if np.isfinite(err) else float("inf")


def _values(e: E.Expr, env: dict, sizes: dict):
    """(value of e, the largest finite intermediate value of its evaluation)."""
    from .numeric import Evaluator, _as2d

    V = Evaluator({k: _as2d(v) for k, v in env.items()}, sizes)
    with np.errstate(all="ignore"):
        value = V.ev(e)
    mags = [float(np.max(np.abs(x))) for x in V.memo.values() if x.size and np.all(np.isfinite(x))]
    return value, max(mags, default=0.0)


def _error_at(claimed, expected, p, sizes) -> float:
    c, mc = _values(claimed, p, sizes)
    e, me = _values(expected, p, sizes)
    return _rel(c, e, max(mc, me))


def _what(kind: str, wrt: str) -> str:
    return {"gradient": f"the gradient with respect to {wrt}",
            "jacobian": f"the Jacobian with respect to {wrt}",
            "derivative": f"the derivative with respect to {wrt}",
            "differential": f"the differential (in d{wrt})"}[kind]


# The course writes an answer with its left-hand side: `df = …`, `dL = …`, `dX^{-1} = …`,
# `d(\det X) = …` (a differential), `∇f = …`, `∇_w L = …`, `grad f = …`, `∂L/∂W = …`,
# `dL/dW = …`, `\frac{\partial \mathcal{L}}{\partial X} = …` (a gradient), or a name
# (`f'(x) = …`, `\mathfrak{J} = …`); a chain `∇f = a = b` is judged part by part (_check_chain).
_GRADIENT_LHS = re.compile(
    r"^\s*(?:∇|\\nabla|grad\b|(?:∂|d|\\partial)\s*\S+?\s*/\s*(?:∂|d|\\partial)|\\frac\s*\{\s*(?:∂|d|\\partial))"
)
_DIFFERENTIAL_LHS = re.compile(r"^\s*(?:d|\\mathrm\{d\}|\\operatorname\{d\})\s*(?!et\b|et\s|iag)(?:[(\[\\]|[A-Za-z\u0370-\u03ff])")


# second order: `d^2L =`, `d²f =` (the second differential), `H =`, `∇²f =`, `\nabla^2 f =`,
# `\frac{\partial^2 L}{\partial w \partial w^T} =`, `Hess f =` (the Hessian)
_SECOND_DIFFERENTIAL_LHS = re.compile(r"^\s*(?:d|\\mathrm\{d\})\s*(?:\^\s*\{?\s*2\s*\}?|²)")
_HESSIAN_LHS = re.compile(r"^\s*(?:H(?:_\{?\w*\}?)?\s*(?:\([^=]*\))?\s*$|Hess\b|(?:∇|\\nabla)\s*(?:\^\s*\{?\s*2\s*\}?|²)|"
                          r"\\frac\s*\{\s*(?:∂|\\partial|d)\s*\^\s*\{?\s*2|∂²)")


def claim_form(text: str):
    """(the claim without its left-hand side, 'gradient' | 'differential' | 'hessian' |
    'second differential' | None)."""
    parts = top_level_parts(text)
    if len(parts) < 2 or not parts[0].strip():
        return text, None
    lhs, body = parts[0], parts[-1]
    if _SECOND_DIFFERENTIAL_LHS.match(lhs):
        return body, "hessian" if "/" in lhs else "second differential"  # d²f/dx² is the derivative
    if _HESSIAN_LHS.match(lhs):
        return body, "hessian"
    if _GRADIENT_LHS.match(lhs):
        return body, "gradient"
    if _DIFFERENTIAL_LHS.match(lhs):
        return body, "differential"
    return body, None


def _mentions_differential(text: str, name: str) -> bool:
    from .decls import canonical_name

    words = re.findall(r"(?:\\mathrm\{d\}|\\operatorname\{d\}|(?<![A-Za-z0-9_\u0370-\u03ff{])d)\s*\\?"
                       r"([A-Za-z\u0370-\u03ff]\w*)", text)
    return any(canonical_name(w) == name for w in words)


def _parse_claim(text: str, result: Result, decls: Decls, as_differential: bool = False,
                 shape=None) -> E.Expr:
    """The claim in the result's context; its own shape is kept so a wrong one can be named.
    `shape` sizes a lone I (a Hessian claim `H = 2 I`)."""
    known = set(symbols_of(result.f)) | set(result.wrt)
    try:
        if shape is None:
            claim = parse_like(text, result, decls, as_differential)
        else:
            from .api import parse_in_context

            claim = parse_in_context(text, result.f, result.wrt, decls, shape)
    except ShapeError:
        ctx_dims = {n: s.shape for n, s in symbols_of(result.f).items()}
        ctx = Decls(set(decls.scalars), set(decls.vectors), set(decls.matrices), set(decls.symmetric),
                    {**decls.dims, **ctx_dims}, decls.counts | observation_counts(result.f))
        claim = _parse(text, ctx, differentials=result.wrt)
    extra = sorted(set(symbols_of(claim)) - known)
    loose = [n for n in extra if re.fullmatch(r"[a-z][A-Za-z0-9]*_\{?[ijkl]\}?", n)]
    if loose:
        raise DeclarationError(
            f"the claim uses {', '.join(loose)} outside any sum over its index: a sum sign applies up to "
            f"the next + or −, so write Σ_i (… + …) with parentheses around the whole body"
        )
    if extra:
        raise DeclarationError(
            f"the claim uses {', '.join(extra)}, which {'does' if len(extra) == 1 else 'do'} "
            f"not occur in the expression"
        )
    return claim


def _sample(exprs, seed: int, count: int, given=None, signed: bool = True) -> list:
    """`count` points as (sizes, values), over two different size assignments where the sizes
    are symbolic (a number that should be n is caught), scalars and determinants of both
    signs (abs, relu and |det| mistakes show), inverted matrices well conditioned."""
    from .numeric import choose_sizes, sample_valid_point

    rng = np.random.default_rng(seed)
    assignments = []
    for variant in range(8):
        sizes = choose_sizes(exprs, given, variant)
        if sizes in assignments:
            continue
        try:
            first = sample_valid_point(exprs, sizes, rng, tries=20, signed=signed, cond_limit=COND_LIMIT)
        except NoValidPoint:
            continue
        assignments.append((sizes, first))
        if len(assignments) == 2:
            break
    if not assignments:
        raise NoValidPoint("could not find a point where the expression is finite")
    points = []
    for i in range(count):
        sizes, first = assignments[i % len(assignments)]
        if i < len(assignments):
            points.append((sizes, first))
            continue
        try:
            points.append((sizes, sample_valid_point(exprs, sizes, rng, tries=20, signed=signed,
                                                     cond_limit=COND_LIMIT)))
        except NoValidPoint:
            continue
    return points


def _small_sizes(exprs) -> dict:
    """2, 3, 4… for the symbolic sizes: counterexamples a student can read."""
    from .walk import symbols_in

    dims = []
    for e in exprs:
        for s in symbols_in(e):
            for d in s.shape:
                if not isinstance(d, int) and d not in dims:
                    dims.append(d)
    return {d: 2 + i for i, d in enumerate(dims)}


def _under_square_assumption(expr, claim, result, decls, seed) -> CheckReport | None:
    """The claim judged with some non-square matrices of f taken square, when that is what
    makes it well formed (its X⁻¹ says X is square): None if no such reading exists."""
    rect = [s for s in symbols_of(result.f).values()
            if s.rows != s.cols and s.rows != 1 and s.cols != 1 and s.name not in decls.dims]
    groups = [[s] for s in rect] + ([rect] if len(rect) > 1 else [])
    for group in groups:
        dims = {**decls.dims, **{s.name: (s.rows, s.rows) for s in group}}
        square = Decls(set(decls.scalars), set(decls.vectors), set(decls.matrices), set(decls.symmetric), dims,
                       decls.counts)
        try:
            report = _check(expr, result.wrt[0], claim, square, seed=seed, _assuming=True)
        except MatcalcError:
            continue
        if report.diagnosis == "shape" and not report.correct:
            continue
        names = ", ".join(s.name for s in group)
        report.reason += f", for square {names} (the claim needs {names} square)"
        report.notes.append(f"the claim is only defined for square {names}: it is judged under that "
                            f"assumption ({names} is {E.fmt_shape(group[0].shape)} in general)")
        return report
    return None


def check(expr: str, wrt: str, claim: str, decls: Decls | None = None, *, seed: int = 0,
          _assuming: bool = False, **kw) -> CheckReport:
    """Compare `claim` with the derivative of `expr` wrt `wrt` (see the module docstring).

    A claim that is wrong as the expression is read by default, but right when some
    lowercase names read as vectors are scalars (`1 - tanh(t)^2` for `tanh(t)`, the course's
    scalar label y in `-log σ(y wᵀx)`), is judged under that reading, which the verdict names."""
    decls = Decls.from_arguments(decls, kw)
    claim = _claim_definitions(unwrap_environments(claim))
    parts = top_level_parts(claim)
    if len(parts) > 2 or (len(parts) == 2 and claim_form(claim)[1] is None and not _is_name(parts[0])):
        return _check_chain(expr, wrt, parts, decls, seed)
    body, form = claim_form(claim)
    if form in ("hessian", "second differential") and _scalar_f(expr, wrt, decls):
        return _check_second_order(expr, wrt, claim, body, form, decls, seed % 2**32)
    # (`H = …` for a gradient given as the expression is its Jacobian: the first-order check)
    report = _check(expr, wrt, claim, decls, seed=seed, _assuming=_assuming)
    if report.correct or _assuming:
        return report
    shaped = None  # a scalar reading under which the claim at least has the right shape
    for names in _scalar_readings(expr, wrt, decls):
        scalars = Decls(set(decls.scalars) | set(names), set(decls.vectors), set(decls.matrices),
                        set(decls.symmetric), dict(decls.dims), decls.counts)
        if _other_kinds_change(expr, wrt, decls, scalars, names):
            continue  # not the same problem with a scalar: X would silently become a vector
        try:
            other = _check(expr, wrt, claim, scalars, seed=seed, _assuming=True)
        except MatcalcError:
            continue
        listed = ", ".join(names)
        if other.correct:
            other.reason += f", reading {listed} as scalar{'s' if len(names) > 1 else ''}"
            other.notes.append(f"{listed} {'is' if len(names) == 1 else 'are'} read as vectors by default (lowercase "
                               f"latin); the claim is right when {'it is a scalar' if len(names) == 1 else 'they are scalars'}: "
                               f"declare scalar={','.join(names)} to say so")
            return other
        if shaped is None and report.diagnosis == "shape" and other.diagnosis != "shape":
            other.notes.append(f"judged reading {listed} as scalar{'s' if len(names) > 1 else ''} (the claim's "
                               f"shape says so; by default lowercase latin names are vectors)")
            shaped = other
    return shaped or report


def _kinds(expr, wrt, decls) -> dict:
    from .api import prepare

    f = prepare(expr, wrt, decls, {})[0]
    return {n: ("scalar" if sym.is_scalar else "vector" if sym.cols == 1 else "row" if sym.rows == 1 else "matrix")
            for n, sym in symbols_of(f).items()}


def _other_kinds_change(expr, wrt, decls, scalars, names) -> bool:
    """Whether reading `names` as scalars also changes the kind of another name."""
    try:
        before, after = _kinds(expr, wrt, decls), _kinds(expr, wrt, scalars)
    except MatcalcError:
        return True
    return any(after.get(n) != k for n, k in before.items() if n not in names)


def _scalar_readings(expr, wrt, decls) -> list:
    """When the default reading makes f a vector (`tanh(t)`, `-log σ(y wᵀx)`): the sets of
    lowercase names read as vectors to try as scalars, each alone, then all of them."""
    from .api import prepare

    try:
        f = prepare(expr, wrt, decls, {})[0]
    except MatcalcError:
        return []
    if f.is_scalar:  # the default reading already gives a scalar function: it stands
        return []
    transposed = {n.arg.name for n in distinct_nodes(f)  # a written ᵀ says: a vector
                  if isinstance(n, E.Transpose) and isinstance(n.arg, E.Symbol)}
    names = [n for n, sym in symbols_of(f).items()
             if sym.cols == 1 and sym.rows != 1 and n[:1].islower() and n[:1].isascii()
             and n not in decls.vectors and n not in decls.dims and n not in transposed]
    out = [[n] for n in names[:6]]
    if len(names) > 1:
        out.append(names[:6])
    return out


def _check(expr: str, wrt: str, claim: str, decls: Decls, *, seed: int = 0,
           _assuming: bool = False) -> CheckReport:
    """check() for one reading of the names."""
    seed = seed % 2**32  # any integer is a valid seed
    result = diff(expr, wrt, decls)
    if len(result.derivatives) != 1:
        raise DeclarationError("check one variable at a time: wrt= names a single variable")
    dv = result.derivatives[0]
    body, form = claim_form(claim)
    if form is None and dv.kind != "differential" and _mentions_differential(body, dv.name):
        try:  # `2 (y - Xw)^T X dw`: a differential written without `dL =`, if it has df's shape
            if _parse_claim(body, result, decls, True).shape == result.f.shape:
                form = "differential"
        except MatcalcError:
            pass
    if form == "differential" and not _mentions_differential(body, dv.name) and dv.kind != "differential":
        form = None  # `dist = …`, cs231n's `dW = …`: a name on the left, no dW in the claim: the gradient
    kind, expected = dv.kind, dv.expr
    if form == "differential" and kind != "differential":
        # `dL = 2 (y - Xw)^T X dw + …`: the claim is the differential, and so is the answer
        from .display import display
        from .printing.text import to_text, to_unicode
        from .simplify import simplify

        kind, expected = "differential", display(simplify(result.differential_wrt(dv.name)[0]))
        # shown as the textbook writes it: df = gᵀ dw (tr(Gᵀ dX)) when there is a gradient
        shown = E.inner(dv.shown, dv.variable.differential()) if dv.kind == "gradient" else expected
        answer, answer_unicode = "d" + "f = " + to_text(shown), "df = " + to_unicode(shown)
    else:
        answer, answer_unicode = dv.notation("text"), dv.notation("unicode")
    answer += result.where_clause("text")  # a large answer is written over shared names
    answer_unicode += result.where_clause("unicode")
    report = CheckReport(expr, dv.name, claim, False, kind, answer, answer_unicode, notes=list(result.notes))
    what = _what(kind, dv.name)
    try:
        claimed = _parse_claim(body, result, decls, kind == "differential")
    except ShapeError as err:
        assumed = None if _assuming or not isinstance(err, NotSquare) else _under_square_assumption(expr, claim, result, decls, seed)
        if assumed is not None:
            return assumed
        return _wrong(report, "shape", f"the claim is not well formed with these sizes: {err}", None)
    shape = result.f.shape if kind == "differential" else expected.shape

    if claimed.shape != shape:
        if claimed.shape == (shape[1], shape[0]) and _agrees(E.transpose(claimed), expected, result, seed):
            return _wrong(report, "transpose",
                          f"the claim is the transpose of {what}: it has shape "
                          f"{E.fmt_shape(claimed.shape)}, the gradient has the shape of "
                          f"{dv.name}, {E.fmt_shape(shape)} (numerator vs denominator layout)",
                          None)
        return _wrong(report, "shape",
                      f"the claim has shape {E.fmt_shape(claimed.shape)} but {what} has shape "
                      f"{E.fmt_shape(shape)}", None)

    if kind != "differential" and claimed.has_differential:
        return _wrong(report, "differential",
                      f"the claim contains d{dv.name}, but {what} is the matrix G of "
                      f"df = tr(Gᵀ d{dv.name}) (or J of df = J d{dv.name}), without differentials", None)
    if kind == "differential" and not claimed.has_differential:
        return _wrong(report, "shape", f"the claim has no d{dv.name} in it: the answer is a "
                      f"differential such as {report.answer}", None)

    if equal(claimed, expected):
        report.correct, report.reason = True, f"the claim is {what} (equal normal forms)"
        return report
    if dv.variable.symmetric and kind == "gradient":
        from .simplify import sym

        if _agrees(sym(claimed), expected, result, seed):
            report.correct = True
            report.reason = (f"the claim gives the same df for every symmetric d{dv.name}; its "
                             f"symmetric part (G + Gᵀ)/2 is {what}")
            return report

    points, agree = _agrees_at_points(claimed, expected, result, seed)
    if agree:
        report.correct = True
        report.reason = f"the claim is {what} (equal values at {len(points)} random points)"
        return report

    normalized = _normalized_only(claimed, expected, result, seed)
    if normalized:  # softmax(z) - y for cross-entropy: right for a one-hot y
        names = ", ".join(normalized)
        report.correct = True
        report.reason = (f"the claim is {what} when {names} sum{'s' if len(normalized) == 1 else ''} to 1 "
                         f"(each row of a matrix): a one-hot label or a distribution, as cross-entropy "
                         f"assumes")
        report.notes.append(f"without that assumption {what} is {report.answer}")
        return report
    return _diagnosed(report, claimed, expected, result, points, seed, what)


def _agrees_at_points(claimed, expected, result, seed):
    """(the sampled points, whether claim and answer agree at every one of them)."""
    try:
        points = _sample([result.f, expected, claimed], seed, POINTS)
    except NoValidPoint:
        raise MatcalcError("could not find points where the expression and the claim are defined") from None
    return points, max(_error_at(claimed, expected, p, sizes) for sizes, p in points) <= RTOL


def _diagnosed(report, claimed, expected, result, points, seed, what) -> CheckReport:
    """A wrong claim: what is wrong with it where a diagnosis fits, and a small counterexample."""
    diagnosis, words = _diagnose(claimed, expected, result, points, seed, what)
    return _wrong(report, diagnosis, words, _counterexample(claimed, expected, result, seed))


_NAME_LHS = re.compile(r"\s*\\?[^\W\d][\w'{}\\]*\s*(\([^=]*\))?\s*$")


def _is_name(text: str) -> bool:
    """`g`, `f'(x)`, `\\mathfrak{J}`: a left-hand side that only names the answer."""
    return bool(_NAME_LHS.match(text))


def _claim_definitions(claim: str) -> str:
    """`df = tr(Gᵀ dX), G = 2X` (or `where G = 2X`): the definitions substituted into the claim."""
    from .program import inline_definitions

    parts = top_level_parts(claim)
    if len(parts) < 3:  # `tr(Gᵀ dX) where G = 2X`, or no definition at all (returned as it is)
        return inline_definitions(claim, []) if len(parts) == 2 else claim
    head, rest = parts[0], "=".join(parts[1:])
    inlined = inline_definitions(rest, [])
    return claim if inlined == rest else f"{head}={inlined}"


_UNEVALUATED = re.compile(r"\s*(?:d|\\mathrm\{d\})\s*[(\[]")  # d(xᵀx), d[…]: the differential still to take


def _check_chain(expr, wrt, parts, decls, seed) -> CheckReport:
    """A claim `∇f = 3X = 2X` (or `a = b` with no name on the left): every part is judged, and
    the claim is right only if each one is (the first wrong part is the verdict)."""
    lhs = parts[0] if (claim_form(parts[0] + "= 0")[1] is not None or _is_name(parts[0])) else None
    bodies = parts[1:] if lhs is not None else parts
    stated = [p for p in bodies if not _UNEVALUATED.match(p)] or bodies  # `d(xᵀx)`: a step, not a value
    claims = [f"{lhs}={p}" for p in stated] if lhs is not None else stated
    last = None
    for c in claims:
        last = check(expr, wrt, c, decls, seed=seed)
        if not last:
            if len(claims) > 1:
                last.reason = f"the part `{c.strip()}` of the chain is wrong: {last.reason}"
            return last
    last.claim = " = ".join(p.strip() for p in parts)
    return last


def _scalar_f(expr, wrt, decls) -> bool:
    from .api import prepare

    try:
        return prepare(expr, wrt, decls, {})[0].is_scalar
    except MatcalcError:
        return False


def _check_second_order(expr, wrt, claim, body, form, decls, seed) -> CheckReport:
    """A claim written `H = …` / `∇²f = …` (the Hessian) or `d²f = …` (the second
    differential, in d{wrt} twice) judged against the Hessian, not the gradient."""
    from .printing.text import to_text, to_unicode
    from .second_order import hessian

    h = hessian(expr, wrt, decls)
    if len(h.variables) != 1:
        raise DeclarationError("check one variable at a time: wrt= names a single variable")
    name = h.wrt[0]
    if form == "hessian" and not h.blocks:
        raise DeclarationError(f"{name} is a matrix: its second derivative is the bilinear form d²f; "
                               f"write the claim as d²f = … (in d{name})")
    expected = h.expr if form == "hessian" else h.second_differential
    lhs = "H = " if form == "hessian" else "d²f = "
    report = CheckReport(expr, name, claim, False, form, lhs.replace("²", "^2") + to_text(expected),
                         lhs + to_unicode(expected), notes=list(h.notes))
    what = f"the Hessian with respect to {name}" if form == "hessian" else f"the second differential (in d{name})"
    result = h.first
    try:
        claimed = _parse_claim(body, result, decls, form == "second differential",
                               shape=expected.shape if form == "hessian" else None)
    except ShapeError as err:
        return _wrong(report, "shape", f"the claim is not well formed with these sizes: {err}", None)
    if claimed.shape != expected.shape:
        return _wrong(report, "shape", f"the claim has shape {E.fmt_shape(claimed.shape)} but {what} has shape "
                      f"{E.fmt_shape(expected.shape)}", None)
    if form == "second differential" and not claimed.has_differential:
        return _wrong(report, "shape", f"the claim has no d{name} in it: {what} is {report.answer_unicode}", None)
    if form == "hessian" and claimed.has_differential:
        return _wrong(report, "differential", f"the claim contains d{name}, but {what} is the matrix H of "
                      f"d²f = d{name}ᵀ H d{name}, without differentials", None)
    if equal(claimed, expected):
        report.correct, report.reason = True, f"the claim is {what} (equal normal forms)"
        return report
    points, agree = _agrees_at_points(claimed, expected, result, seed)
    if agree:
        report.correct = True
        report.reason = f"the claim is {what} (equal values at {len(points)} random points)"
        return report
    return _diagnosed(report, claimed, expected, result, points, seed, what)


def _agrees(a: E.Expr, b: E.Expr, result: Result, seed: int) -> bool:
    try:
        points = _sample([result.f, a, b], seed, 4)
    except NoValidPoint:
        return False
    return all(_error_at(a, b, p, sizes) <= RTOL for sizes, p in points)


def _diagnose(claimed, expected, result, points, seed, what):
    values = [(evaluate(claimed, p, sizes), evaluate(expected, p, sizes)) for sizes, p in points]
    # a constant factor (the sign is the factor -1)
    ratios = []
    for c, e in values:
        denom = float(np.sum(e * e))
        ratios.append(float(np.sum(c * e)) / denom if denom > 0 else np.nan)
    r0 = ratios[0]
    if np.isfinite(r0) and all(np.isfinite(r) and abs(r - r0) <= 1e-6 * max(1, abs(r0)) for r in ratios):
        if all(_rel(c, r0 * e) <= 1e-6 for c, e in values):
            factor = Fraction(r0).limit_denominator(1000)
            if factor == -1:
                return "sign", f"the claim has the wrong sign: it is minus {what}"
            if factor == 0:
                return "factor", f"the claim is 0, but {what} is not"
            exact = abs(float(factor) - r0) <= 1e-12 * max(1.0, abs(r0))
            if not exact and abs(r0 - 1) < 1e-6:
                return "factor", (f"the claim is {r0:.12g} times {what}: close, but not equal (a "
                                  f"relative difference of {abs(r0 - 1):.1e}, far above rounding)")
            shown = E.fmt_number(factor) if exact else f"{r0:.6g}"
            hint = " (a factor 2 missing?)" if factor == Fraction(1, 2) else ""
            return "factor", f"the claim is {shown} times {what}{hint}"
    # the transpose of a square gradient
    if all(c.shape == e.shape and c.shape[0] == c.shape[1] and _rel(c, e.T) <= 1e-8 for c, e in values):
        return "transpose", (f"the claim is the transpose of {what} (numerator vs denominator "
                             f"layout: the gradient has the shape of the variable, df = tr(Gᵀ dX))")
    # right only when the constant square matrices are symmetric
    symmetric = _symmetric_only(claimed, expected, result, seed)
    if symmetric:
        return "symmetric", (f"the claim equals {what} only when {', '.join(symmetric)} "
                             f"{'is' if len(symmetric) == 1 else 'are'} symmetric; in general it is not")
    return None, f"the claim is not {what}"


def _agrees_under(claimed, expected, result, seed, candidates, assume, tol) -> list:
    """The names among `candidates` whose sampled values, changed by `assume` (made symmetric,
    made to sum to 1, …), make claim and answer agree: first one name alone, else all."""
    if not candidates:
        return []
    try:
        points = _sample([result.f, expected, claimed], seed, 4)
    except NoValidPoint:
        return []

    def agrees_with(names) -> bool:
        for sizes, p in points:
            q = dict(p)
            for n in names:
                q[n] = assume(q[n])
            try:
                if _error_at(claimed, expected, q, sizes) > tol:
                    return False
            except np.linalg.LinAlgError:
                return False
        return True

    for name in candidates:  # the one array whose values the claim takes for granted
        if agrees_with([name]):
            return [name]
    return list(candidates) if len(candidates) > 1 and agrees_with(candidates) else []


def _sums_to_one(v: np.ndarray) -> np.ndarray:
    v = np.abs(v) + 0.1
    return v / v.sum() if v.shape[1] == 1 else v / v.sum(axis=1, keepdims=True)


def _normalized_only(claimed, expected, result, seed) -> list:
    """The constant vectors (matrices: row by row) that, made to sum to 1, make claim and
    answer agree: the label y of a cross-entropy, whose gradient is softmax(z) - y only
    for a one-hot y."""
    arrays = [n for n, s in symbols_of(result.f).items()
              if not s.is_scalar and n not in result.wrt and not s.symmetric]
    found = _agrees_under(claimed, expected, result, seed + 2, arrays, _sums_to_one, RTOL)
    return found if len(found) == 1 else []


def _symmetric_only(claimed, expected, result, seed) -> list:
    """The square matrices that, made symmetric, make claim and answer agree; the variable
    too: X⁻¹ written where X⁻ᵀ is needed is right only for symmetric X."""
    square = [n for n, s in symbols_of(result.f).items()
              if s.rows == s.cols and s.rows != 1 and not s.symmetric]
    return _agrees_under(claimed, expected, result, seed + 1, square, lambda a: (a + a.T) / 2, 1e-8)


def _integer_point(exprs, sizes, rng) -> dict:
    """Small integers: scalars ±1, ±2, 3; square matrices 2I plus entries in {-1, 0, 1} (and
    sometimes a row negated, det < 0); symmetric ones diagonally dominant."""
    from .walk import symbols_in

    env = {}
    for e in exprs:
        for s in symbols_in(e):
            key = ("d" if s.diff else "") + s.name
            if key in env:
                continue
            r, c = (sizes.get(d, d) if not isinstance(d, int) else d for d in s.shape)
            if (r, c) == (1, 1):
                v = np.array([[float(rng.choice([1, 2, -1, -2, 3]))]])
            elif r == c and not s.diff:
                m = rng.integers(-1, 2, (r, r)).astype(float)
                if s.symmetric:
                    v = np.triu(m) + np.triu(m, 1).T + r * np.eye(r)
                else:
                    v = m + 2 * np.eye(r)
                    if rng.random() < 0.5:
                        v[0] = -v[0]
            else:
                v = rng.integers(-2, 3, (r, c)).astype(float)
                if s.symmetric:
                    v = (v + v.T) / 2
            env[key] = v
    return env


def _counterexample(claimed, expected, result, seed) -> Counterexample | None:
    """A point where claim and answer differ clearly, with small integer values if possible
    (the smallest values found), else rounded random values."""
    exprs = [result.f, expected, claimed]
    rng = np.random.default_rng(seed + 7)
    sizes = _small_sizes(exprs)
    from .numeric import _finite_at, _well_conditioned

    def shown(p, c, e, err):
        vals = {k: _user_shape(v) for k, v in p.items() if not k.startswith("d")}
        diffs = {k: _user_shape(v) for k, v in p.items() if k.startswith("d")}
        return Counterexample({**vals, **diffs}, _user_shape(c), _user_shape(e), err)

    best, best_size = None, None
    for _ in range(60):
        p = _integer_point(exprs, sizes, rng)
        try:
            if not (_finite_at(exprs, p, sizes) and _well_conditioned(exprs, p, sizes, 100.0)):
                continue
            c, e = evaluate(claimed, p, sizes), evaluate(expected, p, sizes)
        except (np.linalg.LinAlgError, MatcalcError):
            continue
        err = _error_at(claimed, expected, p, sizes)
        size = max(np.max(np.abs(c)), np.max(np.abs(e)))
        if err > 1e-6 and (best is None or size < best_size):
            best, best_size = shown(p, c, e, err), size
    if best is not None:
        return best
    try:
        points = _sample(exprs, seed + 7, 3)
    except NoValidPoint:
        return None
    for sizes, p in points:
        p = {k: np.round(v, 2) for k, v in p.items()}
        try:
            c, e = evaluate(claimed, p, sizes), evaluate(expected, p, sizes)
            err = _error_at(claimed, expected, p, sizes)
        except np.linalg.LinAlgError:
            continue
        if err > RTOL and (best is None or err > best.relative_error):
            best = shown(p, c, e, err)
    return best


def _wrong(report: CheckReport, diagnosis, words: str, counterexample) -> CheckReport:
    report.correct = False
    report.diagnosis = diagnosis
    report.reason = words
    report.counterexample = counterexample
    return report


__all__ = ["check", "CheckReport", "Counterexample"]
