"""Text → raw tree: the Lark grammar, names, and syntax errors with a caret.

Lark parses the text (grammar/matcalc.lark, its function names filled in from the
function records and expr.CALLS); a Transformer turns the parse tree into a small raw
tree (`Raw`), resolving names on the way (`Xw` is X·w, `W1` one symbol, `λ` = `lambda`,
`σ(…)` the sigmoid). Sizes are not known here: shapes.py infers them. No Lark type
leaves this module.
"""
from __future__ import annotations

import difflib
import re
from fractions import Fraction
from functools import lru_cache

from . import expr as E
from . import functions as _functions
from .abstract import is_abstract
from .decls import GREEK, Decls, numbered, spell_accents, spell_greek
from .errors import ParseError

MAX_DEPTH = 400

# Operations that build their own nodes (trace, det, …): what the user writes → the op.
# Elementwise functions (exp, σ, relu, …) come from their records in functions.py.
# Call-style nodes (tr, det, sum, softmax, …) come from expr.CALLS.
OPERATIONS = {
    "logdet": "logdet", "sqrt": "sqrt", "inv": "inv", "diag": "diag", "norm": "norm",
    "norm2": "norm", "normF": "norm", "norm1": "norm1", "eye": "eye", "ones": "ones",
    "vector": "vector", "matrix": "matrix",
    **{name: name for name in E.CALLS},
}
FUNCTIONS = {**OPERATIONS, **{s: f.name for f in _functions.FUNCTIONS_LIST for s in f.spellings
                              if not s.startswith("\\")}}
# Functions that also have a matrix meaning (expm, logm, sqrtm): on a square matrix
# `exp(X)` is ambiguous, and `exp.(X)` says elementwise.
MATRIX_FUNCTIONS = {"sqrt"} | {f.name for f in _functions.FUNCTIONS_LIST if f.matrix_meaning}
ELEMENTWISE_ONLY = {f.name for f in _functions.FUNCTIONS_LIST if not f.matrix_meaning}
GREEK_LETTERS = set("αβγδεζηθικλμνξοπρστυφχψωΓΔΘΛΞΠΣΦΨΩϵϑφ")
GREEK_NAMES = set(GREEK)


def _prefix_names() -> str:
    """The FUNC terminal's alternatives: every word that applies without parentheses
    (`ln det X`, `tanh x`); Greek spellings such as σ are functions only before `(`."""
    words = set(OPERATIONS) | {s for s in FUNCTIONS if s.isascii() and s.isalpha() and s not in GREEK_NAMES}
    words -= {"eye", "ones", "norm", "norm2", "normF", "norm1", "vector", "matrix"}
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


@lru_cache(maxsize=1)
def parser():
    from pathlib import Path

    from lark import Lark

    grammar = (Path(__file__).parent / "grammar" / "matcalc.lark").read_text(encoding="utf-8")
    grammar = grammar.replace("@FUNCTION_NAMES@", _prefix_names())
    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=False)
    try:  # the LALR tables are cached in the temp dir: cold start 0.13 s → 0.02 s
        return Lark(grammar, cache=True, **options)
    except OSError:  # an unwritable temp dir
        return Lark(grammar, **options)


# ---------------------------------------------------------------- raw tree


class Raw:
    """A raw node: op, children, and the source span for error messages."""

    __slots__ = ("op", "kids", "start", "end", "data", "shape", "elementwise")

    def __init__(self, op, kids=(), start=0, end=0, data=None):
        self.op, self.kids, self.start, self.end, self.data = op, list(kids), start, end, data
        self.shape = None
        self.elementwise = False  # exp.(X)

    def clone(self) -> "Raw":
        """A fresh copy for one reading of the names (inference writes shapes and ops into
        the nodes); far cheaper than copy.deepcopy. Exponents (a Raw in `data`) are copied."""
        stack, root = [(self, None)], None
        while stack:
            node, parent = stack.pop()
            data = node.data
            if isinstance(data, Raw):
                data = data.clone()
            twin = Raw.__new__(Raw)
            twin.op, twin.kids, twin.start, twin.end, twin.data = node.op, [], node.start, node.end, data
            twin.shape, twin.elementwise = node.shape, node.elementwise
            if parent is None:
                root = twin
            else:
                parent.kids.append(twin)
            stack.extend((k, twin) for k in reversed(node.kids))
        return root


