"""Text → Expr: the Lark grammar, naming conventions, shape inference, errors with a caret.

Three steps. Lark parses the text (grammar/matcalc.lark); a Transformer turns the
parse tree into a small raw tree (`_R`), resolving names on the way (`Xw` is X·w,
`W1` one symbol, `lambda` a scalar). Shape inference then unifies dimensions over
the raw tree with a union-find, and the build step makes the Expr with the
resolved sizes through expr.py's constructors. No Lark type leaves this module.
"""
from __future__ import annotations

import copy
import difflib
import itertools
import re
from fractions import Fraction
from functools import lru_cache

from . import expr as E
from . import functions as _functions
from .abstract import is_abstract
from .decls import (COUNT_NAMES, GREEK, Decls, is_greek, kind_readings, pretty_name, spell_accents,
                    spell_greek)
from .errors import NotSquare, ParseError, ShapeError
from .latex_input import from_latex, looks_like_latex
from .walk import symbols_in

MAX_INPUT = 20_000
MAX_DEPTH = 400

# Operations that build their own nodes (trace, det, …): what the user writes → the op.
# Elementwise functions (exp, σ, relu, …) come from their records in functions.py.
# Call-style nodes (tr, det, sum, softmax, …) come from expr.CALLS.
OPERATIONS = {
    "logdet": "logdet", "sqrt": "sqrt", "inv": "inv", "diag": "diag", "norm": "norm",
    "norm2": "norm", "normF": "norm", "eye": "eye", "ones": "ones",
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
    words -= {"eye", "ones", "norm", "norm2", "normF"}
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


@lru_cache(maxsize=1)
def _parser():
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


class _R:
    """A raw node: op, children, and the source span for error messages."""

    __slots__ = ("op", "kids", "start", "end", "data", "shape", "elementwise")

    def __init__(self, op, kids=(), start=0, end=0, data=None):
        self.op, self.kids, self.start, self.end, self.data = op, list(kids), start, end, data
        self.shape = None
        self.elementwise = False  # exp.(X)


def _span(*nodes):
    starts = [n.start for n in nodes if n is not None]
    ends = [n.end for n in nodes if n is not None]
    return min(starts), max(ends)


def _pair_norm_bars(text: str) -> str:
    """`||x||` and `‖x‖` → `⟪x⟫`, keeping every other character at its position.

    A bar closes the innermost open norm when it follows an operand (a name, a
    number, `)` or a postfix); otherwise it opens a new one: `||(||W||^2) x||`.
    """
    out, i, depth, bars = [], 0, 0, 0
    while i < len(text):
        width = 2 if text.startswith("||", i) else (1 if text[i] == "‖" else 0)
        before = "".join(out).rstrip()
        after_operand = bool(before) and (before[-1].isalnum() or before[-1] in ")]'ᵀ¹²³⟫⟧}_")
        if text[i] == "|" and not width:  # a single bar: |X| (det) or |x| (abs), paired alike
            closing = bars > 0 and after_operand
            bars += -1 if closing else 1
            out.append("⟧" if closing else "⟦")
            i += 1
            continue
        if not width:
            out.append(text[i])
            i += 1
            continue
        closing = depth > 0 and after_operand
        depth += -1 if closing else 1
        out.append(("⟫" if closing else "⟪") + " " * (width - 1))
        i += width
    return "".join(out)


def _course_spellings(text: str) -> str:
    """Spellings of the course material that the grammar reads in matcalc's own form:
    accents as part of a name (ŷ → y_hat), the Unicode minus, the ones vector 1_n."""
    text = spell_accents(text).replace("−", "-")
    text = re.sub(r"(?<![\w.])1_(\{[A-Za-z0-9]+\}|[A-Za-z0-9]+)", r"ones_\1", text)
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


def _caret(text: str, pos: int) -> str:
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


def _syntax_error(text: str, err, shown: str) -> ParseError:
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
            f"syntax error: unexpected character {ch!r} at column {pos + 1}\n{_caret(shown, pos)}"
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
            f"syntax error: {hint}\n{_caret(shown, len(text))}\n"
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
            f"{_caret(shown, pos)}\nexpected {_describe_expected(err.expected)}"
        )
    return ParseError(f"syntax error: {err}")


def _balanced(text: str, start: int, end: int) -> str:
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


def _snippet(text: str, r: _R) -> str:
    return _balanced(text, r.start, r.end)


# ---------------------------------------------------------------- parse tree → raw tree


