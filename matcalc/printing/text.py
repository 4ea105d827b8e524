"""Infix printers: plain text (re-parseable ASCII), unicode, and LaTeX.

One printer class per notation, one `_print_<Node>` method per node type, one
precedence table. The notations differ only in their tokens, so Unicode and LaTeX
override a handful of methods of the text printer.
"""
from __future__ import annotations

import unicodedata

from fractions import Fraction

from .. import expr as E
from .. import functions

# Precedence, loosest first (the grammar's order).
ADD, NEG, HADAMARD, MUL, POSTFIX, ATOM = 10, 15, 20, 30, 40, 50


def _square_matrix(e: E.Expr) -> bool:
    return e.rows == e.cols and e.rows != 1


def _is_negative_term(t: E.Expr) -> bool:
    if isinstance(t, E.MatMul):
        return t.coeff < 0
    return isinstance(t, E.Const) and t.value < 0


class TextPrinter:
    """ASCII that matcalc parses back to an equal expression."""

    transpose = "^T"
    inverse = "^-1"
    inverse_transpose = "^-T"
    hadamard = " .* "
    ediv = " ./ "

    def doprint(self, e: E.Expr) -> str:
        return self.p(e, 0)

    explicit_sizes = False  # set while printing a part that no variable sizes: `tr(eye(n))`

    # -- dispatch
    def p(self, e: E.Expr, prec: int) -> str:
        if not self.explicit_sizes and e.is_scalar and e.args and not e.symbols:
            self.explicit_sizes = True  # tr(I) alone would not say the size of I
            try:
                return self.p(e, prec)
            finally:
                self.explicit_sizes = False
        method = getattr(self, "_print_" + type(e).__name__, None)
        if method is not None:
            s, own = method(e)
        elif E.call_name(type(e)):  # a call-style node: name(arg)
            s, own = self.call(self.func_name(E.call_name(type(e))), ", ".join(self.p(a, 0) for a in e.args)), ATOM
        else:
            raise functions.MissingEntry(f"no {type(self).__name__} rule for {type(e).__name__}")
        return self.paren(s) if own < prec else s

    def paren(self, s: str) -> str:
        return f"({s})"

    def call(self, name: str, inner: str) -> str:
        return f"{name}({inner})"

    def name(self, n: str) -> str:
        return n

    def number(self, v) -> str:
        return E.fmt_number(v)

    def power_suffix(self, p, elementwise: bool) -> str:
        op = ".^" if elementwise else "^"
        s = E.fmt_number(p)
        return f"{op}{s}" if (isinstance(p, Fraction) and p.denominator == 1) else f"{op}({s})"

    # -- leaves
    def _print_Symbol(self, e):
        return ("d" if e.diff else "") + self.name(e.name), ATOM

    def _print_Const(self, e):
        s = self.number(e.value)
        return s, (NEG if e.value < 0 else (MUL if "/" in s else ATOM))

    def _print_Identity(self, e):
        if self.explicit_sizes and e.n != 1:
            return self.call("eye", str(e.n)), ATOM
        return "I", ATOM

    def _print_Zero(self, e):
        return "0", ATOM

    def _print_Ones(self, e):
        r, c = e.shape
        return (f"ones({r})" if c == 1 else f"ones({r}, {c})"), ATOM

    # -- sums and products
    def _print_Add(self, e):
        parts = []
        terms = list(e.terms)
        if len(terms) == 2 and _is_negative_term(terms[0]):  # `s - y` reads better than `-y + s`
            first_positive = next((t for t in terms if not _is_negative_term(t)), None)
            if first_positive is not None:
                terms.remove(first_positive)
                terms.insert(0, first_positive)
        for i, t in enumerate(terms):
            neg = _is_negative_term(t)
            body = self.term(E.neg(t) if neg else t)
            if i == 0:
                parts.append(("-" if neg else "") + body)
            else:
                parts.append((" - " if neg else " + ") + body)
        return "".join(parts), ADD

    def term(self, t: E.Expr) -> str:
        """A summand; a multiple of the all-ones array prints as its number (`1 - s`)."""
        if isinstance(t, E.Ones):
            return "1"
        if isinstance(t, E.MatMul) and len(t.factors) == 1 and isinstance(t.factors[0], E.Ones):
            return self.p(E.Const(t.coeff), ADD + 1)
        return self.p(t, ADD + 1)

    def _split_denominator(self, factors):
        num, den = [], []
        for f in factors:
            if isinstance(f, E.Power) and f.base.is_scalar and f.exponent < 0:
                den.append(E.power(f.base, -f.exponent))
            else:
                num.append(f)
        return num, den

    def _grouped(self, factors):
        """Runs of one repeated (square) factor print as a power: X X X → X^3."""
        out, i = [], 0
        while i < len(factors):
            j = i
            while j + 1 < len(factors) and factors[j + 1] == factors[i] and not factors[i].is_scalar:
                j += 1
            f = factors[i]
            out.append(self.p(f, MUL + 1) if j == i else self.matrix_power(f, j - i + 1))
            i = j + 1
        return out

    def matrix_power(self, f, k: int) -> str:
        return self.p(f, ATOM) + self.power_suffix(Fraction(k), False)

    def _print_MatMul(self, e):
        num, den = self._split_denominator(e.factors)
        coeff = e.coeff
        pieces = self._grouped(num)
        body = self.join_product(pieces)
        if coeff == -1:
            head = "-"
        elif coeff == 1:
            head = ""
        else:
            head = self.coefficient(coeff, bool(pieces))
        text = head + body if head in ("", "-") else (head + (" " + body if body else ""))
        if not body and head == "-":
            text = "-1"
        for d in den:
            text = self.divide(text or "1", d)
        return text, (NEG if coeff < 0 else MUL)

    def coefficient(self, c, followed: bool) -> str:
        return self.number(c)

    def join_product(self, pieces) -> str:
        return " ".join(pieces)

    def divide(self, num: str, den: E.Expr) -> str:
        return f"{num} / {self.p(den, POSTFIX)}"

    def _print_Hadamard(self, e):
        num, den = self._split_denominator(e.factors)
        if not num:
            num = [E.Ones(*e.shape)]
        s = self.hadamard.join(self.p(f, MUL + 1) for f in num)
        for d in den:
            s += self.ediv + self.p(d, MUL + 1)
        return s, HADAMARD

    def _print_Kron(self, e):
        return self.call("kron", f"{self.p(e.left, 0)}, {self.p(e.right, 0)}"), ATOM

    def _print_Vec(self, e):
        return self.call("vec", self.p(e.arg, 0)), ATOM

    def _print_Softmax(self, e):
        return self.call(self.func_name("softmax"), self.p(e.arg, 0)), ATOM

    def _print_Commutation(self, e):
        return f"K({e.m},{e.n})", ATOM

    # -- postfix
    def _print_Transpose(self, e):
        return self.p(e.arg, POSTFIX + 1) + self.transpose, POSTFIX

    def _print_Inverse(self, e):
        if isinstance(e.arg, E.Transpose):
            return self.p(e.arg.arg, POSTFIX + 1) + self.inverse_transpose, POSTFIX
        return self.p(e.arg, POSTFIX + 1) + self.inverse, POSTFIX

    def norm_of(self, e: E.Expr):
        """`u` and the subscript when e is uᵀu or tr(UᵀU) (so its square root is a norm)."""
        inner, sub = e, ""
        if isinstance(e, E.Trace):
            inner, sub = e.arg, "F"
        if isinstance(inner, E.MatMul) and inner.coeff == 1 and len(inner.factors) == 2:
            a, b = inner.factors
            if isinstance(a, E.Transpose) and a.arg == b:
                return b, sub
        return None

    def norm(self, u: E.Expr, sub: str) -> str:
        return f"||{self.p(u, 0)}||" + (f"_{sub}" if sub else "")

    def _print_Power(self, e):
        if e.exponent == Fraction(1, 2):
            found = self.norm_of(e.base)
            if found is not None:
                return self.norm(*found), ATOM
            if not _square_matrix(e.base):
                return self.call(self.sqrt_name(), self.p(e.base, 0)), ATOM
        return self.p(e.base, POSTFIX + 1) + self.power_suffix(e.exponent, not e.base.is_scalar), POSTFIX

    def sqrt_name(self):
        return "sqrt"

    # -- functions
    def _print_Trace(self, e):
        return self.call("tr", self.p(e.arg, 0)), ATOM

    def _print_Det(self, e):
        return self.call("det", self.p(e.arg, 0)), ATOM

    def _print_Sum(self, e):
        return self.call("sum", self.p(e.arg, 0)), ATOM

    def _print_Diag(self, e):
        return self.call("diag", self.p(e.arg, 0)), ATOM

    def _print_DiagPart(self, e):
        return self.call("diag", self.p(e.arg, 0)), ATOM

    def _print_Func(self, e):
        power = _symbolic_power(e)
        if power is not None:
            return self.symbolic_power(*power), POSTFIX
        f = functions.get(e.name, "printed name")
        name = self.function_name(f)
        if _square_matrix(e.arg) and f.matrix_meaning:
            name += "."  # exp.(X): elementwise on a square matrix, said explicitly
        return self.call(name, self.p(e.arg, 0)), ATOM

    def function_name(self, f: functions.Function) -> str:
        return f.name

    def symbolic_power(self, base: E.Expr, exponent: E.Expr, elementwise: bool) -> str:
        """a^b, a^(b + 1), x.^y: how a symbolic power is written (and parsed back)."""
        exp = self.p(exponent, ATOM)
        return self.p(base, POSTFIX + 1) + (".^" if elementwise else "^") + exp

    # -- sums over observations
    def _print_SumOver(self, e):
        if e.is_count:
            return (self.name(e.n) if isinstance(e.n, str) else self.number(e.n)), ATOM
        return f"{self.sum_sign(e.index, e.n)} {self.p(e.body, NEG)}", NEG

    def sum_sign(self, i: str, n) -> str:
        if n == "n":
            return f"{self.sigma}_{i}"
        return f"{self.sigma}_{{{i}=1}}^{{{n}}}"

    sigma = "sum"

    def _print_Indexed(self, e):
        return self.name(f"{e.name}_{e.index}"), ATOM

    def func_name(self, name: str) -> str:
        """The name of an operation that is not an elementwise function (softmax)."""
        return name


