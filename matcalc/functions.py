"""One record per elementwise function: everything every stage needs to know about it.

The parser (its grammar's function names included), d(), the evaluator, the text,
unicode, LaTeX and NumPy/PyTorch/JAX printers, SymPy in both directions, the steps,
the notes on kinks and backprop's list of activations all read these records; no
stage keeps a table of function names of its own. Adding a function is one record
here (and one test row): see ARCHITECTURE.md.

A record's callables build from expr.py's constructors (`derivative`), from NumPy
(`numpy`, imported lazily by the numeric module) and from SymPy (`sympy`), so this
module imports none of NumPy or SymPy itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction
from typing import Callable

from . import expr as E
from .errors import MatcalcError


class MissingEntry(MatcalcError):
    """A stage has nothing for a function or node: the message names the stage and the name."""


@dataclass(frozen=True)
class Function:
    """An elementwise function f, applied entrywise to arrays (plainly to scalars)."""

    name: str  # canonical: stored in Func nodes, printed in text output
    derivative: Callable  # u ↦ f'(u) as an Expr (d f(u) = f'(u) ⊙ du)
    numpy: Callable  # (np, ndarray) ↦ ndarray: the value, accurate over the whole range
    code: str  # NumPy/JAX source, with {ns} the namespace and {u} the argument
    step: str  # the chain-rule identity steps.py shows: "σ'(u) = σ(u)(1 − σ(u))"
    aliases: tuple = ()  # other spellings: ASCII, Unicode, LaTeX command names ("ln", "σ")
    unicode: str = ""  # name in unicode output ("ln"); default: the name
    latex: str = ""  # "\\tanh"; default: \operatorname{name}
    torch: str = ""  # PyTorch source when it is not `code` with ns=torch
    sympy: Callable | None = None  # (sympy, t) ↦ f(t) as a SymPy scalar expression
    at_zero: Fraction | None = None  # f(0), folded by the constructors (tanh(0) = 0)
    activation: bool = False  # a layer's nonlinearity in backprop
    matrix_meaning: bool = False  # has a matrix function too (expm, logm): exp.(X) on square X
    kink: str = ""  # a note when f is not differentiable everywhere (the subgradient used)
    values: tuple | None = None  # (lo, hi): f(u) ∈ [lo, hi] for every real u (the sign rules of classify)

    @property
    def spellings(self) -> tuple:
        return (self.name, *self.aliases)

    def source(self, ns: str, u: str) -> str:
        """Code for f(u) in the namespace `ns` (np, jnp or torch)."""
        if not self.code:
            raise MissingEntry(f"no {ns} code for the abstract function {self.name}: say which "
                               f"activation it is (sigmoid, tanh, relu, …)")
        template = self.torch if (ns == "torch" and self.torch) else self.code
        return template.format(ns=ns, u=u)

    def latex_name(self) -> str:
        return self.latex or f"\\operatorname{{{self.name}}}"

    def unicode_name(self) -> str:
        return self.unicode or self.name

    def to_sympy(self, sp):
        """f as a SymPy callable (a class such as sp.tanh, or a Lambda)."""
        if self.sympy is None:
            raise MissingEntry(f"no SymPy counterpart for {self.name}")
        t = sp.Dummy("t")
        body = self.sympy(sp, t)
        if isinstance(body, sp.Function) and body.args == (t,):
            return body.func
        return sp.Lambda(t, body)


INF = float("inf")


def _sigmoid(np, x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _one_minus(u, f):
    return E.sub(E.ones_like(u), f)


FUNCTIONS_LIST = [
    Function(
        "exp", lambda u: E.func("exp", u), lambda np, x: np.exp(x), "{ns}.exp({u})",
        "d exp(u) = exp(u) du", aliases=("\\exp",), latex="\\exp",
        sympy=lambda sp, t: sp.exp(t), at_zero=Fraction(1), activation=True, matrix_meaning=True,
        values=(0, INF),
    ),
    Function(
        "log", lambda u: E.power(u, -1), lambda np, x: np.log(x), "{ns}.log({u})",
        "d ln u = du / u", aliases=("ln", "\\ln", "\\log"), unicode="ln", latex="\\ln",
        sympy=lambda sp, t: sp.log(t), matrix_meaning=True,
    ),
    Function(
        "sigmoid", lambda u: E.hadamard(E.func("sigmoid", u), _one_minus(u, E.func("sigmoid", u))),
        _sigmoid, "{ns}.exp(-{ns}.logaddexp(0, -({u})))", "σ'(u) = σ(u)(1 − σ(u))",
        aliases=("sigma", "σ", "\\sigma", "Sigmoid"), latex="\\sigma", torch="torch.sigmoid({u})",
        sympy=lambda sp, t: 1 / (1 + sp.exp(-t)), at_zero=Fraction(1, 2), activation=True, values=(0, 1),
    ),
    Function(
        "tanh", lambda u: _one_minus(u, E.power(E.func("tanh", u), 2)), lambda np, x: np.tanh(x),
        "{ns}.tanh({u})", "tanh'(u) = 1 − tanh²(u)", aliases=("\\tanh",), latex="\\tanh",
        sympy=lambda sp, t: sp.tanh(t), at_zero=Fraction(0), activation=True, values=(-1, 1),
    ),
    Function(
        "relu", lambda u: E.func("step", u), lambda np, x: np.maximum(x, 0.0),
        "{ns}.maximum({u}, 0)", "relu'(u) = step(u)", aliases=("ReLU",), torch="torch.clamp({u}, min=0)",
        sympy=lambda sp, t: sp.Max(0, t), at_zero=Fraction(0), activation=True, values=(0, INF),
        kink="relu is not differentiable at 0; the subgradient step(0) = 0 is used there",
    ),
    Function(
        "abs", lambda u: E.func("sign", u), lambda np, x: np.abs(x), "{ns}.abs({u})",
        "|u|' = sign(u)", sympy=lambda sp, t: sp.Abs(t), at_zero=Fraction(0), activation=True, values=(0, INF),
        kink="abs is not differentiable at 0; the subgradient sign(0) = 0 is used there",
    ),
    Function(
        "softplus", lambda u: E.func("sigmoid", u), lambda np, x: np.logaddexp(0.0, x),
        "{ns}.logaddexp(0, {u})", "softplus'(u) = σ(u)",
        torch="torch.nn.functional.softplus({u})",
        sympy=lambda sp, t: sp.log(1 + sp.exp(t)), activation=True, values=(0, INF),
    ),
    Function(
        "softsign", lambda u: E.power(E.add(E.ones_like(u), E.func("abs", u)), -2),
        lambda np, x: x / (1 + np.abs(x)), "({u}) / (1 + {ns}.abs({u}))",
        "softsign'(u) = 1 / (1 + |u|)²", sympy=lambda sp, t: t / (1 + sp.Abs(t)),
        at_zero=Fraction(0), activation=True, values=(-1, 1),
    ),
    Function(
        "sin", lambda u: E.func("cos", u), lambda np, x: np.sin(x), "{ns}.sin({u})",
        "sin'(u) = cos(u)", aliases=("\\sin",), latex="\\sin", sympy=lambda sp, t: sp.sin(t),
        at_zero=Fraction(0), values=(-1, 1),
    ),
    Function(
        "cos", lambda u: E.neg(E.func("sin", u)), lambda np, x: np.cos(x), "{ns}.cos({u})",
        "cos'(u) = −sin(u)", aliases=("\\cos",), latex="\\cos", sympy=lambda sp, t: sp.cos(t),
        at_zero=Fraction(1), values=(-1, 1),
    ),
    Function(
        "tan", lambda u: E.add(E.ones_like(u), E.power(E.func("tan", u), 2)), lambda np, x: np.tan(x),
        "{ns}.tan({u})", "tan'(u) = 1 + tan²(u)", aliases=("tg", "\\tan", "\\tg"), latex="\\tan",
        sympy=lambda sp, t: sp.tan(t), at_zero=Fraction(0),
    ),
    Function(
        "arctan", lambda u: E.power(E.add(E.ones_like(u), E.power(u, 2)), -1), lambda np, x: np.arctan(x),
        "{ns}.arctan({u})", "arctan'(u) = 1 / (1 + u²)", aliases=("arctg", "atan", "\\arctan", "\\arctg"),
        latex="\\arctan", torch="torch.atan({u})", sympy=lambda sp, t: sp.atan(t), at_zero=Fraction(0),
    ),
    Function(
        "arcsin", lambda u: E.power(E.sub(E.ones_like(u), E.power(u, 2)), Fraction(-1, 2)),
        lambda np, x: np.arcsin(x), "{ns}.arcsin({u})", "arcsin'(u) = 1 / √(1 − u²)",
        aliases=("asin", "\\arcsin"), latex="\\arcsin", torch="torch.asin({u})",
        sympy=lambda sp, t: sp.asin(t), at_zero=Fraction(0),
    ),
    Function(
        "arccos", lambda u: E.neg(E.power(E.sub(E.ones_like(u), E.power(u, 2)), Fraction(-1, 2))),
        lambda np, x: np.arccos(x), "{ns}.arccos({u})", "arccos'(u) = −1 / √(1 − u²)",
        aliases=("acos", "\\arccos"), latex="\\arccos", torch="torch.acos({u})",
        sympy=lambda sp, t: sp.acos(t),
    ),
    Function(
        "sinh", lambda u: E.func("cosh", u), lambda np, x: np.sinh(x), "{ns}.sinh({u})",
        "sinh'(u) = cosh(u)", aliases=("\\sinh",), latex="\\sinh", sympy=lambda sp, t: sp.sinh(t),
        at_zero=Fraction(0),
    ),
    Function(
        "cosh", lambda u: E.func("sinh", u), lambda np, x: np.cosh(x), "{ns}.cosh({u})",
        "cosh'(u) = sinh(u)", aliases=("\\cosh",), latex="\\cosh", sympy=lambda sp, t: sp.cosh(t),
        at_zero=Fraction(1),
    ),
    Function(
        "step", lambda u: E.Zero(*u.shape), lambda np, x: np.heaviside(x, 0.0),
        "{ns}.heaviside({u}, 0.0)", "step'(u) = 0 (u ≠ 0)", torch="torch.relu(torch.sign({u}))",
        sympy=lambda sp, t: sp.Heaviside(t, 0), at_zero=Fraction(0), values=(0, 1),
    ),
    Function(
        "sign", lambda u: E.Zero(*u.shape), lambda np, x: np.sign(x), "{ns}.sign({u})",
        "sign'(u) = 0 (u ≠ 0)", sympy=lambda sp, t: sp.sign(t), at_zero=Fraction(0), values=(-1, 1),
    ),
]

FUNCTIONS: dict[str, Function] = {f.name: f for f in FUNCTIONS_LIST}
_BY_SPELLING: dict[str, Function] = {s: f for f in FUNCTIONS_LIST for s in f.spellings}


def lookup(spelling: str) -> Function | None:
    """The record a user's spelling names (`ln`, `σ`, `\\sigma`), or None."""
    return _BY_SPELLING.get(spelling)