def _make_transformer(text: str, decls: Decls, differentials: set):
    from lark import Transformer_NonRecursive, v_args

    def tok_span(tok):
        return tok.start_pos, tok.end_pos

    def resolve_word(word: str, start: int, end: int) -> _R:
        """A NAME token → a symbol, a constant, or a product of single-letter names."""
        if len(word.split("_", 1)[0]) == 1 or word.split("_", 1)[0][1:].isdigit():
            word = spell_greek(word)
        if word.startswith("d") and "d" + spell_greek(word[1:]) in differentials_words:
            word = "d" + spell_greek(word[1:])  # dμ is the differential of μ
        base = word.split("_", 1)[0]
        if decls.declares(word) or word in GREEK_NAMES or word in differentials_words:
            return _R("sym", (), start, end, word)
        if word in ("I", "eye"):
            return _R("identity", (), start, end)
        m = re.fullmatch(r"I_\{?([A-Za-z0-9]+)\}?", word)
        if m:  # I_n, I_{n}, I_3: the identity (a number fixes its size)
            return _R("identity", (), start, end, int(m.group(1)) if m.group(1).isdigit() else None)
        if word == "ones":
            return _R("ones", (), start, end)
        if word.startswith("ones_"):  # 1_n, \mathbf{1}: the vector of ones
            return _R("ones", (), start, end, "vector")
        if word in FUNCTIONS:
            raise ParseError(
                f"`{word}` is a function but has no argument\n{_caret(text, start)}"
            )
        if len(base) == 1 or "_" in word or any(c.isdigit() for c in word):
            return _R("sym", (), start, end, word)
        if word.islower() and len(word) >= 3:
            close = difflib.get_close_matches(word, list(FUNCTIONS) + GREEK, n=3, cutoff=0.7)
            if close:
                raise ParseError(
                    f"unknown name `{word}`; did you mean {' or '.join(close)}?\n"
                    f"{_caret(text, start)}"
                )
        letters = [_R("sym", (), start + i, start + i + 1, spell_greek(c)) for i, c in enumerate(word)]
        return _R("word", letters, start, end)

    differentials_words = {"d" + v for v in differentials}

    def postfix(op, r: _R, tok_end: int, data=None) -> _R:
        if r.op == "word":  # `xx^T` = x xᵀ: the postfix binds the last letter only
            last = r.kids[-1]
            new_last = _R(op, [last], last.start, tok_end, data)
            return _R("mul", r.kids[:-1] + [new_last], r.start, tok_end)
        return _R(op, [r], r.start, tok_end, data)

    def flat(op, a: _R, b: _R) -> _R:
        # only the left operand is flattened: a product on the right came from parentheses,
        # and its grouping decides which 1×1 runs scale the rest
        kids = (a.kids if a.op == op else [a]) + [b]
        return _R(op, kids, *_span(a, b))

    class ToRaw(Transformer_NonRecursive):
        def number(self, ch):
            (tok,) = ch
            return _R("num", (), *tok_span(tok), Fraction(str(tok)))

        def name(self, ch):
            (tok,) = ch
            return resolve_word(str(tok), *tok_span(tok))

        def add(self, ch):
            a, b = ch  # a + b + c is one flat sum: long sums stay shallow
            kids = (a.kids if a.op == "add" else [a]) + [b]
            return _R("add", kids, *_span(a, b))

        def sub(self, ch):
            a, b = ch
            kids = (a.kids if a.op == "add" else [a]) + [_R("neg", [b], b.start, b.end)]
            return _R("add", kids, *_span(a, b))

        @v_args(meta=True)
        def neg(self, meta, ch):
            (a,) = ch
            return _R("neg", [a], meta.start_pos, a.end)

        def hadamard(self, ch):
            a, _, b = ch
            return _R("hadamard", [a, b], *_span(a, b))

        def ediv(self, ch):
            a, _, b = ch
            return _R("ediv", [a, b], *_span(a, b))

        def mul(self, ch):
            a, b = ch
            last = a.kids[-1] if a.op in ("mul", "word") else a
            if last.op == "sym" and last.data == "d" and b.op == "sym" and "d" + b.data in differentials_words:
                # `d Σ` (LaTeX \mathrm{d}\Sigma): the differential dΣ
                diff = _R("sym", (), last.start, b.end, "d" + b.data)
                return diff if last is a else _R(a.op, a.kids[:-1] + [diff], a.start, b.end)
            return flat("mul", a, b)

        def mul_op(self, ch):
            a, _, b = ch
            return flat("mul", a, b)

        def div(self, ch):
            a, b = ch
            return _R("div", [a, b], *_span(a, b))

        def prefix_call(self, ch):
            *left, ftok, arg = ch
            start = ftok.start_pos
            call = _R("call", [arg], start, arg.end, FUNCTIONS[str(ftok)])
            if left:
                return flat("mul", left[0], call)
            return call

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
                call = _R("call", [arg], base.start, e.end, "exp")
                return _R("mul", r.kids[:-1] + [call], r.start, e.end) if r.op == "word" else call
            if e.op == "expname":
                raise ParseError(
                    f"exponents must be numbers; `^{e.data}` is not supported\n"
                    f"{_caret(text, e.start)}"
                )
            return postfix("power", r, e.end, e)

        def epower(self, ch):
            r, _, e = ch
            return postfix("epower", r, e.end, e)

        def superscript(self, ch):
            r, tok = ch
            value = Fraction(str(tok).translate(_FROM_SUPERSCRIPT))
            e = _R("num", (), tok.start_pos, tok.end_pos, value)
            return postfix("power", r, tok.end_pos, e)

        def esuperscript(self, ch):  # x∘²: the elementwise (Hadamard) power
            r, tok = ch
            value = Fraction(str(tok)[1:].translate(_FROM_SUPERSCRIPT))
            e = _R("num", (), tok.start_pos, tok.end_pos, value)
            return postfix("epower", r, tok.end_pos, e)

        @v_args(meta=True)
        def root(self, meta, ch):  # √x, √(…)
            (a,) = ch
            return _R("call", [a], meta.start_pos, a.end, "sqrt")

        def exp_number(self, ch):
            (tok,) = ch
            return _R("num", (), *tok_span(tok), Fraction(str(tok)))

        def exp_name(self, ch):
            (tok,) = ch  # a name as an exponent: only e^x (the exponential) has a meaning
            return _R("expname", [resolve_word(str(tok), *tok_span(tok))], *tok_span(tok), str(tok))

        def arglist(self, ch):
            return list(ch)

        def call(self, ch):
            tok, args = ch
            typed = str(tok)[:-1]
            word = spell_greek(typed) if len(typed) == 1 else typed  # σ(z) is sigma(z): the sigmoid
            start, end = tok.start_pos, args[-1].end + 1
            if word in ("max", "min") and not decls.declares(word):
                zero = [a for a in args if a.op == "num" and a.data == 0]
                if word == "max" and len(args) == 2 and zero:  # max(0, x), max(0; x): ReLU
                    other = args[1] if args[0] is zero[0] else args[0]
                    return _R("call", [other], start, end, "relu")
                raise ParseError(
                    f"`{word}(…)` is supported only as max(0, x) (= relu(x)); write relu(x)\n"
                    f"{_caret(text, start)}"
                )
            if word.endswith("."):  # exp.(X): elementwise, said explicitly
                name = word[:-1]
                if FUNCTIONS.get(name) not in MATRIX_FUNCTIONS | ELEMENTWISE_ONLY:
                    raise ParseError(
                        f"`{name}.(…)` means `{name}` elementwise, but `{name}` is not an "
                        f"elementwise function\n{_caret(text, start)}"
                    )
                r = _R("call", args, start, end, FUNCTIONS[name])
                r.elementwise = True
                return r
            if word in FUNCTIONS and not decls.declares(word):
                return _R("call", args, start, end, FUNCTIONS[word])
            if is_abstract(word) and len(args) == 1 and not decls.declares(word):
                return _R("call", args, start, end, word)  # f(X W_1): an abstract activation
            if len(args) != 1:
                raise ParseError(f"unknown function `{word}`\n{_caret(text, start)}")
            if word.islower() and len(word) >= 3 and word not in GREEK_NAMES and not decls.declares(word):
                close = difflib.get_close_matches(word, list(FUNCTIONS), n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(close)}?" if close else (
                    f"; known functions: {', '.join(sorted(set(FUNCTIONS) - {'eye', 'ones'}))}"
                )
                raise ParseError(f"unknown function `{word}`{hint}\n{_caret(text, start)}")
            # `x(…)` or `AB(…)`: a name times a parenthesised factor; a postfix such as
            # ^-1 that follows binds to the parenthesis only, as for a split word
            head = resolve_word(typed, start, start + len(typed))
            pieces = head.kids if head.op == "word" else [head]
            return _R("word", pieces + [args[0]], start, end)

        def bars(self, ch):
            (arg,) = ch
            return _R("bars", [arg], arg.start - 1, arg.end + 1)

        def norm(self, ch):
            arg = ch[0]
            sub = str(ch[1]).strip("_{}") if len(ch) > 1 else None
            return _R("norm", [arg], arg.start - 2, arg.end + 2 + (len(str(ch[1])) if sub else 0), sub)

    return ToRaw()


