"""Declarations that override the naming conventions: kinds, symmetry and sizes.

Conventions: lowercase latin = column vector, uppercase latin = matrix, Greek
(spelled `lambda` or written `λ`) = scalar. `--dim X=3x4` or `--dim X=n x m` fixes
sizes (numeric or symbolic); a single size means n×1 for a vector, n×n for a matrix.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .errors import DeclarationError

GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi omicron pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi "
    "Sigma Phi Psi Omega"
).split()

GREEK_LETTER_NAMES = dict(zip(
    "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩϵϑϕ",
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega epsilon theta "
    "phi".split(),
))


def spell_greek(name: str) -> str:
    """λ → lambda, σ_1 → sigma_1: one spelling per symbol, whatever the user typed."""
    if name and name[0] in GREEK_LETTER_NAMES:
        return GREEK_LETTER_NAMES[name[0]] + name[1:]
    return name


# Accents are part of a name: ŷ is the symbol y_hat, β̂ is beta_hat, x̄ is x_bar.
ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0305": "bar", "\u0303": "tilde", "\u0307": "dot",
           "\u0308": "ddot"}
_ACCENTED = re.compile("([A-Za-z\u0370-\u03ff])([" + "".join(ACCENTS) + "])")


def spell_accents(text: str) -> str:
    """`ŷ` (precomposed or with a combining mark) → `y_hat`, `β̂` → `β_hat`."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFD", text)
    text = _ACCENTED.sub(lambda m: f"{m.group(1)}_{ACCENTS[m.group(2)]}", text)
    return unicodedata.normalize("NFC", text)


def canonical_name(name: str) -> str:
    """The one spelling of a name as the parser makes it: `μ`, `\\mu`, `mu` → `mu`;
    `ŷ`, `\\hat{y}` → `y_hat`; `β̂` → `beta_hat`. Names of several letters stay as written."""
    name = name.strip()
    m = re.fullmatch(r"\\(hat|bar|tilde|dot)\{\\?([A-Za-z]+|.)\}", name)
    if m:
        name = f"{m.group(2)}_{m.group(1)}"
    if name.startswith("\\") and name[1:] in GREEK:
        name = name[1:]
    name = spell_accents(name)
    base = name.split("_", 1)[0]
    if len(base) == 1 or base[1:].isdigit():
        name = spell_greek(name)
    return numbered(name)


def numbered(name: str) -> str:
    """W_1, W_{1} → W1: a number written as a subscript is part of the name, as the course
    uses W1, W_1 and W_{1} alike (index letters stay subscripts: x_i)."""
    m = re.fullmatch(r"([^\W\d_][^\W_]*)_\{?(\d+)\}?", name)
    return m.group(1) + m.group(2) if m else name


def pretty_name(name: str) -> str:
    """The name as the user reads it: mu → μ, Sigma → Σ, beta_hat → β_hat."""
    base, sep, rest = name.partition("_")
    letter = _GREEK_LETTERS.get(base, base)
    marks = {v: k for k, v in ACCENTS.items()}
    if rest in marks:  # y_hat → ŷ
        return unicodedata.normalize("NFC", letter + marks[rest])
    return letter + sep + rest


_GREEK_LETTERS = {v: k for k, v in reversed(list(GREEK_LETTER_NAMES.items()))}


def is_greek(name: str) -> bool:
    base = re.sub(r"\d+$", "", name.split("_", 1)[0])
    return base in GREEK


# Names of counts: n in `-n/2 ln det Σ`, m in `1/m (y - Xw)ᵀ(y - Xw)` are scalars.
COUNT_NAMES = {"n", "m", "k", "N"}


# Kinds a name can take when no declaration fixes it: the default first, then the other
# readings the shape inference may choose (with their cost: a name with a strong
# convention — a latin letter — costs more to reinterpret than a Greek one).
def kind_readings(name: str, bold: bool = False) -> list:
    base = name.split("_", 1)[0]
    if bold:  # \mathbf{x}, \boldsymbol{\beta}: a vector or a matrix, never a scalar
        return [("matrix", 0), ("vector", 3)] if base[0].isupper() else [("vector", 0), ("row", 3)]
    if is_greek(name):
        return [("matrix", 0), ("scalar", 1)] if base[0].isupper() else [("scalar", 0), ("vector", 1)]
    if base[0].islower():
        return [("vector", 0), ("scalar", 2), ("row", 3)]
    return [("matrix", 0), ("vector", 3)]  # W_3 in `f(X W_1) W_3` with one output is a column


NAME_RE = re.compile(r"^[A-Za-z\u0370-\u03ff][A-Za-z0-9\u0370-\u03ff]*(_(\{[A-Za-z0-9]+\}|[A-Za-z0-9]+))?$")
_DIM_RE = re.compile(
    r"^\s*(\d+|[A-Za-z][A-Za-z0-9_]*?)\s*(?:(?:x|×|\*|,)\s*(\d+|[A-Za-z][A-Za-z0-9_]*)\s*)?$"
)