def _symbolic_power(e: E.Func):
    """(base, exponent, elementwise) when e is exp(b ln a) or exp.(y ⊙ ln x): how `a^b` and
    `x.^y` are read, printed back as written; None otherwise."""
    if e.name != "exp":
        return None
    arg = e.arg
    if isinstance(arg, E.Hadamard) and len(arg.factors) == 2:
        logs = [f for f in arg.factors if isinstance(f, E.Func) and f.name == "log"]
        if len(logs) == 1:
            other = next(f for f in arg.factors if f is not logs[0])
            return logs[0].arg, other, True
        return None
    if isinstance(arg, E.MatMul) and not arg.chain:
        logs = [f for f in arg.scalars if isinstance(f, E.Func) and f.name == "log"]
        if len(logs) == 1:
            rest = [f for f in arg.scalars if f is not logs[0]]
            return logs[0].arg, E.mul(E.Const(arg.coeff), *rest), False
    return None


_SUP = str.maketrans("0123456789-/()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ⁽⁾")


class UnicodePrinter(TextPrinter):
    """For a terminal: Aᵀ, X⁻¹, X⁻ᵀ, x², x∘², ⊙, ⊘, √, ln. The all-ones array prints
    as ones(n): a bare 𝟙 would not say its size."""

    transpose = "ᵀ"
    inverse = "⁻¹"
    inverse_transpose = "⁻ᵀ"
    hadamard = " ⊙ "
    ediv = " ⊘ "

    def function_name(self, f):
        return f.unicode_name()

    def power_suffix(self, p, elementwise: bool) -> str:
        s = E.fmt_number(p).translate(_SUP)
        return ("∘" if elementwise else "") + s

    def name(self, n: str) -> str:
        from ..decls import GREEK_LETTER_NAMES

        base, sep, sub = n.partition("_")
        digits = base[len(base.rstrip("0123456789")):]  # delta1 → δ1, as LaTeX gives δ_1
        for letter, spelled in GREEK_LETTER_NAMES.items():
            if spelled == base[:len(base) - len(digits)]:
                base = letter + digits
                break
        if sub in _ACCENT_MARKS:  # y_hat → ŷ, beta_hat → β̂
            return unicodedata.normalize("NFC", base + _ACCENT_MARKS[sub])
        return base + sep + sub

    def _print_Kron(self, e):
        return f"{self.p(e.left, MUL + 1)} ⊗ {self.p(e.right, MUL + 1)}", MUL

    def sqrt_name(self):
        return "√"

    sigma = "∑"  # the summation sign, not the letter Σ (a covariance prints as Σ)

    def norm(self, u, sub):
        return f"‖{self.p(u, 0)}‖" + ("_F" if sub else "")


