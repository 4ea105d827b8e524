"""matcalc: matrix differentials the way they are done on paper, checked by numbers.

    >>> import matcalc
    >>> print(matcalc.diff("x^T A x", wrt="x"))
    (A + A^T) x
"""
from .api import Derivative, Result, derive, diff, parse
from .decls import Decls
from .errors import DeclarationError, DerivationError, MatcalcError, ParseError, ShapeError

__version__ = "0.1.0"


def __getattr__(name):
    """`matcalc.verify` without importing NumPy at `import matcalc` (CLI start-up)."""
    if name == "verify":
        from .verify import verify

        return verify
    raise AttributeError(f"module 'matcalc' has no attribute {name!r}")

__all__ = [
    "diff", "derive", "parse", "Result", "Derivative", "Decls", "MatcalcError", "ParseError",
    "ShapeError", "DeclarationError", "DerivationError", "verify", "__version__",
]
