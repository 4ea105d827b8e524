"""Second order: the second differential d²f and the Hessian read off from it.

d²f is d applied to df with the differentials held constant (`d(dX) = 0`). For
vector (and scalar) variables the Hessian is the Jacobian of the gradient — the
same forward identification as any Jacobian — so that d²f = dxᵀ H dx; a block that
is not symmetric in its normal form is shown as (B + Bᵀ)/2. For matrix variables
the answer is the bilinear form d²f itself, and with `vec=True` the matrix of
vec(dX)ᵀ H vec(dX) in Kronecker form.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from . import expr as E
from .api import derive, kink_notes, prepare
from .decls import Decls
from .differential import d, d_recorded
from .errors import DerivationError
from .identify import coefficient, substitute, vec_coefficient
from .display import display
from .printing.text import latex_aligned, latex_display, latex_lhs, to_latex, to_text, to_unicode
from .simplify import normal_form, simplify


@dataclass
class HessianResult:
    """d²f and, where it has a matrix form, the Hessian block for each pair of variables."""

    source: str
    f: E.Expr
    variables: dict  # name → Symbol
    gradients: dict  # name → gradient Expr
    raw_second_differential: E.Expr
    blocks: dict = field(default_factory=dict)  # (name_i, name_j) → Expr
    notes: list = field(default_factory=list)
    first: object = field(default=None, repr=False)  # the api.Result of the gradients
    gradient_differentials: dict = field(default_factory=dict, repr=False)  # name → (d∇f, d() record)
    matrix_forms: dict = field(default_factory=dict)  # (name_i, name_j) → a Σ_i block in X, y (checked)

    @property
    def wrt(self) -> list:
        return list(self.variables)

    @property
    def kind(self) -> str:
        return "hessian" if self.blocks else "second differential"

    @property
    def expr(self) -> E.Expr:
        """The Hessian for one variable (the first diagonal block otherwise), else d²f."""
        if self.blocks:
            first = self.wrt[0]
            return self.blocks[(first, first)]
        return self.second_differential

    @cached_property
    def second_differential(self) -> E.Expr:
        return display(simplify(self.raw_second_differential))

    def __str__(self):
        return self.format("text")

    def __repr__(self):
        return f"<matcalc.HessianResult of {self.source!r} wrt {','.join(self.wrt)}: {self.format('unicode')}>"

    def _repr_latex_(self):
        """Jupyter: H = … for one block, an aligned block of H_{x,y} = … otherwise."""
        body = self.format("latex")
        if self.blocks and "\\begin{" not in body:
            body = f"{latex_lhs('hessian', self.wrt[0])} = {body}"
        return latex_display(body)

    def evaluate(self, values: dict) -> dict:
        """Each Hessian block at a point: (name, name) → array (and "f")."""
        from .numeric import _as2d, bind_dims, evaluate, parse_value

        env = {k: _as2d(parse_value(v) if isinstance(v, str) else v) for k, v in values.items()}
        dims = bind_dims([self.f, *self.blocks.values()], env)
        out = {key: evaluate(h, env, dims) for key, h in self.blocks.items()}
        out["f"] = evaluate(self.f, env, dims)
        return out

    def derivation(self, name: str | None = None):
        """The gradient's derivation, then d(∇f) read off as H dx."""
        from .steps import hessian_derivation

        return hessian_derivation(self, name)

    @property
    def steps(self) -> list:
        from .steps import Steps

        return Steps(self.derivation())

    def _printer(self, fmt):
        if fmt == "numpy":
            from .printing.numpy import to_numpy

            return lambda e: to_numpy(e, context=(self.f, *self.variables.values()))
        return {"text": to_text, "unicode": to_unicode, "latex": to_latex}[fmt]

    def format(self, fmt: str = "text") -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if fmt == "differential":
            return "d2f = " + to_text(self.second_differential)
        pr = self._printer(fmt)
        if not self.blocks:
            lhs = {"latex": "\\mathrm{d}^2 f = ", "unicode": "d²f = "}.get(fmt, "d2f = ")
            if fmt == "numpy":
                lhs = ""
            return lhs + pr(self.second_differential)
        if fmt == "latex" and (len(self.blocks) > 1 or self.matrix_forms):
            rows = []
            for (a, b), h in self.blocks.items():
                rows.append((latex_lhs("hessian", f"{a},{b}") if len(self.blocks) > 1 else
                             latex_lhs("hessian", a), pr(h)))
                if (a, b) in self.matrix_forms:
                    rows.append(("", pr(self.matrix_forms[(a, b)]), "(matrix form)"))
            return latex_aligned(rows)
        lines = []
        for (a, b), h in self.blocks.items():
            name = f"H[{a},{b}]"
            if len(self.blocks) == 1:
                lines.append(pr(h))
            else:
                lines.append(f"{name} = {pr(h)}" if fmt != "numpy" else f"{a},{b}: {pr(h)}")
            m = self.matrix_forms.get((a, b))
            if m is not None and fmt in ("text", "unicode"):
                lines.append(f"  = {pr(m)}    (matrix form)")
        return "\n".join(lines)

    def to_json(self):
        out = {
            "expr": self.source, "wrt": self.wrt, "kind": self.kind,
            "second_differential": "d2f = " + to_text(self.second_differential),
            "notes": self.notes,
        }
        if self.blocks:
            out["blocks"] = [
                {"wrt": [a, b], "result": to_text(h), "unicode": to_unicode(h), "latex": to_latex(h),
                 "numpy": self._printer("numpy")(h), "shape": [str(x) for x in h.shape],
                 **({"matrix_form": to_text(self.matrix_forms[(a, b)])} if (a, b) in self.matrix_forms else {})}
                for (a, b), h in self.blocks.items()
            ]
            if len(self.blocks) == 1:
                out.update(out["blocks"][0])
                out["wrt"] = self.wrt[0]
        return out


