"""LaTeX as input: `\\operatorname{tr}(A X^{\\top})`, `\\ln\\det X`, `\\frac{1}{2}\\|x\\|_2^2`.

Pasted LaTeX is rewritten into matcalc's own notation before parsing (the grammar
already reads `^{T}`, `^{-1}`, `x_{i}`, braces as parentheses). Text with a
backslash, or wrapped in `$…$`, is taken for LaTeX. Names written in bold are a hint
for the kinds (`bold_names`): a bold name is a vector or a matrix, not a scalar.
"""
from __future__ import annotations

import re

from .decls import GREEK
from .functions import FUNCTIONS_LIST
from .errors import ParseError

# \det, \tr, … and the LaTeX spellings of the elementwise functions (\ln, \tanh, …);
# a Greek one (\sigma) is a function only when a parenthesis follows.
_LATEX_FUNCTIONS = {a[1:]: f.name for f in FUNCTIONS_LIST for a in f.aliases if a.startswith("\\")}
_WORD_COMMANDS = {
    "det": "det", "tr": "tr", "trace": "tr", "sum": "sum", "diag": "diag", "max": "max", "min": "min",
    "Tr": "Tr",
    **{k: v for k, v in _LATEX_FUNCTIONS.items() if k not in GREEK},
}
_GREEK_FUNCTIONS = {k: v for k, v in _LATEX_FUNCTIONS.items() if k in GREEK}
_SYMBOLS = {
    "top": "T", "intercal": "T", "odot": ".*", "circ": ".*", "cdot": "·", "times": "×",
    "ast": "*", "oslash": "./", "lVert": "||", "rVert": "||", "Vert": "||", "|": "||", "lvert": "|", "rvert": "|", "mid": "|",
}
_DROP = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle"}
_SPACES = {",", ";", "!", ":", "quad", "qquad", " "}
_STYLE = {"mathbf", "boldsymbol", "bm", "pmb", "mathit", "mathrm", "operatorname", "text", "textrm",
          "mathsf", "mathnormal", "operatorname*", "mathcal", "mathscr"}


_BOLD = ("mathbf", "boldsymbol", "bm", "pmb")
_BOLD_COMMAND = re.compile(r"\\(" + "|".join(_BOLD) + r")(?![A-Za-z])")


def bold_names(text: str) -> frozenset:
    """The names written in bold (`\\mathbf{x}`, `\\boldsymbol{\\beta}`, `\\bm W`): papers and
    the Cookbook print vectors and matrices so, which makes them a hint that a name is not a
    scalar. `\\mathbf{1}` (the vector of ones) is not a name."""
    from .decls import NAME_RE, canonical_name

    out = set()
    for m in _BOLD_COMMAND.finditer(text):
        arg, _ = _argument(text, m.end())
        name = from_latex(arg).strip() if arg else ""
        if name and NAME_RE.match(name):
            out.add(canonical_name(name))
    return frozenset(out)


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
    rest = rest.lstrip().removeprefix(".")  # \\exp.\\left(X\\right): elementwise, as exp.(X)
    return rest.startswith("(") or rest.startswith("\\left(")


_DIGIT_SUBSCRIPT = re.compile(r"_\{\s*([0-9]+)\s*\}")
_HADAMARD_POWER = re.compile(r"\^\s*\{\s*\\circ(?![A-Za-z])")


def _ones(text: str, i: int):
    """`\\mathbf{1}_{n}` → ones(n), `\\mathbf{1}_{n \\times m}` → ones(n, m); a bare
    `\\mathbf{1}` is `ones`, its size inferred. Returns (matcalc text, index after it)."""
    j = i
    while j < len(text) and text[j] == " ":
        j += 1
    if j < len(text) and text[j] == "_":
        sub, i = _argument(text, j + 1)
        sizes = [from_latex(p).strip() for p in re.split(r"\\times|×|,", sub)]
        return f" ones({', '.join(sizes)}) ", i
    return " ones ", i


def _call_argument(text: str, i: int, name: str):
    """The parenthesised argument after `\name^k`: (content, index after it)."""
    rest = text[i:]
    lead = len(rest) - len(rest.lstrip())
    j = i + lead
    opener = "\\left(" if text.startswith("\\left(", j) else ("(" if text.startswith("(", j) else None)
    if opener is None:
        raise ParseError(f"LaTeX input: write \\{name}^k(x) with parentheses, or (\\{name} x)^k")
    depth, k = 0, j
    while k < len(text):
        if text.startswith("\\left(", k) or text[k] == "(":
            depth += 1
            k += 6 if text.startswith("\\left(", k) else 1
            continue
        if text.startswith("\\right)", k) or text[k] == ")":
            depth -= 1
            close = 7 if text.startswith("\\right)", k) else 1
            if depth == 0:
                return text[j + len(opener): k], k + close
            k += close
            continue
        k += 1
    raise ParseError(f"LaTeX input: missing ')' after \\{name}^k(")


def from_latex(text: str) -> str:
    """matcalc notation for a LaTeX formula."""
    text = text.strip()
    if len(text) > 1 and text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    out: list = []
    i = 0
    while i < len(text):
        ch = text[i]
        hadamard_power = _HADAMARD_POWER.match(text, i) if ch == "^" else None
        if hadamard_power:  # X^{\circ 2}: the elementwise power X .^ 2
            group, i = _group(text, text.index("{", i))
            exponent = group.strip().removeprefix("\\circ")
            out.append(f" .^({from_latex(exponent)})")
            continue
        digits = _DIGIT_SUBSCRIPT.match(text, i) if ch == "_" else None
        if digits and out and out[-1].rstrip()[-1:].isalpha():
            # W_{1}, \\delta_{1}: the printed form of the names W1 and delta1
            out[-1] = out[-1].rstrip() + digits.group(1)
            i = digits.end()
            continue
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
                "write only the expression and name the variable with wrt=x: "
                "`x^T A x` with wrt=x, not `\\nabla_x (x^T A x)` or `\\frac{\\partial}{\\partial x}`"
            )
        elif name in _STYLE:
            arg, i = _argument(text, i)
            inner = from_latex(arg)
            if name in _BOLD and inner == "1":  # the all-ones array
                ones, i = _ones(text, i)
                out.append(ones)
            elif name in ("mathrm", "operatorname", "text", "operatorname*") and inner == "d":
                out.append("d")  # \mathrm{d}X: a differential
            elif inner.isalpha() and len(inner) > 1:  # \operatorname{tr}(…) is a call
                out.append(f" {inner}" + ("" if _opens_call(text[i:]) else " "))
            else:
                out.append(inner)
        elif name in _WORD_COMMANDS:
            power = re.match(r"\s*\^\s*(\{[^{}]*\}|\d)", text[i:])
            if power:  # \tanh^2(t) = (tanh t)^2, as the books write it
                exponent = power.group(1).strip("{}")
                i += power.end()
                arg, i = _call_argument(text, i, name)
                out.append(f" ({_WORD_COMMANDS[name]}({from_latex(arg)}))^({from_latex(exponent)}) ")
            else:
                out.append(f" {_WORD_COMMANDS[name]}" + ("" if _opens_call(text[i:]) else " "))
        elif name in _GREEK_FUNCTIONS and _opens_call(text[i:]):
            out.append(f" {_GREEK_FUNCTIONS[name]}")
        elif name in GREEK:
            out.append(f" {name} ")
        elif name in _SYMBOLS:
            out.append(_SYMBOLS[name])
        else:
            raise ParseError(f"LaTeX input: the command \\{name} is not understood")
    return re.sub(r"\s+", " ", "".join(out)).strip()