_ACCENT_MARKS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307", "ddot": "\u0308"}


class LatexPrinter(TextPrinter):
    transpose = "^\\top"
    inverse = "^{-1}"
    inverse_transpose = "^{-\\top}"
    hadamard = " \\odot "
    ediv = " \\oslash "

    _GREEK = set(
        "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu "
        "nu xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi "
        "Sigma Phi Psi Omega".split()
    )

    def paren(self, s):
        return f"\\left({s}\\right)"

    def name(self, n: str) -> str:
        from ..decls import spell_greek

        if n.startswith("δ") and len(n) > 1 and not n[1].isdigit():  # backprop's δQ, δh3: δ_{Q}, δ_{h_{3}}
            return f"\\delta_{{{self.name(n[1:])}}}"
        n = spell_greek(n)  # δ1 → delta1
        base, _, sub = n.partition("_")
        head = f"\\{base}" if base in self._GREEK else base
        if sub in _ACCENT_MARKS:  # y_hat → \hat{y}
            return f"\\{sub}{{{head}}}"
        if not sub and len(base) > 1 and base[-1].isdigit():
            i = len(base.rstrip("0123456789"))
            head, sub = base[:i], base[i:]
            head = f"\\{head}" if head in self._GREEK else head
        return f"{head}_{{{sub.strip('{}')}}}" if sub else head

    def _print_Symbol(self, e):
        return ("\\mathrm{d}" if e.diff else "") + self.name(e.name), ATOM

    def sum_sign(self, i, n):
        return f"\\sum_{{{i}=1}}^{{{self.name(str(n))}}}"

    def number(self, v):
        if isinstance(v, Fraction) and v.denominator != 1:
            sign = "-" if v < 0 else ""
            return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
        return E.fmt_number(v)

    def _print_Const(self, e):
        return self.number(e.value), (NEG if e.value < 0 else ATOM)

    def _print_Identity(self, e):
        if self.explicit_sizes and e.n != 1:
            return f"I_{{{e.n}}}", ATOM
        return "I", ATOM

    def _print_Ones(self, e):
        r, c = e.shape
        return f"\\mathbf{{1}}_{{{r}}}" if c == 1 else f"\\mathbf{{1}}_{{{r} \\times {c}}}", ATOM

    def join_product(self, pieces):
        return " ".join(pieces)

    def divide(self, num, den):
        return f"\\frac{{{num}}}{{{self.p(den, 0)}}}"

    def call(self, name, inner):
        return f"{name}\\left({inner}\\right)"

    def _print_Trace(self, e):
        return self.call("\\operatorname{tr}", self.p(e.arg, 0)), ATOM

    def _print_Det(self, e):
        return self.call("\\det", self.p(e.arg, 0)), ATOM

    def _print_Sum(self, e):
        return self.call("\\operatorname{sum}", self.p(e.arg, 0)), ATOM

    def _print_Diag(self, e):
        return self.call("\\operatorname{diag}", self.p(e.arg, 0)), ATOM

    _print_DiagPart = _print_Diag

    def func_name(self, name):
        return f"\\operatorname{{{name}}}"

    def function_name(self, f):
        return f.latex_name()

    def norm(self, u, sub):
        return f"\\left\\|{self.p(u, 0)}\\right\\|" + ("_F" if sub else "")

    def matrix_power(self, f, k):
        return f"{self.p(f, ATOM)}^{{{k}}}"

    def _print_Power(self, e):
        if e.exponent == Fraction(1, 2):
            found = self.norm_of(e.base)
            if found is not None:
                return self.norm(*found), ATOM
            if not _square_matrix(e.base):  # √X of a square matrix would read as sqrtm
                return f"\\sqrt{{{self.p(e.base, 0)}}}", ATOM
        p = E.fmt_number(e.exponent)
        circ = "{\\circ " if not e.base.is_scalar else "{"
        return f"{self.p(e.base, POSTFIX + 1)}^{circ}{p}}}", POSTFIX

    def _print_Kron(self, e):
        return f"{self.p(e.left, MUL + 1)} \\otimes {self.p(e.right, MUL + 1)}", MUL

    def symbolic_power(self, base, exponent, elementwise):
        circ = "\\circ " if elementwise else ""
        return f"{self.p(base, POSTFIX + 1)}^{{{circ}{self.p(exponent, 0)}}}"

    def _print_Vec(self, e):
        return self.call("\\operatorname{vec}", self.p(e.arg, 0)), ATOM

    def _print_Commutation(self, e):
        return f"K_{{{e.m},{e.n}}}", ATOM


