"""The Python API: parse, differentiate, identify, simplify, and a result object to print.

`diff("a^T X A X a", "X")` runs the whole first-order pipeline: parse → d() →
identify (pullback for a scalar f, forward coefficients for a vector f, dt → 1 for
a scalar variable) → simplify. The result prints in every notation and evaluates.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

from . import expr as E
from .decls import Decls, canonical_name, pretty_name, split_names
from .differential import d_recorded
from .errors import DeclarationError, DerivationError, DomainError
from .identify import coefficient, pullback, substitute, vec_coefficient
from .reading import parse as _parse
from .reading import symbols_of
from .display import display
from .printing.text import latex_aligned, latex_display, latex_lhs, to_latex, to_text, to_unicode
from .sharing import shared_gradients
from .simplify import simplify, sym
from .walk import distinct_nodes, symbols_in


def parse(text: str, decls: Decls | None = None, **kw) -> E.Expr:
    """Parse matrix notation: `parse("x^T A x")`, `parse("tr(S^-1 M)", symmetric="S")`."""
    return _parse(text, Decls.from_arguments(decls, kw))


class _WrittenOut:
    """`Derivative.expr`: as given, or, given as None for a derivative written over `where`
    names, those names written out on first use (large for a deep network: the printers and
    the self-check use the named form instead)."""

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, dv, owner=None):
        if dv is None:
            raise AttributeError(self.slot)  # so the dataclass field has no default
        value = dv.__dict__[self.slot]
        if value is None:
            from .sharing import written_out

            value = dv.__dict__[self.slot] = written_out(dv.named, dv.bindings)
        return value

    def __set__(self, dv, value):
        dv.__dict__[self.slot] = value


@dataclass
class Derivative:
    """The derivative of f with respect to one variable."""

    variable: E.Symbol
    kind: str  # gradient | jacobian | derivative | differential
    expr: E.Expr | None = _WrittenOut()  # simplified, factored for display; one expression
    f: E.Expr
    matrix_form: E.Expr | None = None  # for a Σ_i result: the same in X, y (checked equal)
    bindings: tuple = ()  # the result's `where` names (sharing.Binding), in definition order
    named: E.Expr | None = None  # the derivative over those names (what prints), if any

    @property
    def name(self) -> str:
        return self.variable.name

    @property
    def shown(self) -> E.Expr:
        """What prints: the named form when there is one."""
        return self.expr if self.named is None else self.named

    def value(self, env: dict, dims: dict):
        """The derivative at a point (name → array): each `where` name evaluated once."""
        from .numeric import evaluate

        if self.named is None:
            return evaluate(self.expr, env, dims)
        return evaluate(self.named, binding_values(self.bindings, env, dims), dims)

    def notation(self, fmt: str) -> str:
        if fmt == "text":
            return to_text(self.shown)
        if fmt == "unicode":
            return to_unicode(self.shown)
        if fmt == "latex":
            return to_latex(self.shown)
        if fmt == "numpy":
            from .printing.numpy import to_numpy

            return to_numpy(self.shown, context=(self.f, self.variable))
        raise ValueError(f"unknown format {fmt!r}")

    def lhs(self, fmt: str = "unicode") -> str:
        """∇_X f, J_x, ∂f/∂t, df; in LaTeX the name is spelled as in the right-hand side."""
        if fmt == "latex":
            return latex_lhs(self.kind, self.name)
        x = self.name if fmt == "text" else pretty_name(self.name)
        if self.kind == "gradient":
            return f"grad_{x} f" if fmt == "text" else f"∇_{x} f"
        if self.kind == "jacobian":
            return f"J_{x}"
        if self.kind == "vec-jacobian":
            return f"dvecF/dvec{x}" if fmt == "text" else f"∂vec F/∂vec {x}"
        if self.kind == "derivative":
            return f"df/d{x}" if fmt == "text" else f"∂f/∂{x}"
        return "df"


@dataclass
class Result:
    """Everything `diff` found: f, its differential, and one Derivative per variable."""

    source: str
    f: E.Expr
    wrt: list
    df_: E.Expr | None  # df as d() gives it; None: derived when first asked for
    derivatives: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    record_: list | None = field(default=None, repr=False)  # (rule, node, d(node)), for the steps
    written: tuple = ()  # every name written in the expression, also those that cancel
    bindings: list = field(default_factory=list)  # `where` names shared by the derivatives (sharing.py)
    variables_: dict | None = field(default=None, repr=False)  # name → Symbol, to derive df later

    @property
    def raw_differential(self) -> E.Expr:
        """df, linear in the differentials of the variables (derived on first use when the
        answer was found without it: the shared-subexpression path needs no whole df)."""
        if self.df_ is None:
            self.df_, self.record_ = d_recorded(self.f, self.variables_)
        return self.df_

    @property
    def d_record(self) -> list:
        self.raw_differential  # noqa: B018 - derives it if needed
        return self.record_ or []

    def differential_wrt(self, name: str):
        """df with only dX of the variable `name` kept, and the d() rules that built it."""
        return restrict(self.raw_differential, self.d_record, name, self.wrt)

    @cached_property
    def differential(self) -> E.Expr:
        """df, simplified for display (computed when first asked for); with `where` names,
        Σ ⟨G, dX⟩ over the named gradients."""
        if self.bindings:
            return E.add(*(display(simplify(E.inner(dv.shown, dv.variable.differential())))
                           for dv in self.derivatives))
        return display(simplify(self.raw_differential))

    def where(self, fmt: str = "text") -> list:
        """`name = definition` for each shared subexpression the derivatives are written over."""
        if fmt == "numpy":
            from .printing.numpy import NumpyPrinter, py_name

            printer = NumpyPrinter()
            for e in (self.f, *(dv.variable for dv in self.derivatives)):
                printer.learn_dims(e)
            return [f"{py_name(b.name)} = {printer.doprint(b.definition)}" for b in self.bindings]
        show = {"text": to_text, "unicode": to_unicode, "latex": to_latex}[fmt]
        return [f"{show(b.symbol)} = {show(b.definition)}" for b in self.bindings]

    @property
    def kind(self) -> str:
        return self.derivatives[0].kind

    @property
    def expr(self) -> E.Expr:
        """The derivative for a single variable (the first one otherwise)."""
        return self.derivatives[0].expr

    def __getitem__(self, name: str) -> E.Expr:
        for dv in self.derivatives:
            if dv.name == name:
                return dv.expr
        raise KeyError(name)

    def __str__(self):
        return self.format("text")

    def __repr__(self):
        return f"<matcalc.Result {self.kind} of {self.source!r} wrt {','.join(self.wrt)}: {self.format('unicode')}>"

    def _repr_latex_(self):
        """Jupyter: each derivative with its left-hand side (∇_X f = …)."""
        return latex_display(self._latex(with_lhs=True))

    def _latex(self, with_lhs: bool) -> str:
        """One derivative without a matrix form: the expression (with `lhs = ` if asked);
        otherwise an aligned block, a line per derivative and per matrix form, then the
        `where` names."""
        if len(self.derivatives) == 1 and self.derivatives[0].matrix_form is None and not self.bindings:
            dv = self.derivatives[0]
            return (f"{dv.lhs('latex')} = " if with_lhs else "") + dv.notation("latex")
        rows = []
        for dv in self.derivatives:
            rows.append((dv.lhs("latex"), dv.notation("latex")))
            if dv.matrix_form is not None:
                rows.append(("", to_latex(dv.matrix_form), "(matrix form)"))
        if self.bindings:
            rows.append(("", None, "where"))
            rows += [(to_latex(b.symbol), to_latex(b.definition)) for b in self.bindings]
        return latex_aligned(rows)

    def to_sympy(self):
        """The derivative as a SymPy matrix expression (a dict by variable for several)."""
        from .sympy_interop import to_sympy

        out = {dv.name: to_sympy(dv.expr) for dv in self.derivatives}
        return next(iter(out.values())) if len(out) == 1 else out

    def derivation(self, name: str | None = None):
        """The step-by-step derivation for one variable (steps.Derivation)."""
        from .steps import derivation

        return derivation(self, name)

    @property
    def steps(self) -> list:
        """The steps of the derivation (for the first variable): a list of Step that
        Jupyter displays as the derivation."""
        from .steps import Steps

        return Steps(self.derivation())

    def differential_text(self, fmt: str = "text") -> str:
        body = {"text": to_text, "unicode": to_unicode, "latex": to_latex}[fmt](self.differential)
        return ("\\mathrm{d}f = " if fmt == "latex" else "df = ") + body

    def where_clause(self, fmt: str = "text") -> str:
        """The `where` names on one line (`, where t1 = …, δ1 = …`), or "" without any."""
        return (", where " + ", ".join(self.where(fmt))) if self.bindings else ""

    def format(self, fmt: str = "text") -> str:
        """The result as text, unicode, latex, numpy, json or differential."""
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if fmt == "differential":
            return self.differential_text("text") + self.where_clause("text")
        if (len(self.derivatives) == 1 and fmt in ("text", "numpy") and self.derivatives[0].matrix_form is None
                and not self.bindings):
            return self.derivatives[0].notation(fmt)
        if fmt == "latex":
            return self._latex(with_lhs=False)
        lines = self.where("numpy") if fmt == "numpy" else []
        for dv in self.derivatives:
            if fmt == "numpy":
                lines.append(f"{dv.name}: {dv.notation(fmt)}")
            elif len(self.derivatives) == 1:
                lines.append(dv.notation(fmt))
            else:
                lines.append(f"{dv.lhs(fmt)} = {dv.notation(fmt)}")
            if dv.matrix_form is not None and fmt in ("text", "unicode"):
                printer = to_text if fmt == "text" else to_unicode
                lines.append(f"  = {printer(dv.matrix_form)}    (matrix form)")
        if self.bindings and fmt != "numpy":
            lines.append("where")
            lines += ["  " + line for line in self.where(fmt)]
        return "\n".join(lines)

    def to_json(self):
        def one(dv: Derivative):
            return {
                "expr": self.source,
                "wrt": dv.name,
                "kind": dv.kind,
                "result": dv.notation("text"),
                "unicode": dv.notation("unicode"),
                "latex": dv.notation("latex"),
                "numpy": _code_or_none(dv),
                "differential": self.differential_text("text"),
                "shape": [str(x) for x in dv.shown.shape] if dv.kind != "differential" else [str(x) for x in self.f.shape],
                "notes": self.notes,
                **({"bindings": bindings} if bindings and dv is self.derivatives[0] else {}),
                **({"matrix_form": to_text(dv.matrix_form), "matrix_form_unicode": to_unicode(dv.matrix_form),
                    "matrix_form_latex": to_latex(dv.matrix_form)} if dv.matrix_form is not None else {}),
            }

        bindings = [{"name": b.name, "name_latex": to_latex(b.symbol), "role": b.role,
                     "result": to_text(b.definition), "unicode": to_unicode(b.definition),
                     "latex": to_latex(b.definition), "numpy": code, "shape": [str(x) for x in b.symbol.shape]}
                    for b, code in zip(self.bindings, self._where_code())]
        items = [one(dv) for dv in self.derivatives]
        return items[0] if len(items) == 1 else items

    def _where_code(self) -> list:
        """The NumPy code of each `where` definition (None where there is none)."""
        from .functions import MissingEntry

        try:
            return [line.split(" = ", 1)[1] for line in self.where("numpy")]
        except MissingEntry:
            return [None] * len(self.bindings)

    def evaluate(self, values: dict) -> dict:
        """Each derivative (or f's differential, given 'dX' values) at a point: name → array."""
        import numpy as np

        from .numeric import _as2d, bind_dims, complete_values, evaluate, parse_value

        env = {canonical_name(k): _as2d(parse_value(v) if isinstance(v, str) else v) for k, v in values.items()}
        exprs = [self.f] + [dv.shown for dv in self.derivatives] + [dv.variable for dv in self.derivatives]
        env = complete_values(env, symbols_of(self.f))
        for name, s in symbols_of(self.f).items():
            v = env[name]
            if s.shape[0] == 1 and s.shape[1] == 1 and v.shape != (1, 1):
                raise DeclarationError(f"{name} is a scalar but the value given has shape {v.shape}")
            if s.shape[1] == 1 and v.shape[1] != 1:
                raise DeclarationError(f"{name} is a column vector but the value given has shape {v.shape}")
        known = set(symbols_of(self.f)) | set(self.wrt) | {"d" + n for n in self.wrt} | set(self.written)
        unknown = sorted(set(env) - known)
        if unknown:
            raise DeclarationError(f"at= names {', '.join(unknown)}, which "
                                   f"{'does' if len(unknown) == 1 else 'do'} not occur in the expression")
        bad = sorted(k for k, v in env.items() if not np.all(np.isfinite(v)))
        if bad:
            raise DeclarationError(f"the value of {', '.join(bad)} is not finite (numbers up to about 1e308)")
        dims = bind_dims(exprs, env)
        out = {}
        try:
            with np.errstate(all="ignore"):
                named = binding_values(self.bindings, env, dims)
                for dv in self.derivatives:
                    if dv.kind == "differential":
                        continue
                    out[dv.name] = evaluate(dv.shown, named, dims)
                out["f"] = evaluate(self.f, env, dims)
        except np.linalg.LinAlgError as err:
            raise DomainError(f"the point is outside the domain of the expression ({err}: "
                                   f"a matrix that is inverted is singular there)") from None
        off = [k for k, v in out.items() if not np.all(np.isfinite(v))]
        if off:
            raise DomainError(f"the point is outside the domain of the expression: "
                                   f"{'f' if 'f' in off else 'the derivative'} is not finite there")
        return out


def binding_values(bindings, env: dict, dims: dict) -> dict:
    """env with the value of each `where` name added, in definition order."""
    if not bindings:
        return env
    from .numeric import evaluate

    env = dict(env)
    for b in bindings:
        env[b.name] = evaluate(b.definition, env, dims)
    return env


def _code_or_none(dv: "Derivative"):
    """NumPy code of a derivative, or None where there is none (an abstract f has no numbers)."""
    from .functions import MissingEntry

    try:
        return dv.notation("numpy")
    except MissingEntry:
        return None


def parse_in_context(text: str, f: E.Expr, wrt, decls: Decls | None = None, shape=None) -> E.Expr:
    """Parse an answer about f: the same kinds and sizes as in f, `dX` allowed for the
    variables in `wrt`, and (if given) the shape the answer must have."""
    base = decls or Decls()
    dims = dict(base.dims)
    symmetric = set(base.symmetric)
    for name, s in symbols_of(f).items():
        dims.setdefault(name, s.shape)
        if s.symmetric:
            symmetric.add(name)
    ctx = Decls(set(base.scalars), set(base.vectors), set(base.matrices), symmetric, dims,
                base.counts | observation_counts(f))
    return _parse(text, ctx, differentials=list(wrt), shape=shape)


def observation_counts(f: E.Expr) -> frozenset:
    """The names of the numbers of observations in f (n of Σ_{i=1}^n): in an answer without
    a sum, `n` is that count (`Σ⁻¹(Xᵀ1 − n μ)`)."""
    out, stack = set(), [f]
    while stack:
        e = stack.pop()
        if isinstance(e, E.SumOver) and isinstance(e.n, str):
            out.add(e.n)
        stack.extend(e.args)
    return frozenset(out)


def parse_like(text: str, result: "Result", decls: Decls | None = None, as_differential: bool = False) -> E.Expr:
    """Parse an answer in the context of a result: same kinds and sizes, and dX allowed
    (`as_differential`: the answer is df, whatever the kind of the derivative)."""
    dv = result.derivatives[0]
    base = decls or Decls()
    for d_ in result.derivatives:  # variables absent from f keep their own shape
        base = Decls(base.scalars, base.vectors, base.matrices, base.symmetric,
                     {**{d_.name: d_.variable.shape}, **base.dims}, base.counts)
    shape = result.f.shape if dv.kind == "differential" or as_differential else dv.expr.shape
    return parse_in_context(text, result.f, result.wrt, base, shape)


def _kind(f: E.Expr, x: E.Symbol) -> str:
    if x.is_scalar:
        return "derivative"
    if f.is_scalar:
        return "gradient"
    if f.cols == 1 and x.cols == 1:
        return "jacobian"
    return "differential"


def kink_notes(f: E.Expr) -> list:
    """A note per function of f that is not differentiable everywhere (its record says which
    subgradient is used)."""
    from . import functions

    found: list = []
    for n in distinct_nodes(f):
        if isinstance(n, E.Func):
            note = functions.get(n.name).kink
            if note and note not in found:
                found.append(note)
    return found


def rank_notes(f: E.Expr) -> list:
    """A note per determinant or inverse of a product whose symbolic sizes decide whether it
    is singular (`det(Z P)`, Z n×m: singular when m < n): the answer assumes full rank."""
    found: list = []
    for n in distinct_nodes(f):
        if isinstance(n, (E.Det, E.Inverse)):
            b = E.rank_bottleneck(n.arg)
            if b and b[0] == "assumed":
                note = (f"`{n.arg}` is {E.fmt_shape(n.arg.shape)} through size {b[1]}: the answer "
                        f"assumes {b[1]} ≥ {n.arg.rows} (for {b[1]} < {n.arg.rows} it is singular"
                        + (" and the determinant is 0)" if isinstance(n, E.Det) else ")"))
                if note not in found:
                    found.append(note)
    return found


def derive(f: E.Expr, variables: dict, source: str = "", vec: bool = False) -> Result:
    """The derivatives of an Expr wrt the given symbols (name → Symbol). With `vec`, a
    derivative that is only a differential becomes the Jacobian of vec F (Kronecker form)."""
    notes = kink_notes(f)
    derivs = []
    shared = shared_gradients(f, variables) if f.is_scalar else None
    if shared is not None:  # a large answer, written over names of shared subexpressions
        bindings = tuple(shared.bindings)
        for name, x in variables.items():
            if x.symmetric:
                notes.append(f"{name} is symmetric: the gradient is sym(G) = (G + Gᵀ)/2")
            g = shared.gradients[name]
            derivs.append(Derivative(x, _kind(f, x), None, f, _matrix_form(g), bindings, g))
        return Result(source, f, list(variables), None, derivs, notes, bindings=list(bindings),
                      variables_=dict(variables))
    df, record = d_recorded(f, variables)
    grads = pullback(df, variables) if f.is_scalar else None
    for name, x in variables.items():
        kind = _kind(f, x)
        if f.is_scalar:
            g = grads[name]
            if x.symmetric:
                g = sym(simplify(g))
                notes.append(f"{name} is symmetric: the gradient is sym(G) = (G + Gᵀ)/2")
        elif kind == "derivative":
            g = substitute(restrict(df, (), name, variables)[0], {x.differential(): E.Const(1)})
        elif kind == "jacobian":
            dfx = restrict(df, (), name, variables)[0]
            try:
                g = coefficient(simplify(dfx), x)
            except DerivationError:
                kind, g = "differential", dfx
                notes.append(
                    f"the Jacobian wrt {name} has no plain matrix form here; the answer is the "
                    f"differential"
                )
        elif vec:
            kind = "vec-jacobian"
            g = vec_coefficient(simplify(restrict(df, (), name, variables)[0]), x)
        else:
            g = restrict(df, (), name, variables)[0]
        shown = display(simplify(g))
        derivs.append(Derivative(x, kind, shown, f, _matrix_form(shown)))
    return Result(source, f, list(variables), df, derivs, notes, record)


def _matrix_form(g: E.Expr):
    """The matrix form of a derivative in Σ_i form (vectorize.py), or None."""
    from .vectorize import checked_matrix_form

    m = checked_matrix_form(g)
    return display(m) if m is not None else None


def restrict(df: E.Expr, record, name: str, names) -> tuple:
    """df with every differential but d`name` set to 0 (d(f) for that variable alone), and
    the entries of the d() record whose result holds d`name`."""
    others = {f"d{n}" for n in names if n != name}
    if not others & df.symbols:
        return df, list(record)
    zeros = {s: E.Zero(*s.shape) for s in symbols_in(df) if s.diff and s.name != name}
    key = f"d{name}"
    return substitute(df, zeros), [r for r in record if key in r[2].symbols]


def resolve_variables(f: E.Expr, wrt, decls: Decls, named: dict | None = None):
    """The symbols named by `wrt` (name → Symbol), and notes for names that do not occur.
    `named` (from parse) holds the names written but cancelled (`v - v`), with their shapes."""
    symbols = symbols_of(f)
    items = [wrt] if isinstance(wrt, str) or not isinstance(wrt, (list, tuple, set)) else list(wrt)
    names = []  # strings are split and spelled canonically; Symbols are taken as named
    for w in items:
        if w is not None:
            names += split_names([w]) if isinstance(w, str) else [_symbol_name(w)]
    if not names:
        if len(symbols) == 1:
            names = list(symbols)
        else:
            raise DeclarationError(
                f"say which variable to differentiate with respect to, e.g. wrt="
                f"{sorted(symbols)[0] if symbols else 'x'} (the expression has "
                f"{', '.join(sorted(symbols)) or 'no variables'})"
            )
    variables, notes = {}, []
    for n in names:
        if n in symbols:
            variables[n] = symbols[n]
        elif named and n in named:
            variables[n] = named[n]
            notes.append(f"{n} cancels out of the expression (it is written, but f does not depend "
                         f"on it): its derivative is 0")
        else:
            variables[n] = _absent_variable(n, decls)
            notes.append(f"{n} does not occur in the expression: its derivative is 0")
    return variables, notes


def prepare(expr: str, wrt, decls: Decls | None, kw: dict, named: dict | None = None):
    """What every entry point starts with: f parsed, the variables, and notes about them.
    `named`, if given, receives every name written (those that cancel too) → Symbol."""
    decls = Decls.from_arguments(decls, kw)
    parse_notes: list = []
    named = {} if named is None else named
    if isinstance(expr, str):
        from .program import inline_definitions

        f = _parse(inline_definitions(expr, parse_notes), decls, notes=parse_notes, named=named)
    else:
        f = as_expr(expr)
    variables, notes = resolve_variables(f, wrt, decls, named)
    return f, variables, parse_notes + notes + rank_notes(f)


def as_expr(expr) -> E.Expr:
    """A matcalc Expr from an Expr or a SymPy expression (strings go through parse)."""
    if isinstance(expr, E.Expr):
        return expr
    if type(expr).__module__.split(".")[0] == "sympy":
        from .sympy_interop import from_sympy

        return from_sympy(expr)
    raise DeclarationError(f"expr must be a string, a matcalc Expr or a SymPy expression, "
                           f"not {type(expr).__name__}")


def diff(expr, wrt=None, decls: Decls | None = None, vec: bool = False, **kw) -> Result:
    """Differentiate `expr` with respect to `wrt` (a name, a comma list, or a list of names).
    `expr` is matcalc notation (a string), a matcalc Expr, or a SymPy expression.

    >>> str(diff("x^T A x", "x"))
    '(A + A^T) x'
    """
    named: dict = {}
    f, variables, notes = prepare(expr, wrt, decls, kw, named)
    result = derive(f, variables, expr if isinstance(expr, str) else to_text(f), vec)
    result.notes = notes + result.notes
    result.written = tuple(named)
    return result


def _symbol_name(w) -> str:
    """The name of a wrt given as a matcalc Symbol or a SymPy symbol / MatrixSymbol."""
    if isinstance(w, E.Symbol):
        return w.name
    name = getattr(w, "name", None)
    if isinstance(name, str) and type(w).__module__.split(".")[0] == "sympy":
        return name
    raise DeclarationError(f"wrt={w!r}: give a name, a matcalc Symbol or a SymPy symbol")


def _absent_variable(name: str, decls: Decls) -> E.Symbol:
    try:
        shape = _parse(name, decls).shape
    except Exception:  # noqa: BLE001 - an unparsable name is reported by split_names already
        shape = (1, 1)
    if shape == (1, 1):
        return E.Symbol(name, 1, 1)
    return E.Symbol(name, *(d if isinstance(d, int) else f"n_{name}" for d in shape))


__all__ = ["diff", "derive", "parse", "parse_like", "parse_in_context", "Result", "Derivative"]
