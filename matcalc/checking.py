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
from .api import Result, diff, parse_like
from .decls import Decls
from .errors import DeclarationError, MatcalcError, ShapeError
from .numeric import NoValidPoint, evaluate, sample_point
from .reading import parse as _parse
from .reading import symbols_of
from .simplify import equal

POINTS = 5
RTOL = 1e-8


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
        from .printing.text import to_latex

        verdict = "correct" if self.correct else f"wrong ({self.diagnosis or 'no simple diagnosis'})"
        try:
            answer = to_latex(parse(self.answer, differentials=[self.wrt]))
        except Exception:  # noqa: BLE001 - the answer is shown as text then
            answer = f"\\text{{{self.answer}}}"
        return f"$\\text{{{verdict}; the answer: }} {answer}$"

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


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-12)
    return float(np.max(np.abs(a - b)) / scale)


def _what(kind: str, wrt: str) -> str:
    return {"gradient": f"the gradient with respect to {wrt}",
            "jacobian": f"the Jacobian with respect to {wrt}",
            "derivative": f"the derivative with respect to {wrt}",
            "differential": f"the differential (in d{wrt})"}[kind]


# The course writes an answer with its left-hand side: `df = …`, `dL = …` (a differential),
# `∇f = …`, `∇_w L = …`, `grad f = …`, `∂L/∂W = …`, `dL/dW = …` (a gradient).
_GRADIENT_LHS = re.compile(
    r"^\s*(?:(?:∇|\\nabla|grad)\s*(?:_\{?[^\s=}]*\}?)?\s*[A-Za-z]?(?:\([^=]*\))?"
    r"|(?:∂|d)\s*[A-Za-z]\w*\s*/\s*(?:∂|d)\s*\S+?|\\frac\{\\partial\s*\w*\}\{\\partial\s*[^}]*\})\s*=(?!=)"
)
_DIFFERENTIAL_LHS = re.compile(r"^\s*(?:d|\\mathrm\{d\}\s*)[A-Za-z]\w*(?:\([^=]*\))?\s*=(?!=)")


def claim_form(text: str):
    """(the claim without its left-hand side, 'gradient' | 'differential' | None)."""
    m = _GRADIENT_LHS.match(text)
    if m:
        return text[m.end():], "gradient"
    m = _DIFFERENTIAL_LHS.match(text)
    if m:
        return text[m.end():], "differential"
    return text, None


def _mentions_differential(text: str, name: str) -> bool:
    from .decls import canonical_name

    words = re.findall(r"(?<![A-Za-z0-9_\u0370-\u03ff])d\s*(?:\\mathrm\{d\})?\\?([A-Za-z\u0370-\u03ff]\w*)", text)
    return any(canonical_name(w) == name for w in words)


def _parse_claim(text: str, result: Result, decls: Decls, as_differential: bool = False) -> E.Expr:
    """The claim in the result's context; its own shape is kept so a wrong one can be named."""
    known = set(symbols_of(result.f)) | set(result.wrt)
    try:
        claim = parse_like(text, result, decls, as_differential)
    except ShapeError:
        ctx_dims = {n: s.shape for n, s in symbols_of(result.f).items()}
        ctx = Decls(set(decls.scalars), set(decls.vectors), set(decls.matrices), set(decls.symmetric),
                    {**decls.dims, **ctx_dims})
        claim = _parse(text, ctx, differentials=result.wrt)
    extra = sorted(set(symbols_of(claim)) - known)
    if extra:
        raise DeclarationError(
            f"the claim uses {', '.join(extra)}, which {'does' if len(extra) == 1 else 'do'} "
            f"not occur in the expression"
        )
    return claim


def _sample(exprs, seed: int, count: int, given=None):
    rng = np.random.default_rng(seed)
    sizes, first = sample_point(exprs, rng, given)
    from .numeric import sample_valid_point

    points = [first] + [sample_valid_point(exprs, sizes, rng) for _ in range(count - 1)]
    return sizes, points


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


