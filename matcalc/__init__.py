"""matcalc: matrix differentials the way they are done on paper, checked by numbers.

    >>> import matcalc
    >>> print(matcalc.diff("x^T A x", wrt="x"))
    (A + A^T) x

`diff` and `parse` load with the package; `check`, `verify`, `hessian`, `backprop`,
`graph` and `codegen` load on first use (they need NumPy, which the command line
only imports when it computes numbers).
"""
import importlib
import sys

# The passes recurse once per level of the tree; parse() admits MAX_DEPTH = 400 levels,
# which some passes turn into a few thousand frames.
if sys.getrecursionlimit() < 20_000:
    sys.setrecursionlimit(20_000)

from .api import Derivative, Result, derive, diff, parse
from .decls import Decls
from .errors import DeclarationError, DerivationError, MatcalcError, ParseError, ShapeError

__version__ = "0.1.0"

# public name → (module, attribute). No module is named like a function it exports, so
# `import matcalc.checking` never hides `matcalc.check`.
_LAZY = {
    "check": ("checking", "check"), "CheckReport": ("checking", "CheckReport"),
    "verify": ("verification", "verify"), "VerifyReport": ("verification", "VerifyReport"),
    "hessian": ("second_order", "hessian"), "HessianResult": ("second_order", "HessianResult"),
    "backprop": ("schedule", "backprop"), "Schedule": ("schedule", "Schedule"),
    "graph": ("compgraph", "graph"), "Graph": ("compgraph", "Graph"),
    "codegen": ("code_generation", "generate"),
    "solve": ("optimum", "solve"), "Solution": ("optimum", "Solution"),
    "to_sympy": ("sympy_interop", "to_sympy"), "from_sympy": ("sympy_interop", "from_sympy"),
}


def __getattr__(name):
    """The functions that need NumPy load on first use (PEP 562)."""
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'matcalc' has no attribute {name!r}")


__all__ = [
    "diff", "derive", "parse", "Result", "Derivative", "Decls", "MatcalcError", "ParseError",
    "ShapeError", "DeclarationError", "DerivationError", *_LAZY, "__version__",
]