# ---------------------------------------------------------------- shape inference


class _DimVar:
    __slots__ = ("id",)
    _ids = itertools.count()

    def __init__(self):
        self.id = next(_DimVar._ids)


class _OnesDim(_DimVar):
    """A size of `ones` written without one: it takes whatever the context needs, 1 too
    (`y - β ones` is y - β·1 with a column of ones)."""

    __slots__ = ()


def _depth(r: _R) -> int:
    best, stack = 0, [(r, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((k, d + 1) for k in node.kids)
    return best


class _Shapes:
    """Union-find over dimensions; ints and declared names are fixed, _DimVars are free."""

    def __init__(self, text: str):
        self.text = text
        self.parent: dict = {}
        self.names: dict = {}

    def find(self, d):
        path = []
        while d in self.parent:
            path.append(d)
            d = self.parent[d]
        for p in path:
            self.parent[p] = d
        return d

    def is_one(self, d) -> bool:
        return self.find(d) == 1

    def unify(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb or ra == rb:
            return True
        free_a, free_b = isinstance(ra, _DimVar), isinstance(rb, _DimVar)
        if not free_a and not free_b:
            return False
        if free_a and rb == 1 and not isinstance(ra, _OnesDim) or free_b and ra == 1 and not isinstance(rb, _OnesDim):
            return False  # a vector or matrix never shrinks to size 1 by inference
        if free_a and not (free_b and isinstance(rb, _OnesDim)):
            self.parent[ra] = rb
        else:
            self.parent[rb] = ra
        return True

    def show(self, d) -> str:
        d = self.find(d)
        if isinstance(d, _DimVar):
            return self.names.get(d, "?")
        return str(d)

    def show_shape(self, s) -> str:
        return f"{self.show(s[0])}×{self.show(s[1])}"


class _Builder:
    def __init__(self, text: str, decls: Decls, differentials: set, kinds=None, broadcast=False):
        self.text = text
        self.decls = decls
        self.differentials = differentials
        self.kinds = kinds or {}  # name → kind chosen by the reading (parse() searches them)
        self.broadcast = broadcast  # may a scalar name be added to a vector (y - β = y - β1)?
        self.notes: list = []
        self.dims = _Shapes(text)
        self.symbols: dict = {}  # name -> (shape, symmetric)
        self.size_names: set = set()  # sizes named in ones(n, m)
        self.matrix_calls: list = []  # exp/log/sqrt of a matrix, checked once sizes are known

    # -- helpers
    def snip(self, r):
        return _snippet(self.text, r)

    def fresh(self):
        return _DimVar()

    def shape_error(self, what, a: _R, b: _R, why) -> ShapeError:
        self._name_dims()
        return ShapeError(
            f"shape mismatch in {what} `{self.snip_span(a, b)}`: `{self.snip(a)}` is "
            f"{self.dims.show_shape(a.shape)} but `{self.snip(b)}` is "
            f"{self.dims.show_shape(b.shape)} ({why})"
        )

    def snip_span(self, a, b):
        return _balanced(self.text, *_span(a, b))

    def square_error(self, what, r: _R) -> ShapeError:
        self._name_dims()
        return NotSquare(
            f"{what} needs a square matrix, but `{self.snip(r)}` is "
            f"{self.dims.show_shape(r.shape)}"
        )

    def is_scalar(self, r):
        return self.dims.is_one(r.shape[0]) and self.dims.is_one(r.shape[1])

    def is_vector(self, r):
        return self.dims.is_one(r.shape[1]) and not self.dims.is_one(r.shape[0])

    def symbol_shape(self, name: str):
        if name in self.symbols:
            return self.symbols[name][0]
        kind = self.decls.kind_of(name) or self.kinds.get(name)
        if kind is None and name in self.decls.dims and self.decls.dims[name][1] is not None:
            rows, cols = self.decls.dims[name]  # a full size says the kind
            kind = "scalar" if (rows, cols) == (1, 1) else "vector" if cols == 1 else "matrix"
        if kind is None:
            kind = kind_readings(name)[0][0]
            if kind == "scalar" and name in self.decls.dims and self.decls.dims[name][0] != 1:
                kind = "vector"  # --dim μ=n: a size says it is not a scalar
        if name in self.decls.dims:
            rows, cols = self.decls.dims[name]
            if cols is None:
                cols = 1 if kind == "vector" else (rows if kind == "matrix" else 1)
            if kind == "scalar" and (rows, cols) != (1, 1):
                raise ShapeError(f"`{name}` is declared a scalar but given the size {rows}×{cols}")
            shape = (rows, cols)
        elif kind == "scalar":
            shape = (1, 1)
        elif kind == "vector":
            shape = (self.fresh(), 1)
        else:
            n = self.fresh()
            shape = (n, n) if name in self.decls.symmetric else (n, self.fresh())
        symmetric = name in self.decls.symmetric
        if symmetric and not self.dims.unify(shape[0], shape[1]):
            raise ShapeError(f"`{name}` is declared symmetric but its size is not square")
        self.symbols[name] = (shape, symmetric)
        return shape

    def const_value(self, r: _R) -> Fraction:
        """The value of a constant exponent such as 2, -1, 1/2 or (1/2)."""
        if r.op == "num":
            return r.data
        if r.op == "neg":
            return -self.const_value(r.kids[0])
        if r.op == "div":
            den = self.const_value(r.kids[1])
            if den == 0:
                raise ParseError(f"division by zero in `{self.snip(r)}`")
            return self.const_value(r.kids[0]) / den
        if r.op == "mul":
            out = Fraction(1)
            for k in r.kids:
                out *= self.const_value(k)
            return out
        if r.op == "add":
            return sum((self.const_value(k) for k in r.kids), Fraction(0))
        raise ParseError(f"exponents must be numbers, not `{self.snip(r)}`\n{_caret(self.text, r.start)}")

    def has_symbols(self, r: _R) -> bool:
        stack = [r]
        while stack:
            n = stack.pop()
            if n.op in ("sym", "identity", "ones", "word"):
                return True
            stack.extend(n.kids)
        return False

    # -- inference: sets r.shape on every node, unifying dimensions
    def infer(self, r: _R):
        if r.op == "call" and r.data in ("eye", "ones"):
            return self.infer_call(r)  # the arguments are sizes, not expressions
        for k in r.kids:
            self.infer(k)
        getattr(self, "infer_" + r.op)(r)

    def infer_num(self, r):
        r.shape = (1, 1)

    def infer_sym(self, r):
        name = r.data
        if name.startswith("d") and name[1:] in self.differentials and not self.decls.declares(name):
            r.op, r.data = "dsym", name[1:]
            r.shape = self.symbol_shape(name[1:])
        else:
            r.shape = self.symbol_shape(name)

    def infer_identity(self, r):
        n = r.data if isinstance(r.data, int) else self.fresh()
        r.shape = (n, n)

    def infer_ones(self, r):
        r.shape = (self.fresh(), 1 if r.data == "vector" else _OnesDim())

    def infer_bars(self, r):
        """|x| of a scalar is abs, |X| of a square matrix det (the Cookbook's notation)."""
        a = r.kids[0]
        if self.is_scalar(a):
            r.data = "abs"
        elif self.is_vector(a):
            raise ShapeError(
                f"`|{self.snip(a)}|` of a vector: write ||{self.snip(a)}|| for the norm or "
                f"abs({self.snip(a)}) for the entries' absolute values"
            )
        else:
            self._require_square("|X| (the determinant)", a)
            r.data = "det"
        r.shape = (1, 1)

    def build_bars(self, r, kids):
        return E.func("abs", kids[0]) if r.data == "abs" else E.det(kids[0])

    def infer_word(self, r):
        self.infer_mul(r)

    def _infer_sum(self, r):
        """Terms of equal shape; a constant scalar term is broadcast to an array sum."""
        arrays = [k for k in r.kids if not self.is_scalar(k)]
        scalars = [k for k in r.kids if self.is_scalar(k)]
        if arrays and scalars:
            for sc in scalars:
                if self.has_symbols(sc):
                    arr = arrays[0]
                    self._name_dims()
                    square = self.dims.find(arr.shape[0]) == self.dims.find(arr.shape[1])
                    fix = (f"write `{self.snip(sc)} I` for a multiple of the identity" if square
                           else f"write `{self.snip(sc)} ones` to add it to every entry")
                    core = sc
                    while core.op == "neg":
                        core = core.kids[0]
                    if self.broadcast and self.is_vector(arr):
                        self.notes.append(
                            f"`{self.snip(r)}` adds the scalar `{self.snip(sc)}` to every entry of "
                            f"the vector `{self.snip(arr)}`: read as `{self.snip(sc)}` times the vector of ones"
                        )
                        continue
                    if core.op == "sym":  # a name is a scalar unless declared otherwise
                        fix += f"; if {pretty_name(core.data)} is a vector, declare it: --vector {pretty_name(core.data)}"
                    raise ShapeError(
                        f"cannot add the scalar `{self.snip(sc)}` to `{self.snip(arr)}`, which is "
                        f"{self.dims.show_shape(arr.shape)}: {fix}, or declare the other operand a scalar"
                    )
            r.data = "broadcast"
        first = arrays[0] if arrays else r.kids[0]
        for k in (arrays[1:] if arrays else r.kids[1:]):
            if not (self.dims.unify(first.shape[0], k.shape[0]) and self.dims.unify(first.shape[1], k.shape[1])):
                raise self.shape_error("the sum", first, k, "terms of a sum must have equal shapes")
        r.shape = first.shape

    infer_add = _infer_sum

    def infer_neg(self, r):
        r.shape = r.kids[0].shape

    def infer_mul(self, r):
        cur = r.kids[0]
        shape = cur.shape
        for k in r.kids[1:]:
            if self.dims.is_one(shape[0]) and self.dims.is_one(shape[1]):
                shape = k.shape
            elif self.is_scalar(k):
                pass
            elif self.dims.unify(shape[1], k.shape[0]):
                shape = (shape[0], k.shape[1])
            else:
                left = _R("span", (), r.kids[0].start, cur.end)
                left.shape = shape
                raise self.shape_error(
                    "the product", left, k,
                    "the columns of the left factor must match the rows of the right one",
                )
            cur = k
        r.shape = shape

    def infer_div(self, r):
        a, b = r.kids
        if not self.is_scalar(b):
            self._name_dims()
            raise ShapeError(
                f"division by `{self.snip(b)}`, which is {self.dims.show_shape(b.shape)}, not a "
                f"scalar; put a scalar denominator in parentheses, e.g. `A x / (x^T A x)`, or "
                f"use ./ for elementwise division"
            )
        r.shape = a.shape

    def _infer_elementwise(self, r):
        a, b = r.kids
        if self.is_scalar(a) or self.is_scalar(b):
            r.shape = b.shape if self.is_scalar(a) else a.shape
            return
        if not (self.dims.unify(a.shape[0], b.shape[0]) and self.dims.unify(a.shape[1], b.shape[1])):
            raise self.shape_error(
                "the elementwise operation", a, b, "elementwise operands must have equal shapes"
            )
        r.shape = a.shape

    infer_hadamard = infer_ediv = _infer_elementwise

    def infer_transpose(self, r):
        s = r.kids[0].shape
        r.shape = (s[1], s[0])

    def _require_square(self, what, r):
        s = r.shape
        if not self.dims.unify(s[0], s[1]):
            raise self.square_error(what, r)

    def infer_inverse(self, r):
        a = r.kids[0]
        if not self.is_scalar(a):
            self._require_square("the inverse", a)
        r.shape = a.shape

    def infer_inverse_transpose(self, r):
        self.infer_inverse(r)

    def infer_power(self, r):
        a = r.kids[0]
        p = self.const_value(r.data)
        r.data = p
        if self.is_scalar(a):
            r.shape = (1, 1)
        elif self.is_vector(a):
            if p != 2:
                raise ShapeError(
                    f"`{self.snip(r)}`: a vector can only be squared (v^2 = vᵀv); "
                    f"use .^ for elementwise powers"
                )
            r.shape = (1, 1)
        else:
            if p.denominator != 1:
                raise ShapeError(
                    f"`{self.snip(r)}`: fractional powers of a matrix are not supported; "
                    f"use .^ for elementwise powers"
                )
            self._require_square("a matrix power", a)
            r.shape = a.shape

    def infer_epower(self, r):
        r.data = self.const_value(r.data)
        r.shape = r.kids[0].shape

    def size_arg(self, r: _R):
        """A size written in ones(n, m) / eye(n): a positive integer or a size name."""
        if r.op == "num" and r.data.denominator == 1 and r.data > 0:
            return int(r.data)
        if r.op in ("sym", "word"):
            name = self.text[r.start : r.end].strip()
            self.size_names.add(name)
            return name
        raise ParseError(f"`{self.snip(r)}` is not a size: use a positive integer or a name like n")

    def infer_norm(self, r):
        a = r.kids[0]
        if r.data == "2" and not self.is_vector(a) and not self.is_scalar(a):
            raise ShapeError(
                f"`{self.snip(r)}`: the spectral norm of a matrix is not supported; "
                f"use the Frobenius norm ||X||_F"
            )
        r.shape = (1, 1)

    def infer_call(self, r):
        f = r.data
        args = r.kids
        if f in ("eye", "ones"):
            sizes = [self.size_arg(k) for k in args]
            if f == "eye" and len(sizes) == 1:
                r.shape = (sizes[0], sizes[0])
            elif f == "ones" and len(sizes) in (1, 2):
                r.shape = (sizes[0], sizes[1] if len(sizes) == 2 else 1)
            else:
                raise ParseError(f"write `{f}(n)`{' or `ones(n, m)`' if f == 'ones' else ''}, or `{'I' if f == 'eye' else 'ones'}` with the size inferred")
            return
        if len(args) != 1 and not (f == "norm" and len(args) == 2):
            comma = re.search(r"\d,\d", self.snip(r))
            raise ParseError(f"`{f}` takes one argument, got {len(args)} in `{self.snip(r)}`"
                             + (" (a decimal comma? write numbers with a point, as in 0.5)" if comma else ""))
        a = args[0]
        if f in E.CALLS:
            self.infer_node_call(r, E.CALLS[f], a)
        elif f == "logdet":
            if not self.is_scalar(a):
                self._require_square("ln det", a)
            r.shape = (1, 1)
        elif f == "inv":
            self.infer_inverse(r)
        elif f == "norm":
            r.shape = (1, 1)
        elif f in MATRIX_FUNCTIONS and not r.elementwise and not self.is_scalar(a) and not self.is_vector(a):
            self.matrix_calls.append(r)  # ambiguous if the matrix turns out square
            r.shape = a.shape
        elif f == "diag":
            if self.is_scalar(a) or self.is_vector(a):
                r.shape = (a.shape[0], a.shape[0])
            else:
                self._require_square("diag", a)
                r.shape = (a.shape[0], 1)
        else:
            r.shape = a.shape

    def infer_node_call(self, r, call: E.Call, a):
        """The shape of a call-style node from its CALLS entry."""
        if call.arg == "square" and not self.is_scalar(a):
            self._require_square(call.what or f"`{r.data}`", a)
        elif call.arg == "vector" and not (self.is_vector(a) or self.is_scalar(a)):
            raise ShapeError(f"`{self.snip(r)}`: {r.data} is applied to a column vector")
        r.shape = (1, 1) if call.result == "scalar" else a.shape

    def check_matrix_functions(self):
        """exp(X), log(X), sqrt(X) of a square matrix: the matrix function or elementwise?"""
        for r in self.matrix_calls:
            a = r.kids[0]
            if self.dims.find(a.shape[0]) == self.dims.find(a.shape[1]) or (
                self.dims.find(a.shape[0]) is self.dims.find(a.shape[1])
            ):
                f = r.data
                meaning = {"log": "logarithm", "exp": "exponential", "sqrt": "square root"}.get(f, f"function {f}")
                raise ShapeError(
                    f"`{self.snip(r)}`: {f} of the square matrix `{self.snip(a)}` is ambiguous "
                    f"(the matrix {meaning} or elementwise?). matcalc applies functions elementwise: write "
                    f"`{f}.({self.snip(a)})` to say so"
                    + (f"; for ln det write `ln det {self.snip(a)}`" if f == "log" else "")
                )

    def require_shape(self, r: _R, shape):
        if r.op == "num" and r.data == 0:  # a bare `0` where an array is asked for: the zero array
            r.op, r.shape = "zero", tuple(shape)
            return
        ok = all(self.dims.unify(a, b) for a, b in zip(r.shape, shape))
        if not ok:
            self._name_dims()
            raise ShapeError(
                f"`{self.snip(r)}` is {self.dims.show_shape(r.shape)} but "
                f"{shape[0]}×{shape[1]} is expected"
            )

    def check_sizes_determined(self, raw: _R, shape):
        """An `I` whose size nothing ties to a variable or to the result's shape (`α tr(I)`)
        has no value: refused."""
        fixed = {self.dims.find(d) for sh, _ in self.symbols.values() for d in sh}
        fixed |= {self.dims.find(d) for d in (shape or ())}
        fixed |= {self.dims.find(d) for d in raw.shape}  # `xᵀx I`: a size of the result itself
        stack = [raw]
        while stack:
            r = stack.pop()
            stack.extend(r.kids)
            if r.op == "identity" and not isinstance(self.dims.find(r.shape[0]), (int, str)) \
                    and self.dims.find(r.shape[0]) not in fixed:
                raise ShapeError(
                    f"the size of `{self.snip(r)}` is not determined by anything in the expression "
                    f"(in `{self.text.strip()}`): write its size, e.g. eye(n) or I_3, or use it "
                    f"with a variable that fixes it"
                )

    # -- naming of free dimensions, then building
    def _name_dims(self):
        taken = {d for shape, _ in self.symbols.values() for d in shape if isinstance(d, str)}
        taken |= {d for dims in self.decls.dims.values() for d in dims if isinstance(d, str)}
        taken |= self.size_names
        pool = (n for n in itertools.chain("nmpqkrstuvwabcdefgh", (f"n{i}" for i in itertools.count(1)))
                if n not in taken)
        used = set(self.dims.names.values())
        pool = (n for n in pool if n not in used)
        for shape, _ in self.symbols.values():
            for d in shape:
                root = self.dims.find(d)
                if isinstance(root, _DimVar) and root not in self.dims.names:
                    self.dims.names[root] = next(pool)
        self._pool = pool

    def dim(self, d):
        root = self.dims.find(d)
        if isinstance(root, _DimVar):
            if root not in self.dims.names:
                self.dims.names[root] = next(self._pool)
            return self.dims.names[root]
        return root

    def shape_of(self, r):
        return (self.dim(r.shape[0]), self.dim(r.shape[1]))

    def build(self, r: _R) -> E.Expr:
        if r.op == "call" and r.data in ("eye", "ones"):
            shape = self.shape_of(r)
            return E.Identity(shape[0]) if r.data == "eye" else E.Ones(*shape)
        kids = [self.build(k) for k in r.kids]
        return getattr(self, "build_" + r.op)(r, kids)

    def build_num(self, r, kids):
        return E.Const(r.data)

    def build_zero(self, r, kids):
        return E.Zero(*self.shape_of(r))

    def _symbol(self, name, diff=False):
        shape, symmetric = self.symbols[name]
        s = E.Symbol(name, self.dim(shape[0]), self.dim(shape[1]), symmetric)
        return s.differential() if diff else s

    def build_sym(self, r, kids):
        return self._symbol(r.data)

    def build_dsym(self, r, kids):
        return self._symbol(r.data, diff=True)

    def build_identity(self, r, kids):
        return E.Identity(self.dim(r.shape[0]))

    def build_ones(self, r, kids):
        return E.Ones(*self.shape_of(r))

    def build_mul(self, r, kids):
        """Products left to right; a finished 1×1 run (`xᵀx` in `xᵀx I`) scales what follows."""
        runs, run = [], []
        for k in kids:
            chain = [f for f in run if not f.is_scalar]
            if chain and chain[0].rows == 1 and chain[-1].cols == 1 and not k.is_scalar:
                runs.append(E.mul(*run))
                run = []
            run.append(k)
        return E.mul(*runs, E.mul(*run))

    build_word = build_mul

    def _broadcast(self, r, kids):
        if r.data == "broadcast":
            shape = self.shape_of(r)
            return [E.mul(k, E.Ones(*shape)) if k.is_scalar else k for k in kids]
        return kids

    def build_add(self, r, kids):
        return E.add(*self._broadcast(r, kids))

    def build_neg(self, r, kids):
        return E.neg(kids[0])

    def build_div(self, r, kids):
        a, b = kids
        if isinstance(b, E.Const) and b.value == 0:
            raise ParseError(f"division by zero in `{self.snip(r)}`")
        return E.mul(a, E.power(b, -1))

    def build_hadamard(self, r, kids):
        return E.hadamard(*kids)

    def build_ediv(self, r, kids):
        a, b = kids
        return E.hadamard(a, E.power(b, -1))

    def build_transpose(self, r, kids):
        return E.transpose(kids[0])

    def build_inverse(self, r, kids):
        return E.inv(kids[0])

    def build_inverse_transpose(self, r, kids):
        return E.inv(E.transpose(kids[0]))

    def build_power(self, r, kids):
        (a,), p = kids, r.data
        if a.is_scalar:
            return E.power(a, p)
        if a.cols == 1:
            return E.mul(E.transpose(a), a)
        n = int(p)
        if n == 0:
            return E.Identity(a.rows)
        base = a if n > 0 else E.inv(a)
        return E.mul(*([base] * abs(n)))

    def build_epower(self, r, kids):
        return E.power(kids[0], r.data)

    def build_norm(self, r, kids):
        return E.power(E.inner(kids[0], kids[0]), Fraction(1, 2))

    def build_call(self, r, kids):
        f, a = r.data, kids[0]
        if f in E.CALLS:
            return E.CALLS[f].make(a)
        if f == "logdet":
            return E.func("log", E.det(a))
        if f == "inv":
            return E.inv(a)
        if f == "norm":
            return self.build_norm(r, kids[:1])
        if f == "sqrt":
            return E.power(a, Fraction(1, 2))
        if f == "diag":
            return E.diag(a) if a.cols == 1 else E.diag_part(a)
        return E.func(f, a)


_READING_TRIES = 400  # readings tried at most when the default kinds do not fit


def _sym_names(raw: _R) -> list:
    out, stack = [], [raw]
    while stack:
        n = stack.pop()
        if n.op == "sym" and n.data not in out:
            out.append(n.data)
        stack.extend(reversed(n.kids))
    return out


def _count_names(raw: _R) -> set:
    """n in `n/2`, m in `1/m`: names of counts, read as scalars (`-n/2 ln det Σ`)."""
    out, stack = set(), [raw]
    while stack:
        n = stack.pop()
        if n.op == "div" and len(n.kids) == 2:
            a, b = n.kids
            for x, y in ((a, b), (b, a)):
                if x.op == "sym" and x.data in COUNT_NAMES and y.op == "num":
                    out.add(x.data)
        stack.extend(n.kids)
    return out


class _Reading:
    """One assignment of kinds to the names no declaration fixes, and what it gave."""

    def __init__(self, kinds: dict, builder, raw):
        self.kinds, self.builder, self.raw = kinds, builder, raw

    @property
    def scalar(self) -> bool:
        return self.builder.is_scalar(self.raw)


def _kinds_from_context(prepared, raw, decls, differentials, shape):
    """The reading of the names: the default kinds if they make the expression well formed;
    otherwise the one reading that does (Greek names first, then a scalar name added to a
    vector as y - β·1, then latin names), preferring fewer changes and a scalar result.
    Returns (builder, inferred raw tree, notes)."""

    def attempt(kinds, broadcast=False):
        r = copy.deepcopy(raw)
        b = _Builder(prepared, decls, set(differentials), kinds, broadcast)
        b.infer(r)
        if shape is not None:
            b.require_shape(r, shape)
        b.check_matrix_functions()
        return _Reading(kinds, b, r)

    differential_names = {"d" + v for v in differentials}
    free = [n for n in _sym_names(raw) if not decls.declares(n) and n not in differential_names]
    counts = _count_names(raw)
    defaults = {n: ("scalar" if n in counts else kind_readings(n)[0][0]) for n in free}
    count_notes = [f"{n} is read as a scalar (a count, divided by or dividing a number); declare --vector {n} otherwise"
                   for n in sorted(counts & set(free))]
    try:
        best = attempt(defaults)
        return best.builder, best.raw, count_notes + _default_notes(best, free, defaults, attempt)
    except ShapeError as err:
        first_error = err

    def alternatives(names):
        return {n: [k for k, _ in kind_readings(n) if k != defaults[n]] for n in names}

    greek = [n for n in free if is_greek(n)]
    stages = [(greek, False), ([], True), (free, False)]  # latin names: for a scalar f only
    tries = 0
    for names, broadcast in stages:
        if broadcast:
            try:
                best = attempt(defaults, broadcast=True)
                return best.builder, best.raw, count_notes + best.builder.notes
            except ShapeError:
                continue
        alts = alternatives(names)
        flexible = [n for n in names if alts[n]]
        found = []
        for size in range(1, min(len(flexible), 4) + 1):
            for group in itertools.combinations(flexible, size):
                for choice in itertools.product(*(alts[n] for n in group)):
                    tries += 1
                    if tries > _READING_TRIES:
                        break
                    kinds = {**defaults, **dict(zip(group, choice))}
                    try:
                        found.append(attempt(kinds))
                    except (ShapeError, ParseError):
                        pass
            if any(f.scalar for f in found):
                break
        if names is free:
            found = [f for f in found if f.scalar]
        lowercase = {n: "scalar" for n in flexible if n.split("_", 1)[0][0].islower()}
        best = _choose(found, {**defaults, **lowercase}, attempt)
        if best is not None:
            changed = [n for n in free if best.kinds[n] != defaults[n]]
            notes = [
                f"{pretty_name(n)} is read as a {best.kinds[n]}: as a {defaults[n]} the expression "
                f"is not well formed; declare --{defaults[n]} {pretty_name(n)} or "
                f"--{best.kinds[n]} {pretty_name(n)} to say so" for n in changed
            ]
            unchanged = [n for n in free if n not in changed]
            return best.builder, best.raw, count_notes + notes + _default_notes(best, unchanged, best.kinds, attempt)
    raise first_error


def _choose(found, all_scalar, attempt):
    """The best reading: a scalar result first, then the fewest changed kinds; a tie between
    readings is settled by the one where every lowercase name is a scalar (the chain-rule
    exercises `(y - w·x)^2`), if that reading fits."""
    if not found:
        return None
    scalar = [f for f in found if f.scalar] or found  # the search went from few changes to many
    if len(scalar) == 1:
        return scalar[0]
    try:
        reading = attempt(all_scalar)
        return reading if reading.scalar else None
    except (ShapeError, ParseError):
        return None


def _default_notes(reading, free, defaults, attempt) -> list:
    """Say so when a Greek name's default kind was taken but the other reading fits too
    (keeping a scalar result scalar): Σ in `(x - μ)ᵀ Σ⁻¹ (x - μ)` could be a scalar."""
    notes = []
    for n in free:
        if not is_greek(n):
            continue
        for kind, _ in kind_readings(n)[1:]:
            try:
                other = attempt({**defaults, n: kind})
            except (ShapeError, ParseError):
                continue
            if other.scalar == reading.scalar:
                notes.append(f"{pretty_name(n)} is read as a {defaults[n]} (the default for "
                             f"{'uppercase' if n[0].isupper() else 'lowercase'} Greek); declare "
                             f"--{kind} {pretty_name(n)} if it is a {kind}")
    return notes


def parse(text: str, decls: Decls | None = None, differentials=(), shape=None, latex: bool | None = None,
          notes: list | None = None, named: dict | None = None) -> E.Expr:
    """Parse matrix notation into an Expr.

    `differentials` names variables whose `dX` may appear; `shape` (rows, cols), if
    given, is the shape the whole expression must have (it sizes a lone `I`). `named`, if
    given, receives name → Symbol for every name written, also those that cancel (`v - v`). `latex`
    None means: read it as LaTeX if it looks like LaTeX (backslashes, `$`).
    """
    if not isinstance(text, str):
        raise ParseError("the expression must be a string")
    if len(text) > MAX_INPUT:
        raise ParseError(f"the expression is too long ({len(text)} characters; the limit is {MAX_INPUT})")
    if not text.strip():
        raise ParseError("the expression is empty")
    if re.match(r"\s*(∇|grad\s+of\b|grad_|nabla)", text):
        raise ParseError(
            "write only the expression and name the variable with --wrt (wrt= in Python): "
            "`matcalc diff \"x^T A x\" --wrt x`, not `∇_x (x^T A x)` or `grad of …`"
        )
    if re.match(r"\s*(d|∂)\s*/\s*(d|∂)", text):
        raise ParseError(
            "write only the expression, and name the variable with --wrt: "
            "`matcalc diff \"x^2\" --wrt x --scalar x`, not `d/dx x^2`"
        )
    decls = decls or Decls()
    from lark.exceptions import UnexpectedInput

    if latex or (latex is None and looks_like_latex(text)):
        translated = from_latex(text)
        try:
            return parse(translated, decls, differentials, shape, latex=False, notes=notes, named=named)
        except ParseError as err:
            raise ParseError(f"{err}\n(read from LaTeX as: {translated})") from None

    prepared = _pair_norm_bars(_course_spellings(text))
    try:
        tree = _parser().parse(prepared)
        raw = _make_transformer(prepared, decls, set(differentials)).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(prepared, err, text) from None
    except Exception as err:  # Lark wraps errors raised inside the transformer
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, (ParseError, ShapeError)):
            raise inner from None
        raise
    if _depth(raw) > MAX_DEPTH:
        raise ParseError(f"the expression is nested too deeply (the limit is {MAX_DEPTH} levels)")
    builder, raw, found = _kinds_from_context(prepared, raw, decls, differentials, shape)
    if notes is not None:
        notes.extend(n for n in found if n not in notes)
    builder._name_dims()
    out = builder.build(raw)
    builder.check_sizes_determined(raw, shape)
    if named is not None:
        named.update((n, builder._symbol(n)) for n in builder.symbols)
    return out


def symbols_of(e: E.Expr) -> dict:
    """name → Symbol for every variable in e (a differential dX counts as X)."""
    out: dict = {}
    for n in symbols_in(e):
        out.setdefault(n.name, E.Symbol(n.name, n.nrows, n.ncols, n.symmetric) if n.diff else n)
    return out
