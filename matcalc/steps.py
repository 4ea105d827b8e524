"""The derivation as a teacher writes it: a list of equal expressions, each with its rule.

The steps are not re-derived: d() and pullback record the rules that fire, and this
module renders that record. For a scalar f and a matrix variable the lines are
    df = d(f)                                   (statement)
       = … dX … + … dX …                        (differential rules: product rule, d(X⁻¹) …)
       = tr(… dX …) + tr(… dX …)                (a scalar equals its trace)
       = tr(P₁ dX) + tr(P₂ dX)                  (cyclic property of the trace …)
       = tr((P₁ + P₂) dX)                       (collecting terms)
    df = tr(Gᵀ dX)  ⇒  ∇f = G                   (identification)
and the analogue with gᵀ dx for vectors, D dt for scalars, J dx for Jacobians. Every
step's right-hand side is an expression in the variables and the differentials, so
its NumPy form can be evaluated and compared with the previous one's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from . import expr as E
from .display import display
from .differential import rule_text
from .identify import Pullback, pull_matmul
from .printing.numpy import to_numpy
from .printing.text import latex_aligned, latex_display, latex_lhs, to_latex, to_text, to_unicode
from .simplify import simplify

def _d_rules(fired) -> str:
    """The differential rules of a d() record, each said once, in the order they fired."""
    return ", ".join(_unique(rule_text(fn, node) for fn, node, _ in fired)) or "differential"


def _pull_rules(fired, matrix: bool) -> list:
    """The trace tricks a pullback used; for a vector variable moving factors is no trick."""
    return [rule_text(fn, node) for fn, node, _ in fired if matrix or fn is not pull_matmul]


def _unique(names) -> list:
    out = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return out


@dataclass
class Step:
    """One line: `rule` names what was done; `rhs` equals the previous line's rhs."""

    rule: str
    rhs: E.Expr
    statement: E.Expr | None = None  # the first line shows d(f) instead of rhs
    result: E.Expr | None = None  # the last line: the derivative read off
    result_name: str = ""  # ∇f, J, ∂f/∂t
    lhs: str = "df"
    result_latex: str = ""  # the result's name in LaTeX, spelled as the right-hand sides spell it

    def _show(self, e, fmt):
        return {"text": to_text, "unicode": to_unicode, "latex": to_latex}[fmt](e)

    def right(self, fmt: str) -> str:
        if self.statement is not None:
            inner = self._show(self.statement, fmt)
            return f"\\mathrm{{d}}\\left({inner}\\right)" if fmt == "latex" else f"d({inner})"
        return self._show(self.rhs, fmt)

    def conclusion(self, fmt: str) -> str:
        if self.result is None:
            return ""
        name = self.result_name
        if fmt == "latex":
            return f" \\;\\Rightarrow\\; {self.result_latex or name} = {self._show(self.result, fmt)}"
        if fmt == "text":
            name = {"∇f": "grad f"}.get(name, name.replace("∂", "d"))
            return f"  =>  {name} = {self._show(self.result, fmt)}"
        return f"  ⇒  {name} = {self._show(self.result, fmt)}"

    def numpy(self, context) -> str:
        return to_numpy(self.rhs, context=context)

    def latex(self) -> str:
        """The line as one equation: `\\mathrm{d}f = … \\Rightarrow \\nabla_{X} f = …`."""
        return f"{_latex_lhs(self.lhs)} = {self.right('latex')}{self.conclusion('latex')}"

    def _repr_latex_(self):
        return latex_display(self.latex())

    def to_json(self, context) -> dict:
        out = {
            "rule": self.rule,
            "text": f"{self.lhs} = {self.right('text')}{self.conclusion('text')}",
            "latex": self.latex(),
            "numpy": self.numpy(context),
        }
        if self.result is not None:
            out["result"] = to_text(self.result)
            out["result_numpy"] = to_numpy(self.result, context=context)
        return out