def to_text(e: E.Expr) -> str:
    return TextPrinter().doprint(e)


def to_unicode(e: E.Expr) -> str:
    return UnicodePrinter().doprint(e)


def to_latex(e: E.Expr) -> str:
    return LatexPrinter().doprint(e)


# ---------------------------------------------------------------- LaTeX beyond one expression
# What every object's LaTeX is built from: one spelling of a name (both sides of `=` alike),
# one aligned block for several lines, numbers and plain text typeset as LaTeX.


def latex_name(name: str) -> str:
    """A variable's name as the right-hand sides print it: mu → \\mu, W1 → W_{1}, y_hat → \\hat{y}."""
    return LatexPrinter().name(name)


def latex_lhs(kind: str, name: str, f: str = "f") -> str:
    """The left-hand side of a derivative of `f` wrt `name`: \\nabla_{\\mu} f, J_{x},
    \\frac{\\partial f}{\\partial \\lambda}, the vec Jacobian, the Hessian \\nabla^2_{x} f or its block
    H_{x,y} (name = 'x,y'), df."""
    x = ",".join(latex_name(n) for n in name.split(","))
    return {
        "gradient": f"\\nabla_{{{x}}} {f}",
        "jacobian": f"J_{{{x}}}",
        "vec-jacobian": f"\\frac{{\\partial \\operatorname{{vec}} F}}{{\\partial \\operatorname{{vec}} {x}}}",
        "derivative": f"\\frac{{\\partial {f}}}{{\\partial {x}}}",
        "hessian": f"H_{{{x}}}" if "," in name else f"\\nabla^2_{{{x}}} {f}",
    }.get(kind, f"\\mathrm{{d}}{f}")