def _dim(tok: str):
    if tok.isdigit():
        value = int(tok)
        if value < 1:
            raise DeclarationError(f"a size must be a positive integer, not {tok!r}")
        return value
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", tok):
        raise DeclarationError(f"bad size {tok!r}: use a positive integer or a name like n")
    return tok


def parse_dim_spec(spec: str):
    """'3x4', 'n x m', '3×4', 'n,m' or a single size; returns (rows, cols-or-None)."""
    m = _DIM_RE.match(spec)
    if not m:
        raise DeclarationError(
            f"bad size {spec!r}: write it as 3x4, n x m, or a single size such as 5 or n"
        )
    rows = _dim(m.group(1))
    cols = _dim(m.group(2)) if m.group(2) else None
    return rows, cols


def split_names(values) -> list:
    """Accept repeated options and comma/space separated lists: ['x,y', 'z'] → [x, y, z]."""
    out = []
    for v in values or ():
        for part in re.split(r"[,\s]+", v.strip()):
            if not part:
                continue
            name = canonical_name(part)
            if not NAME_RE.match(name):
                raise DeclarationError(f"{part!r} is not a variable name")
            out.append(name)
    return out


@dataclass
class Decls:
    scalars: set = field(default_factory=set)
    vectors: set = field(default_factory=set)
    matrices: set = field(default_factory=set)
    symmetric: set = field(default_factory=set)
    dims: dict = field(default_factory=dict)  # name -> (rows, cols or None)
    counts: frozenset = frozenset()  # names that are the number of observations (n of Σ_{i=1}^n)
    bold: frozenset = frozenset()  # names written in bold in LaTeX: a hint that they are not scalars

    @classmethod
    def from_arguments(cls, decls: "Decls | None", kw: dict) -> "Decls":
        """The declarations an API function got: a Decls, or keywords (vector="v", dim=...)."""
        if decls is not None and kw:
            raise TypeError("pass either decls= or keyword declarations, not both")
        if decls is not None:
            return decls
        unknown = set(kw) - {"scalar", "vector", "matrix", "symmetric", "dim"}
        if unknown:
            raise TypeError(f"unknown declaration keyword(s): {', '.join(sorted(unknown))}")
        return cls.build(**kw)

    @classmethod
    def build(cls, scalar=(), vector=(), matrix=(), symmetric=(), dim=()) -> "Decls":
        """From CLI-style values: lists of names, and dims as 'X=3x4' strings or a dict."""
        d = cls(
            set(split_names(_listify(scalar))),
            set(split_names(_listify(vector))),
            set(split_names(_listify(matrix))),
            set(split_names(_listify(symmetric))),
        )
        if isinstance(dim, dict):
            for name, spec in dim.items():
                d.dims[canonical_name(name)] = _dim_value(spec)
        else:
            for item in _listify(dim):
                for part in _split_dim_items(item):
                    if "=" not in part:
                        raise DeclarationError(
                            f"bad dim={part!r}: write NAME=SIZE, e.g. X=3x4 or X=n x m"
                        )
                    name, spec = part.split("=", 1)
                    name = canonical_name(name)
                    if not NAME_RE.match(name):
                        raise DeclarationError(f"bad dim={part!r}: {name!r} is not a name")
                    d.dims[name] = parse_dim_spec(spec)
        kinds = [d.scalars, d.vectors, d.matrices | d.symmetric]
        for i, a in enumerate(kinds):
            for b in kinds[i + 1 :]:
                both = a & b
                if both:
                    raise DeclarationError(
                        f"{', '.join(sorted(both))} declared with two different kinds"
                    )
        return d

    def kind_of(self, name: str):
        if name in self.scalars:
            return "scalar"
        if name in self.vectors:
            return "vector"
        if name in self.matrices or name in self.symmetric:
            return "matrix"
        return None

    def is_bold(self, name: str) -> bool:
        """Written in bold (\\mathbf{w}), also with an index or a number: w_i, w_1 → w1."""
        base = name.split("_", 1)[0]
        return name in self.bold or base in self.bold or base.rstrip("0123456789") in self.bold

    def declares(self, name: str) -> bool:
        return self.kind_of(name) is not None or name in self.dims


def _listify(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return list(v)


def _dim_value(spec):
    if isinstance(spec, str):
        return parse_dim_spec(spec)
    if isinstance(spec, int):
        return (_dim(str(spec)), None)
    spec = tuple(spec)
    if len(spec) == 1:
        return (_dim(str(spec[0])), None)
    if len(spec) == 2:
        return (_dim(str(spec[0])), _dim(str(spec[1])))
    raise DeclarationError(f"bad size {spec!r}")


def _split_dim_items(item: str):
    """'X=3x4, y=4' → ['X=3x4', 'y=4'] (commas separate items only before a NAME=)."""
    return [p.strip() for p in re.split(r",\s*(?=[A-Za-z][A-Za-z0-9_]*\s*=)", item) if p.strip()]