@dataclass
class Derivation:
    """The steps for one variable, printable as text, unicode, an aligned block or JSON."""

    variable: E.Symbol
    f: E.Expr
    steps: list

    def format(self, fmt: str = "text") -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if fmt == "latex":
            return self._latex()
        width = max(len(s.lhs) for s in self.steps)
        lines = []
        for i, s in enumerate(self.steps):
            starts = i == 0 or s.result is not None or s.statement is not None
            head = f"{s.lhs:>{width}} =" if starts else " " * width + " ="
            body = f"{head} {s.right(fmt)}{s.conclusion(fmt)}"
            lines.append(body + (f"    [{s.rule}]" if s.rule and s.statement is None else ""))
        return "\n".join(lines)

    def _latex(self) -> str:
        rows = []
        for i, s in enumerate(self.steps):
            starts = i == 0 or s.result is not None or s.statement is not None
            rule = s.rule if s.rule and s.statement is None else ""
            rows.append((_latex_lhs(s.lhs) if starts else "", s.right("latex") + s.conclusion("latex"), rule))
        return latex_aligned(rows, comments_column=True)

    def __repr__(self):
        return f"<matcalc.Derivation wrt {self.variable.name}, {len(self.steps)} steps>\n{self.format('unicode')}"

    def _repr_latex_(self):
        return latex_display(self.format("latex"))

    def to_json(self):
        context = (self.f, self.variable, self.variable.differential())
        return {"wrt": self.variable.name, "steps": [s.to_json(context) for s in self.steps]}


class Steps(list):
    """The steps of a derivation (a list of Step) that Jupyter shows as the derivation."""

    def __init__(self, derivation: Derivation):
        super().__init__(derivation.steps)
        self.derivation = derivation

    def format(self, fmt: str = "text") -> str:
        return self.derivation.format(fmt)

    def _repr_latex_(self):
        return self.derivation._repr_latex_()


def _latex_lhs(lhs: str) -> str:
    return {"df": "\\mathrm{d}f", "d(∇f)": "\\mathrm{d}(\\nabla f)"}.get(lhs, lhs)


def _terms(e: E.Expr) -> list:
    return list(e.terms) if isinstance(e, E.Add) else [e]


def _sum(parts: list) -> E.Expr:
    """A sum that keeps its terms as written (no collecting): the step shows them."""
    return parts[0] if len(parts) == 1 else E.Add(tuple(parts))


def derivation(result, name: str | None = None) -> Derivation:
    """The steps that lead from f to the derivative wrt `name` in `result` (an api.Result)."""
    dv = next(x for x in result.derivatives if name in (None, x.name))
    x, f = dv.variable, result.f
    dx = x.differential()
    dname = to_unicode(dx)  # dμ for mu, in the rule texts
    df, fired = result.differential_wrt(x.name)  # recorded by derive: d() is not run again
    steps = [Step("take the differential", df, statement=f)]
    steps.append(Step(_d_rules(fired), df))
    if dv.kind == "gradient":
        _scalar_steps(steps, df, x, dx, dv.expr)
    elif dv.kind == "derivative":
        steps.append(Step(f"df = D {dname} ⇒ D", E.mul(dv.expr, dx), result=dv.expr,
                          result_name=f"∂f/∂{to_unicode(x)}", result_latex=latex_lhs("derivative", x.name)))
    elif dv.kind == "jacobian":
        fired = []
        tidy = display(simplify(df, fired), fired)
        if tidy != df:
            steps.append(Step(_simplify_rules(fired), tidy))
        steps.append(Step(f"df = J {dname} ⇒ J", E.mul(dv.expr, dx), result=dv.expr, result_name="J",
                          result_latex=latex_lhs("jacobian", x.name)))
    else:
        fired = []
        tidy = display(simplify(df, fired), fired)
        if tidy != df:
            steps.append(Step(_simplify_rules(fired), tidy))
    return Derivation(x, f, _without_repeats(steps))


def _scalar_steps(steps, df, x, dx, gradient):
    terms = _terms(df)
    dname, name = to_unicode(dx), to_unicode(x)
    matrix = not (x.cols == 1)
    scalar_var = x.is_scalar
    if scalar_var:
        steps.append(Step(f"df = D {dname} ⇒ ∂f/∂{name} = D", E.mul(gradient, dx),
                          result=gradient, result_name=f"∂f/∂{name}", result_latex=latex_lhs("derivative", x.name)))
        return
    if any(_elementwise(t) for t in terms):
        fired = []
        tidy = [display(simplify(t, fired), fired) if _elementwise(t) else t for t in terms]
        steps.append(Step(_simplify_rules(fired), _sum(tidy)))
        terms = tidy
    if matrix:
        traced, rules = [], []
        for t in terms:
            inside = _scaled_trace(t)
            if inside is not None:
                traced.append(inside)
                rules.append("linearity of the trace")
            elif isinstance(t, E.Trace):
                traced.append(t)
            else:
                traced.append(E.Trace(t))
                rules.append("a scalar equals its trace")
        if rules:
            steps.append(Step(", ".join(_unique(rules)), _sum(traced)))
    pieces, names = [], []
    for t in terms:
        P = Pullback()
        P.pull(t, E.Const(1))
        g = P.gradient(x.name, x.shape)
        names += _pull_rules(P.fired, matrix)
        pieces.append(_row(g) if not matrix else display(simplify(E.transpose(g))))
    if matrix:
        moved = [E.Trace(E.mul(p, dx)) for p in pieces]
    else:
        moved = [E.mul(p, dx) for p in pieces]
    steps.append(Step(", ".join(_unique(names)) or "dX to the right", _sum(moved)))
    if len(pieces) > 1:
        total = display(simplify(E.add(*pieces)))
        collected = E.Trace(E.mul(total, dx)) if matrix else E.mul(total, dx)
        steps.append(Step("collecting terms", collected))
    if matrix:
        rule = f"identification: df = tr(Gᵀ {dname}) ⇒ ∇f = G"
        if x.symmetric:
            rule += f"; {name} is symmetric, so ∇f = (G + Gᵀ)/2"
    else:
        rule = f"identification: df = gᵀ {dname} ⇒ ∇f = g"
    steps.append(Step(rule, steps[-1].rhs, result=gradient, result_name="∇f",
                      result_latex=latex_lhs("gradient", x.name)))