def latex_aligned(rows, comments_column: bool = False) -> str:
    """Several lines as one `aligned` block (renders inside $…$, $$…$$ and KaTeX alike).
    Each row is (lhs, rhs) or (lhs, rhs, comment); an empty lhs continues the line above, a
    rhs None makes a line of the comment alone. Comments (plain text) follow after a space,
    or in a column of their own."""
    lines = []
    for row in rows:
        lhs, rhs, *comment = row
        gap = " && " if comments_column else " \\quad "
        tail = f"{gap}\\text{{{latex_text(comment[0])}}}" if comment and comment[0] else ""
        lines.append(f"{lhs} &= {rhs}{tail}" if rhs is not None else f"&{tail}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def latex_display(body: str) -> str:
    """The string a `_repr_latex_` returns: one line inline, an aligned block displayed."""
    return f"$${body}$$" if "\\begin{" in body else f"${body}$"


def latex_number(v: float, digits: int = 2) -> str:
    """1.4e-11 → 1.4\\times10^{-11}: numbers typeset, not in programmers' notation."""
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.{digits + 1}g}"
    s = f"{v:.{digits - 1}e}"
    mantissa, _, exponent = s.partition("e")
    exponent = int(exponent)
    if exponent == 0:
        return mantissa
    return f"{mantissa}\\times10^{{{exponent}}}"


