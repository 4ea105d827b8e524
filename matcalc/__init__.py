"""matcalc: matrix differentials the way they are done on paper, checked by numbers.

    >>> import matcalc
    >>> print(matcalc.diff("x^T A x", wrt="x"))
    (A + A^T) x
"""
from .api import Derivative, Result, derive, diff, parse
from .check import CheckReport, check  # after `import matcalc.check` the name stays the function
from .hessian import HessianResult, hessian
from .backprop import Schedule, backprop
from .graph import Graph, graph
from .codegen import generate as codegen
from .verify import VerifyReport, verify
from .decls import Decls
from .errors import DeclarationError, DerivationError, MatcalcError, ParseError, ShapeError

__version__ = "0.1.0"


__all__ = [
    "diff", "derive", "parse", "Result", "Derivative", "Decls", "MatcalcError", "ParseError",
    "ShapeError", "DeclarationError", "DerivationError", "verify", "check", "CheckReport", "VerifyReport", "hessian", "HessianResult", "backprop", "Schedule", "graph", "Graph", "codegen",
    "__version__",
]