def _symmetric_form(h: E.Expr) -> E.Expr:
    """H itself when it is symmetric in normal form, else (H + Hᵀ)/2."""
    if normal_form(h).key == normal_form(E.transpose(h)).key:
        return h
    return E.scale(Fraction(1, 2), E.add(h, E.transpose(h)))


def _block(g: E.Expr, x: E.Symbol, vec: bool = False, dg: E.Expr | None = None) -> E.Expr:
    """∂g/∂x for the gradient g wrt some variable: the Jacobian (dg = J dx), or with
    `vec` the Jacobian of vec g (vec dg = J vec dx). `dg` is d(g) when already known."""
    dg = simplify(d(g, {x.name: x}) if dg is None else dg)
    if vec:
        return vec_coefficient(dg, x)
    if x.is_scalar:
        return substitute(dg, {x.differential(): E.Const(1)})
    return coefficient(dg, x)


def second_order(f: E.Expr, variables: dict, source: str = "", vec: bool = False) -> HessianResult:
    if not f.is_scalar:
        raise DerivationError(
            f"the Hessian is defined for a scalar f, but `{source or f}` is "
            f"{E.fmt_shape(f.shape)}; use `matcalc diff` for its Jacobian or differential"
        )
    first = derive(f, variables, source)
    gradients = {dv.name: dv.expr for dv in first.derivatives}
    d2 = d(first.raw_differential, variables)
    result = HessianResult(source, f, variables, gradients, d2, notes=kink_notes(f), first=first)
    for a, x in variables.items():  # d(∇f) wrt the same variable: the diagonal blocks, and the steps
        result.gradient_differentials[a] = d_recorded(gradients[a], {a: x})
    matrices = not all(x.cols == 1 for x in variables.values())
    if vec or not matrices:
        for a in variables:
            for b in variables:
                known = result.gradient_differentials[a][0] if a == b else None
                h = _block(gradients[a], variables[b], vec=matrices, dg=known)
                if a == b:
                    h = _symmetric_form(h)
                result.blocks[(a, b)] = display(simplify(h))
        from .vectorize import checked_matrix_form

        for key, h in result.blocks.items():  # Σ_i x_i x_iᵀ … = Xᵀ diag(…) X
            m = checked_matrix_form(h)
            if m is not None:
                result.matrix_forms[key] = m
        if matrices:
            result.notes.append("the Hessian of vec: d²f = vec(dX)ᵀ H vec(dX); K(m,n) is the "
                                "commutation matrix, K vec(A) = vec(Aᵀ) for an m×n A")
    else:
        result.notes.append(
            "a matrix variable: the answer is the bilinear form d²f (the Hessian as a matrix "
            "needs vec(dX): use vec=True)"
        )
    return result


def hessian(expr: str, wrt=None, decls: Decls | None = None, vec: bool = False, **kw) -> HessianResult:
    """Second derivative of a scalar `expr`: the Hessian (vector variables) or d²f;
    with `vec`, matrix variables get the Hessian of vec X in Kronecker form."""
    f, variables, notes = prepare(expr, wrt, decls, kw)
    result = second_order(f, variables, expr, vec)
    result.notes = notes + result.notes
    return result