_TEXT_ESCAPES = {"\\": "\\textbackslash{}", "{": "\\{", "}": "\\}", "_": "\\_", "^": "\\textasciicircum{}",
                 "%": "\\%", "#": "\\#", "&": "\\&", "$": "\\$", "~": "\\textasciitilde{}"}
_TEXT_MATH = {
    "⁻¹": "^{-1}", "⁻ᵀ": "^{-\\top}", "⁻": "^{-}", "ᵀ": "^\\top", "ᵖ": "^p", "ᵗ": "^t", "ⁿ": "^n", "²": "^2", "³": "^3", "⁴": "^4",
    "⇒": "\\Rightarrow", "→": "\\to", "←": "\\leftarrow", "↦": "\\mapsto", "⊙": "\\odot",
    "⊗": "\\otimes", "⊘": "\\oslash", "∇": "\\nabla", "∂": "\\partial", "∘": "\\circ", "·": "\\cdot",
    "×": "\\times", "√": "\\surd", "‖": "\\|", "⟨": "\\langle", "⟩": "\\rangle", "≠": "\\neq",
    "≥": "\\geq", "≤": "\\leq", "≻": "\\succ", "≺": "\\prec", "⪰": "\\succeq", "⪯": "\\preceq",
    "≈": "\\approx", "≫": "\\gg", "≪": "\\ll", "∈": "\\in", "∞": "\\infty", "±": "\\pm", "Σ": "\\Sigma",
    "∑": "\\sum", "…": "\\dots", "½": "\\tfrac{1}{2}", "′": "'", "𝟙": "\\mathbf{1}", "𝟏": "\\mathbf{1}",
    **{d: f"^{i}" for i, d in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}, "ᵢ": "_i", "ⱼ": "_j", "ₖ": "_k", "₁": "_1", "₂": "_2",
}
_TEXT_PLAIN = {"−": "-", "–": "--", "—": "---"}


def latex_text(s: str) -> str:
    """Plain text (a rule name, a note) for \\text{…}: LaTeX's special characters escaped,
    mathematical Unicode (ᵀ, ⊙, Greek letters) as inline math, so that it compiles anywhere."""
    from ..decls import ACCENTS, GREEK_LETTER_NAMES

    s = unicodedata.normalize("NFC", s)
    out, math, i = [], [], 0  # a run of signs is one $…$ ({} between: no double superscript)

    def flush():
        if math:
            out.append("$" + "{}".join(math) + "$")
            math.clear()

    while i < len(s):
        two, ch = s[i:i + 2], s[i]
        sign = _TEXT_MATH.get(two) or _TEXT_MATH.get(ch) or (
            f"\\{GREEK_LETTER_NAMES[ch]}" if ch in GREEK_LETTER_NAMES else None)
        if sign is not None:
            math.append(sign)
            i += 2 if two in _TEXT_MATH else 1
            continue
        if ch in ACCENTS and (math or (out and out[-1].isalpha())):  # β̂, y + a combining mark
            accent = f"\\{ACCENTS[ch]}"
            if math:
                math[-1] = f"{accent}{{{math[-1]}}}"
            else:
                out[-1] = f"${accent}{{{out[-1]}}}$"
            i += 1
            continue
        flush()
        if ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch in _TEXT_PLAIN:
            out.append(_TEXT_PLAIN[ch])
        elif ch.isascii():
            out.append(ch)
        else:  # an accented letter (ŷ), else its ASCII base, else its Unicode name
            base, *marks = unicodedata.normalize("NFD", ch)
            if len(marks) == 1 and marks[0] in ACCENTS and base.isascii():
                out.append(f"$\\{ACCENTS[marks[0]]}{{{base}}}$")
            else:
                plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                out.append(plain or f"[{unicodedata.name(ch, '?').lower()}]")
        i += 1
    flush()
    return "".join(out)
