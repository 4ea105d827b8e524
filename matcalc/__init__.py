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
import types

from .api import Derivative, Result, derive, diff, parse
from .decls import Decls
from .errors import DeclarationError, DerivationError, MatcalcError, ParseError, ShapeError

__version__ = "0.1.0"

# public name → (module, attribute). Each function lives in a module of the same name.
_LAZY = {
    "check": ("check", "check"), "CheckReport": ("check", "CheckReport"),
    "verify": ("verify", "verify"), "VerifyReport": ("verify", "VerifyReport"),
    "hessian": ("hessian", "hessian"), "HessianResult": ("hessian", "HessianResult"),
    "backprop": ("backprop", "backprop"), "Schedule": ("backprop", "Schedule"),
    "graph": ("graph", "graph"), "Graph": ("graph", "Graph"),
    "codegen": ("codegen", "generate"),
    "solve": ("solve", "solve"), "Solution": ("solve", "Solution"),
    "to_sympy": ("sympy_interop", "to_sympy"), "from_sympy": ("sympy_interop", "from_sympy"),
}


class _Package(types.ModuleType):
    """Keeps `matcalc.check` the function even after `import matcalc.check` (the import
    system sets the package attribute of that name to the submodule)."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and name in _LAZY:
            value = getattr(value, _LAZY[name][1])
        super().__setattr__(name, value)

    def __getattr__(self, name):
        if name in _LAZY:
            module, attr = _LAZY[name]
            value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
            super().__setattr__(name, value)
            return value
        raise AttributeError(f"module 'matcalc' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package

__all__ = [
    "diff", "derive", "parse", "Result", "Derivative", "Decls", "MatcalcError", "ParseError",
    "ShapeError", "DeclarationError", "DerivationError", *_LAZY, "__version__",
]