def span(*nodes):
    starts = [n.start for n in nodes if n is not None]
    ends = [n.end for n in nodes if n is not None]
    return min(starts), max(ends)


def pair_norm_bars(text: str) -> str:
    """`||x||` and `‖x‖` → `⟪x⟫`, keeping every other character at its position.

    A bar closes the innermost open norm when it follows an operand (a name, a
    number, `)` or a postfix); otherwise it opens a new one: `||(||W||^2) x||`.
    """
    out, i, depth, bars = [], 0, 0, 0
    last = ""  # the last character written that is not a space (linear in the text's length)
    while i < len(text):
        width = 2 if text.startswith("||", i) else (1 if text[i] == "‖" else 0)
        after_operand = bool(last) and (last.isalnum() or last in ")]'ᵀ¹²³⟫⟧}_")
        if text[i] == "|" and not width:  # a single bar: |X| (det) or |x| (abs), paired alike
            closing = bars > 0 and after_operand
            bars += -1 if closing else 1
            out.append(last := "⟧" if closing else "⟦")
            i += 1
            continue
        if not width:
            out.append(text[i])
            last = text[i] if not text[i].isspace() else last
            i += 1
            continue
        closing = depth > 0 and after_operand
        depth += -1 if closing else 1
        last = "⟫" if closing else "⟪"
        out.append(last + " " * (width - 1))
        i += width
    return "".join(out)


_FUNCTION_POWER = re.compile(r"(?<![\w.])([A-Za-z]+)\^(\d+|\{\s*\d+\s*\})\(")


def _function_powers(text: str) -> str:
    """`tanh^2(x)`, `sin^2(x)` (a power of a function, as books print it) → `(tanh(x))^2`; only
    written without a space, and never a Greek name (σ^2 (x − μ) is a variance times …)."""
    out, pos = [], 0
    for m in _FUNCTION_POWER.finditer(text):
        if m.start() < pos or m.group(1) not in FUNCTIONS or m.group(1) in GREEK_NAMES:  # σ^2 (…): a variance
            continue
        depth, k = 1, m.end()
        while k < len(text) and depth:
            depth += (text[k] == "(") - (text[k] == ")")
            k += 1
        if depth:
            continue  # unbalanced: the grammar reports it
        out.append(text[pos:m.start()])
        out.append(f"({m.group(1)}({text[m.end():k - 1]}))^{m.group(2)}")
        pos = k
    return "".join(out) + text[pos:]


def course_spellings(text: str) -> str:
    """Spellings of the course material that the grammar reads in matcalc's own form:
    accents as part of a name (ŷ → y_hat), the Unicode minus, the ones vector 1_n."""
    text = spell_accents(text).replace("−", "-")
    text = re.sub(r"(?<![\w.])1_(\{[A-Za-z0-9]+\}|[A-Za-z0-9]+)", r"ones_\1", text)
    text = re.sub(r"∑(?!\s*[_ᵢⱼₖ])\s*", "sum ", text)  # a bare ∑: its index is read from the body
    text = _function_powers(text)
    text = re.sub(r"(‖|\|\|)\s*([₁₂])", lambda m: m.group(1) + "_" + "12"["₁₂".index(m.group(2))], text)  # ‖x‖₂
    return re.sub("[𝟏𝟙]", "ones_v", text)


# ---------------------------------------------------------------- errors


_TOKEN_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "SIGNED_NUMBER": "a number", "CALL": "a function call",
    "FUNC": "a function", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'",
    "PLUS": "'+'", "MINUS": "'-'", "SLASH": "'/'", "COMMA": "','", "MULOP": "'*'",
    "HADAMARD": "'.*'", "EDIV": "'./'", "TRANSPOSE": "'^T'", "INVERSE": "'^-1'",
    "INVTRANSPOSE": "'^-T'", "POW": "'^'", "EPOW": "'.^'", "$END": "end of input",
    "NORMSUB": "'_F'", "SUPERSCRIPT": "a superscript", "ESUPERSCRIPT": "a superscript",
}
_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ", "0123456789-/")


def caret(text: str, pos: int) -> str:
    pos = max(0, min(pos, len(text)))
    return f"  {text}\n  {' ' * pos}^"


def _describe_expected(expected) -> str:
    names = []
    for t in sorted(expected):
        n = _TOKEN_NAMES.get(t)
        if n and n not in names:
            names.append(n)
    operand = {"a name", "a number", "'('", "a function call", "a function"}
    if operand & set(names):
        names = ["an operand (a name, a number, '(' or a function)"] + [
            n for n in names if n not in operand and n not in ("'{'", "'+'", "'-'", "'⟪'")
        ]
    return ", ".join(names[:6])