def get(name: str, stage: str = "a record") -> Function:
    """The record of a canonical name (or of an abstract f, f', g, φ); a missing one is a
    named error, never a KeyError."""
    f = FUNCTIONS.get(name) or _abstract_record(name)
    if f is None:
        raise MissingEntry(f"no {stage} for the function {name}")
    return f


@lru_cache(maxsize=None)
def _abstract_record(name: str) -> Function | None:
    """The record of the book's generic activation f (abstract.py): its derivative is f',
    it has no numbers and no code (both ask which activation is meant)."""
    from .abstract import is_abstract, refuse_numbers
    from .decls import GREEK_LETTER_NAMES

    if not is_abstract(name):
        return None
    base, primes = name.rstrip("'"), "'" * (len(name) - len(name.rstrip("'")))
    letter = {v: k for k, v in GREEK_LETTER_NAMES.items()}.get(base.split("_")[0])
    return Function(
        name, lambda u: E.func(name + "'", u), lambda np, x: refuse_numbers(name), "",
        f"{name}'(u), the derivative of the abstract activation {base}",
        unicode=(letter + base[len(base.split('_')[0]):] if letter else base) + primes,
        latex=(f"\\{base}" if letter else base) + primes,
        sympy=lambda sp, t: sp.Function(name)(t), activation=True,
    )


def activations() -> list:
    return [f.name for f in FUNCTIONS_LIST if f.activation]
