"""LaTeX as input: `\\operatorname{tr}(A X^{\\top})`, `\\ln\\det X`, `\\frac{1}{2}\\|x\\|_2^2`.

Pasted LaTeX is rewritten into matcalc's own notation before parsing (the grammar
already reads `^{T}`, `^{-1}`, `x_{i}`, braces as parentheses). Text with a
backslash, or wrapped in `$…$`, is taken for LaTeX.
"""
from __future__ import annotations

import re

from .decls import GREEK
from .errors import ParseError

_WORD_COMMANDS = {
    "ln": "ln", "log": "log", "det": "det", "exp": "exp", "tr": "tr", "trace": "tr",
    "sum": "sum", "diag": "diag", "tanh": "tanh", "sin": "sin", "cos": "cos", "max": "max", "min": "min",
    "Tr": "Tr",
}
_SYMBOLS = {
    "top": "T", "intercal": "T", "odot": ".*", "circ": ".*", "cdot": "·", "times": "×",
    "ast": "*", "lVert": "||", "rVert": "||", "Vert": "||", "|": "||", "lvert": "|", "rvert": "|",
}
_DROP = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle"}
_SPACES = {",", ";", "!", ":", "quad", "qquad", " "}
_STYLE = {"mathbf", "boldsymbol", "bm", "mathit", "mathrm", "operatorname", "text", "textrm",
          "mathsf", "mathnormal", "operatorname*"}


def looks_like_latex(text: str) -> bool:
    t = text.strip()
    return "\\" in t or (len(t) > 1 and t.startswith("$") and t.endswith("$"))


def _group(text: str, i: int):
    """The {…} group starting at text[i] == '{': (content, index after it)."""
    depth = 0
    for j in range(i, len(text)):
        depth += (text[j] == "{") - (text[j] == "}")
        if depth == 0:
            return text[i + 1 : j], j + 1
    raise ParseError(f"LaTeX input: unbalanced braces in {text[i:]!r}")


def _argument(text: str, i: int):
    """A command's argument: a {group} or a single character."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] == "{":
        return _group(text, i)
    if i < len(text):
        return text[i], i + 1
    raise ParseError("LaTeX input: a command is missing its argument")


def _opens_call(rest: str) -> bool:
    """Does a parenthesis follow (so that `\\ln(x) y` stays ln(x)·y)?"""
    rest = rest.lstrip()
    return rest.startswith("(") or rest.startswith("\\left(")


def from_latex(text: str) -> str:
    """matcalc notation for a LaTeX formula."""
    text = text.strip()
    if len(text) > 1 and text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    out: list = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        m = re.match(r"\\([A-Za-z]+\*?|.)", text[i:])
        name = m.group(1)
        i += len(m.group(0))
        if name in _DROP:
            continue
        if name in _SPACES:
            out.append(" ")
        elif name == "frac" or name == "dfrac" or name == "tfrac":
            num, i = _argument(text, i)
            den, i = _argument(text, i)
            out.append(f"(({from_latex(num)})/({from_latex(den)}))")
        elif name == "sqrt":
            arg, i = _argument(text, i)
            out.append(f"sqrt({from_latex(arg)})")
        elif name in ("hat", "bar", "tilde", "widehat", "overline", "widetilde"):
            arg, i = _argument(text, i)  # \hat{y} is the symbol y_hat: an accent is part of a name
            accent = {"widehat": "hat", "overline": "bar", "widetilde": "tilde"}.get(name, name)
            out.append(f" {from_latex(arg).strip()}_{accent} ")
        elif name in ("nabla", "partial"):
            raise ParseError(
                "write only the expression and name the variable with --wrt (wrt= in Python): "
                "`matcalc diff \"x^T A x\" --wrt x`, not `\\nabla_x (x^T A x)` or `\\frac{\\partial}{\\partial x}`"
            )
        elif name in _STYLE:
            arg, i = _argument(text, i)
            inner = from_latex(arg)
            if inner.strip() == "1" and name in ("mathbf", "boldsymbol", "bm"):
                out.append(" 𝟏 ")  # \mathbf{1}: the vector of ones
                continue
            if name in ("mathrm", "operatorname", "text", "operatorname*") and inner == "d":
                out.append("d")  # \mathrm{d}X: a differential
            elif inner.isalpha() and len(inner) > 1:  # \operatorname{tr}(…) is a call
                out.append(f" {inner}" + ("" if _opens_call(text[i:]) else " "))
            else:
                out.append(inner)
        elif name in _WORD_COMMANDS:
            out.append(f" {_WORD_COMMANDS[name]}" + ("" if _opens_call(text[i:]) else " "))
        elif name == "sigma" and _opens_call(text[i:]):
            out.append(" sigmoid")
        elif name in GREEK:
            out.append(f" {name} ")
        elif name in _SYMBOLS:
            out.append(_SYMBOLS[name])
        else:
            raise ParseError(f"LaTeX input: the command \\{name} is not understood")
    return re.sub(r"\s+", " ", "".join(out)).strip()