def syntax_error(text: str, err, shown: str) -> ParseError:
    """A message with a caret under the offending character of `shown` (the user's text)."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            break
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = text[pos]
        return ParseError(
            f"syntax error: unexpected character {ch!r} at column {pos + 1}\n{caret(shown, pos)}"
            + (f"\nexpected {_describe_expected(err.allowed)}" if err.allowed else "")
        )
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        expected = getattr(err, "expected", ())
        hint = "missing ')'" if depth > 0 else (
            "missing the closing ||" if text.count("⟪") > text.count("⟫")
            else "the expression ends too early"
        )
        return ParseError(
            f"syntax error: {hint}\n{caret(shown, len(text))}\n"
            f"expected {_describe_expected(expected)}"
        )
    if isinstance(err, UnexpectedToken):
        pos = err.token.start_pos
        hint = ""
        if str(err.token) == "," and re.match(r"\d", text[pos + 1 : pos + 2]) and pos and text[pos - 1].isdigit():
            m = re.search(r"\d+,\d+", text[max(0, pos - 10) : pos + 10])
            number = m.group(0) if m else "0,5"
            hint = f" (a decimal comma? write {number.replace(',', '.')} with a point, as in 0.5)"
        if err.token.type == "RPAR" and depth < 0:
            hint = " (unbalanced parentheses: this ')' has no matching '(')"
        return ParseError(
            f"syntax error: unexpected {str(err.token)!r} at column {pos + 1}{hint}\n"
            f"{caret(shown, pos)}\nexpected {_describe_expected(err.expected)}"
        )
    return ParseError(f"syntax error: {err}")


def balanced(text: str, start: int, end: int) -> str:
    """text[start:end] widened until its parentheses balance (spans of `( … )` atoms
    do not include the parentheses themselves)."""
    while True:
        piece = text[start:end]
        depth = low = 0
        for ch in piece:
            depth += (ch == "(") - (ch == ")")
            low = min(low, depth)
        if low < 0 and start > 0:  # a ')' closes something opened before the span
            start -= 1
        elif depth - low > 0 and end < len(text):  # something opened is not closed
            end += 1
        else:
            return piece.strip().replace("⟪", "||").replace("⟫", "||") or "?"


def snippet(text: str, r: Raw) -> str:
    return balanced(text, r.start, r.end)


# ---------------------------------------------------------------- parse tree → raw tree


def make_transformer(text: str, decls: Decls, differentials: set):
    from lark import Transformer_NonRecursive, v_args

    def tok_span(tok):
        return tok.start_pos, tok.end_pos

    def resolve_word(word: str, start: int, end: int) -> Raw:
        """A NAME token → a symbol, a constant, or a product of single-letter names."""
        m = re.fullmatch(r"I_\{?([A-Za-z0-9]+)\}?", word)
        if m and not decls.declares(word):  # I_n, I_{n}, I_3: the identity (a number fixes its size)
            return Raw("identity", (), start, end, int(m.group(1)) if m.group(1).isdigit() else None)
        if word.startswith("ones_") and not decls.declares(word):  # 1_n, 1_3, \mathbf{1}: ones
            return Raw("ones", (), start, end, "vector")
        word = numbered(word)  # W_{1}, W_1 → W1
        if len(word.split("_", 1)[0]) == 1 or word.split("_", 1)[0][1:].isdigit():
            word = spell_greek(word)
        if word.startswith("d") and "d" + spell_greek(word[1:]) in differentials_words:
            word = "d" + spell_greek(word[1:])  # dμ is the differential of μ
        base = word.split("_", 1)[0]
        if decls.declares(word) or word in GREEK_NAMES or word in differentials_words:
            return Raw("sym", (), start, end, word)
        glued = next((dw for dw in sorted(differentials_words, key=len, reverse=True)
                      if word.startswith(dw) and word[len(dw):].isalpha()), None)
        if glued and not decls.declares(word):  # `dXX^{-1}` as printed: dX X⁻¹
            rest = word[len(glued):]
            letters = [Raw("sym", (), start + len(glued) + i, start + len(glued) + i + 1, spell_greek(c))
                       for i, c in enumerate(rest)]
            return Raw("word", [Raw("sym", (), start, start + len(glued), glued)] + letters, start, end)
        if word in ("I", "eye"):
            return Raw("identity", (), start, end)
        m = re.fullmatch(r"I_\{?([A-Za-z0-9]+)\}?", word)
        if m:  # I_n, I_{n}, I_3: the identity (a number fixes its size)
            return Raw("identity", (), start, end, int(m.group(1)) if m.group(1).isdigit() else None)
        if word == "ones":
            return Raw("ones", (), start, end)
        if word.startswith("ones_"):  # 1_n, \mathbf{1}: the vector of ones
            return Raw("ones", (), start, end, "vector")
        if word in FUNCTIONS:
            raise ParseError(
                f"`{word}` is a function but has no argument\n{caret(text, start)}"
            )
        if len(base) == 1 or "_" in word or any(c.isdigit() for c in word):
            return Raw("sym", (), start, end, word)
        if word.islower() and len(word) >= 3:
            close = difflib.get_close_matches(word, list(FUNCTIONS) + GREEK, n=3, cutoff=0.7)
            if close:
                raise ParseError(
                    f"unknown name `{word}`; did you mean {' or '.join(close)}?\n"
                    f"{caret(text, start)}"
                )
        letters = [Raw("sym", (), start + i, start + i + 1, spell_greek(c)) for i, c in enumerate(word)]
        return Raw("word", letters, start, end)

    differentials_words = {"d" + v for v in differentials}

    def postfix(op, r: Raw, tok_end: int, data=None) -> Raw:
        if r.op == "word":  # `xx^T` = x xᵀ: the postfix binds the last letter only
            last = r.kids[-1]
            new_last = Raw(op, [last], last.start, tok_end, data)
            return Raw("mul", r.kids[:-1] + [new_last], r.start, tok_end)
        return Raw(op, [r], r.start, tok_end, data)

    def binary_postfix(op, r: Raw, e: Raw) -> Raw:
        """A power whose exponent is an operand too (`a^b`); on a word it binds the last letter."""
        if r.op == "word":
            last = r.kids[-1]
            return Raw("mul", r.kids[:-1] + [Raw(op, [last, e], last.start, e.end)], r.start, e.end)
        return Raw(op, [r, e], r.start, e.end)

    def flat(op, a: Raw, b: Raw) -> Raw:
        # only the left operand is flattened: a product on the right came from parentheses,
        # and its grouping decides which 1×1 runs scale the rest
        kids = (a.kids if a.op == op else [a]) + [b]
        return Raw(op, kids, *span(a, b))

    class ToRaw(Transformer_NonRecursive):
        def number(self, ch):
            (tok,) = ch
            return Raw("num", (), *tok_span(tok), Fraction(str(tok)))

        def name(self, ch):
            (tok,) = ch
            return resolve_word(str(tok), *tok_span(tok))

        def add(self, ch):
            a, b = ch  # a + b + c is one flat sum: long sums stay shallow
            kids = (a.kids if a.op == "add" else [a]) + [b]
            return Raw("add", kids, *span(a, b))

        def sub(self, ch):
            a, b = ch
            kids = (a.kids if a.op == "add" else [a]) + [Raw("neg", [b], b.start, b.end)]
            return Raw("add", kids, *span(a, b))

        @v_args(meta=True)
        def neg(self, meta, ch):
            (a,) = ch
            return Raw("neg", [a], meta.start_pos, a.end)

        def hadamard(self, ch):
            a, _, b = ch
            return Raw("hadamard", [a, b], *span(a, b))

        def ediv(self, ch):
            a, _, b = ch
            return Raw("ediv", [a, b], *span(a, b))

        def mul(self, ch):
            a, b = ch
            last = a.kids[-1] if a.op in ("mul", "word") else a
            if last.op == "sym" and last.data == "d" and b.op == "sym" and "d" + b.data in differentials_words:
                # `d Σ` (LaTeX \mathrm{d}\Sigma): the differential dΣ
                diff = Raw("sym", (), last.start, b.end, "d" + b.data)
                return diff if last is a else Raw(a.op, a.kids[:-1] + [diff], a.start, b.end)
            return flat("mul", a, b)

        def mul_op(self, ch):
            a, _, b = ch
            return flat("mul", a, b)

        def div(self, ch):
            a, b = ch
            return Raw("div", [a, b], *span(a, b))

        def prefix_call(self, ch):
            *left, ftok, arg = ch
            start = ftok.start_pos
            call = Raw("call", [arg], start, arg.end, FUNCTIONS[str(ftok)])
            if left:
                return flat("mul", left[0], call)
            return call

        def sum_over(self, ch):
            *left, tok, body = ch
            index, limit = _read_sum_sign(str(tok))
            r = Raw("sumover", [body], tok.start_pos, body.end, (index, limit))
            return flat("mul", left[0], r) if left else r

        def transpose(self, ch):
            r, tok = ch
            return postfix("transpose", r, tok.end_pos)

        def inverse(self, ch):
            r, tok = ch
            return postfix("inverse", r, tok.end_pos)

        def inverse_transpose(self, ch):
            r, tok = ch
            return postfix("inverse_transpose", r, tok.end_pos)

        def power(self, ch):
            r, _, e = ch
            base = r.kids[-1] if r.op == "word" else r
            if base.op == "sym" and base.data == "e" and not decls.declares("e"):
                # e^x, e^{-w x}: the exponential, as the course writes it
                arg = e.kids[0] if e.op == "expname" else e
                call = Raw("call", [arg], base.start, e.end, "exp")
                return Raw("mul", r.kids[:-1] + [call], r.start, e.end) if r.op == "word" else call
            if e.op == "expname":
                e = e.kids[0]
            if _has_names(e):  # a^b: exp(b ln a), built once the kinds are known (shapes.py)
                return binary_postfix("spower", r, e)
            return postfix("power", r, e.end, e)

        def epower(self, ch):
            r, _, e = ch
            if e.op == "expname":
                e = e.kids[0]
            if _has_names(e):  # x.^y: exp.(y ⊙ ln x)
                return binary_postfix("sepower", r, e)
            return postfix("epower", r, e.end, e)

        def superscript(self, ch):
            r, tok = ch
            value = Fraction(str(tok).translate(_FROM_SUPERSCRIPT))
            e = Raw("num", (), tok.start_pos, tok.end_pos, value)
            return postfix("power", r, tok.end_pos, e)

        def esuperscript(self, ch):  # x∘²: the elementwise (Hadamard) power
            r, tok = ch
            value = Fraction(str(tok)[1:].translate(_FROM_SUPERSCRIPT))
            e = Raw("num", (), tok.start_pos, tok.end_pos, value)
            return postfix("epower", r, tok.end_pos, e)

        @v_args(meta=True)
        def root(self, meta, ch):  # √x, √(…)
            (a,) = ch
            return Raw("call", [a], meta.start_pos, a.end, "sqrt")

        def exp_number(self, ch):
            (tok,) = ch
            return Raw("num", (), *tok_span(tok), Fraction(str(tok)))

        def exp_name(self, ch):
            (tok,) = ch  # a name as an exponent: only e^x (the exponential) has a meaning
            return Raw("expname", [resolve_word(str(tok), *tok_span(tok))], *tok_span(tok), str(tok))

        def arglist(self, ch):
            return list(ch)

        def call(self, ch):
            tok, args = ch
            typed = str(tok)[:-1]
            word = spell_greek(typed) if len(typed) == 1 else typed  # σ(z) is sigma(z): the sigmoid
            start, end = tok.start_pos, args[-1].end + 1
            if word in ("max", "min") and not decls.declares(word):
                if len(args) != 2:
                    raise ParseError(f"`{word}` takes two arguments, e.g. {word}(0, x)\n{caret(text, start)}")
                zero = [a for a in args if a.op == "num" and a.data == 0]
                if word == "max" and zero:  # max(0, x), max(0; x): ReLU
                    other = args[1] if args[0] is zero[0] else args[0]
                    return Raw("call", [other], start, end, "relu")
                # elementwise max(a, b) = b + relu(a - b), min(a, b) = a - relu(a - b): the max
                # gate, its gradient routed to the larger input (the subgradient at ties)
                a, b = args
                gap = Raw("call", [Raw("add", [a.clone(), Raw("neg", [b.clone()], b.start, b.end)],
                                       start, end)], start, end, "relu")
                if word == "max":
                    return Raw("add", [b, gap], start, end)
                return Raw("add", [a, Raw("neg", [gap], start, end)], start, end)
            if word.endswith("."):  # exp.(X): elementwise, said explicitly
                name = word[:-1]
                if FUNCTIONS.get(name) not in MATRIX_FUNCTIONS | ELEMENTWISE_ONLY:
                    raise ParseError(
                        f"`{name}.(…)` means `{name}` elementwise, but `{name}` is not an "
                        f"elementwise function\n{caret(text, start)}"
                    )
                r = Raw("call", args, start, end, FUNCTIONS[name])
                r.elementwise = True
                return r
            if word in ("vector", "matrix") and not decls.declares(word):  # matrixcalculus.org's
                if len(args) != 1:  # vector(1): a vector of ones, its size inferred; matrix(c) alike
                    raise ParseError(f"`{word}(c)` takes one scalar: c times the {word} of ones\n{caret(text, start)}")
                return Raw("mul", [args[0], Raw("ones", (), start, end, word)], start, end)
            if word in ("norm", "norm1") and not decls.declares(word):  # norm1(x), norm(x, p)
                if len(args) > (1 if word == "norm1" else 2):
                    raise ParseError(f"`{word}` takes {'one argument' if word == 'norm1' else 'x and p'}\n"
                                     f"{caret(text, start)}")
                order = "entries" if word == "norm1" else (args[1] if len(args) == 2 else None)
                return Raw("norm", args[:1], start, end, order)
            if word in FUNCTIONS and not decls.declares(word):
                return Raw("call", args, start, end, FUNCTIONS[word])
            if is_abstract(word) and len(args) == 1 and not decls.declares(word):
                return Raw("call", args, start, end, word)  # f(X W_1): an abstract activation
            if len(args) != 1:
                raise ParseError(f"unknown function `{word}`\n{caret(text, start)}")
            if not decls.declares(word) and len(word) >= 2 and word.isalpha() and not word.islower() \
                    and word.lower() in FUNCTIONS:  # Ln(x), Exp(x), LOG(x): not L·n·(x)
                raise ParseError(f"unknown function `{word}`; did you mean {word.lower()}?\n{caret(text, start)}")
            if word == "lg" and not decls.declares(word):
                raise ParseError(f"`lg` is the logarithm to base 10: write ln(x) / ln(10), or ln(x) for the "
                                 f"natural logarithm\n{caret(text, start)}")
            if word.islower() and len(word) >= 3 and word not in GREEK_NAMES and not decls.declares(word):
                close = difflib.get_close_matches(word, list(FUNCTIONS), n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(close)}?" if close else (
                    f"; known functions: {', '.join(sorted(set(FUNCTIONS) - {'eye', 'ones'}))}"
                )
                raise ParseError(f"unknown function `{word}`{hint}\n{caret(text, start)}")
            # `x(…)` or `AB(…)`: a name times a parenthesised factor; a postfix such as
            # ^-1 that follows binds to the parenthesis only, as for a split word
            head = resolve_word(typed, start, start + len(typed))
            pieces = head.kids if head.op == "word" else [head]
            return Raw("word", pieces + [args[0]], start, end)

        def bars(self, ch):
            (arg,) = ch
            return Raw("bars", [arg], arg.start - 1, arg.end + 1)

        def norm(self, ch):
            arg = ch[0]
            sub = str(ch[1]).strip("_{}") if len(ch) > 1 else None
            return Raw("norm", [arg], arg.start - 2, arg.end + 2 + (len(str(ch[1])) if sub else 0), sub)

    return ToRaw()


def _has_names(r: Raw) -> bool:
    """Does an exponent hold a name (`^b`, `^(n-1)`), not only numbers?"""
    return any(n.op in ("sym", "word", "identity", "ones") for n in walk_raw(r))


def depth(r: Raw) -> int:
    best, stack = 0, [(r, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((k, d + 1) for k in node.kids)
    return best


def _read_sum_sign(tok: str):
    """`sum_{i=1}^n`, `Σ_i`, `Σᵢ^m` → (index, size); the size is n when not written."""
    m = re.match(r"(?:sum|Σ|∑)\s*(?:_\s*\{?\s*([a-z])[^}^]*\}?|([ᵢⱼₖ]))\s*(?:\^\s*\{?\s*([A-Za-z0-9]+)\s*\}?)?", tok)
    index = m.group(1) or {"ᵢ": "i", "ⱼ": "j", "ₖ": "k"}[m.group(2)]
    limit = m.group(3) or "n"
    return index, (int(limit) if limit.isdigit() else limit)


def walk_raw(r: Raw):
    stack = [r]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.kids)