def check(expr: str, wrt: str, claim: str, decls: Decls | None = None, *, seed: int = 0,
          **kw) -> CheckReport:
    """Compare `claim` with the derivative of `expr` wrt `wrt` (see the module docstring)."""

    decls = Decls.from_arguments(decls, kw)
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
    kind, expected = dv.kind, dv.expr
    if form == "differential" and kind != "differential":
        # `dL = 2 (y - Xw)^T X dw + …`: the claim is the differential, and so is the answer
        from .differential import d
        from .display import display
        from .printing.text import to_text, to_unicode
        from .simplify import simplify

        kind, expected = "differential", display(simplify(d(result.f, {dv.name: dv.variable})))
        answer, answer_unicode = "d" + "f = " + to_text(expected), "df = " + to_unicode(expected)
    else:
        answer, answer_unicode = dv.notation("text"), dv.notation("unicode")
    report = CheckReport(expr, dv.name, claim, False, kind, answer, answer_unicode, notes=list(result.notes))
    what = _what(kind, dv.name)
    try:
        claimed = _parse_claim(body, result, decls, kind == "differential")
    except ShapeError as err:
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

    exprs = [result.f, expected, claimed]
    try:
        sizes, points = _sample(exprs, seed, POINTS)
    except NoValidPoint:
        raise MatcalcError("could not find points where the expression and the claim are defined") from None
    errors = [(_rel(evaluate(claimed, p, sizes), evaluate(expected, p, sizes)), p) for p in points]
    worst, _ = max(errors, key=lambda t: t[0])
    if worst <= RTOL:
        report.correct = True
        report.reason = f"the claim is {what} (equal values at {len(points)} random points)"
        return report

    diagnosis, words = _diagnose(claimed, expected, result, sizes, points, seed, what)
    return _wrong(report, diagnosis, words, _counterexample(claimed, expected, result, seed))


def _agrees(a: E.Expr, b: E.Expr, result: Result, seed: int) -> bool:
    try:
        sizes, points = _sample([result.f, a, b], seed, 3)
    except NoValidPoint:
        return False
    return all(_rel(evaluate(a, p, sizes), evaluate(b, p, sizes)) <= RTOL for p in points)


def _diagnose(claimed, expected, result, sizes, points, seed, what):
    values = [(evaluate(claimed, p, sizes), evaluate(expected, p, sizes)) for p in points]
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
            shown = E.fmt_number(factor) if abs(float(factor) - r0) < 1e-9 else f"{r0:.4g}"
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


def _symmetric_only(claimed, expected, result, seed) -> list:
    """The non-variable square matrices that, made symmetric, make claim and answer agree."""
    square = [s for n, s in symbols_of(result.f).items()
              if n not in result.wrt and s.rows == s.cols and s.rows != 1 and not s.symmetric]
    if not square:
        return []
    try:
        sizes, points = _sample([result.f, expected, claimed], seed + 1, 3)
    except NoValidPoint:
        return []
    def agrees_with(names) -> bool:
        for p in points:
            q = dict(p)
            for n in names:
                q[n] = (q[n] + q[n].T) / 2
            try:
                if _rel(evaluate(claimed, q, sizes), evaluate(expected, q, sizes)) > 1e-8:
                    return False
            except np.linalg.LinAlgError:
                return False
        return True

    for s in square:  # the one matrix whose asymmetry the claim ignores, if there is one
        if agrees_with([s.name]):
            return [s.name]
    names = [s.name for s in square]
    return names if agrees_with(names) else []


def _counterexample(claimed, expected, result, seed) -> Counterexample | None:
    exprs = [result.f, expected, claimed]
    for given in (_small_sizes(exprs), None):
        try:
            sizes, points = _sample(exprs, seed + 7, 3, given)
        except NoValidPoint:
            continue
        best = None
        for p in points:
            p = {k: np.round(v, 2) for k, v in p.items()}  # values a student can type
            try:
                c, e = evaluate(claimed, p, sizes), evaluate(expected, p, sizes)
            except np.linalg.LinAlgError:
                continue
            err = _rel(c, e)
            if err > RTOL and (best is None or err > best.relative_error):
                shown = {k: _user_shape(np.round(v, 4)) for k, v in p.items() if not k.startswith("d")}
                diffs = {k: _user_shape(np.round(v, 4)) for k, v in p.items() if k.startswith("d")}
                best = Counterexample({**shown, **diffs}, _user_shape(c), _user_shape(e), err)
        if best is not None:
            return best
    return None


def _wrong(report: CheckReport, diagnosis, words: str, counterexample) -> CheckReport:
    report.correct = False
    report.diagnosis = diagnosis
    report.reason = words
    report.counterexample = counterexample
    return report


__all__ = ["check", "CheckReport", "Counterexample"]