def _simplify_rules(fired: list) -> str:
    """The identities simplification used, by their docstrings' first lines."""
    names = [(r.__doc__ or r.__name__).strip().splitlines()[0].rstrip(".:")
             for r in fired if not getattr(r, "quiet", False)]
    return ", ".join(_unique(names)) or "simplify"


def _row(g: E.Expr) -> E.Expr:
    """gᵀ for a gradient vector g: transposed into the product, or (g)ᵀ if that reads better."""
    pushed = display(simplify(E.transpose(g)))
    whole = E.Transpose(display(simplify(g))) if not g.is_scalar else g
    return pushed if len(to_text(pushed)) <= len(to_text(whole)) else whole


def _elementwise(t: E.Expr) -> bool:
    """Terms with elementwise functions read better simplified before the trace tricks."""
    stack = [t]
    while stack:
        n = stack.pop()
        if isinstance(n, (E.Hadamard, E.Func)) or (isinstance(n, E.Power) and not n.base.is_scalar):
            return True
        stack.extend(n.args)
    return False


def _scaled_trace(t: E.Expr):
    """c s tr(M) → tr(c s M) when the trace holds the differential, else None."""
    if isinstance(t, E.MatMul) and not t.chain:
        traces = [f for f in t.scalars if isinstance(f, E.Trace) and f.has_differential]
        if len(traces) == 1:
            tr = traces[0]
            others = [f for f in t.scalars if f is not tr]
            return E.Trace(E.mul(E.Const(t.coeff), *others, tr.arg))
    return None


def _without_repeats(steps: list) -> list:
    """Drop a line that shows the same expression as the line before it; the read-off
    line takes the place of the line it repeats (`df = tr(P dX) ⇒ ∇f = Pᵀ`)."""
    out = []
    for s in steps:
        same = out and out[-1].statement is None and s.rhs == out[-1].rhs
        if same and s.result is None:
            continue
        if same and s.result is not None and len(out) > 2:
            prev = out.pop()
            s = Step(f"{prev.rule}; {s.rule}", s.rhs, result=s.result, result_name=s.result_name, lhs=s.lhs,
                     result_latex=s.result_latex)
        out.append(s)
    return out


def hessian_derivation(hres, name: str | None = None) -> Derivation:
    """First the gradient's derivation, then d(∇f) with dx held constant, read off as H dx."""
    name = name or hres.wrt[0]
    base = derivation(hres.first, name)
    x = hres.variables[name]
    g = hres.gradients[name]
    dx = x.differential()
    dg, fired = hres.gradient_differentials[name]  # recorded by second_order: d() is not run again
    steps = list(base.steps)
    steps.append(Step("differentiate the gradient, dx held constant", dg, statement=g, lhs="d(∇f)"))
    steps.append(Step(_d_rules(fired), dg, lhs="d(∇f)"))
    fired = []
    tidy = display(simplify(dg, fired), fired)
    if tidy != dg:
        steps.append(Step(_simplify_rules(fired), tidy, lhs="d(∇f)"))
    block = hres.blocks.get((name, name))
    if block is not None and x.cols == 1:
        dn = to_unicode(dx)
        steps.append(Step(f"d(∇f) = H {dn} ⇒ H; d²f = {dn}ᵀ H {dn}", E.mul(block, dx),
                          result=block, result_name="H", lhs="d(∇f)", result_latex=latex_lhs("hessian", x.name)))
    return Derivation(x, hres.f, _without_repeats(steps))
