"""Generated code: one Python function that returns f, its gradients (and Hessian) together.

The printer (printing/numpy.py) writes every result into one code graph, in which equal
code is one node; each node used twice or more becomes one local, so nothing is computed
twice across f, the gradients and the Hessian. Before printing, row vectors are written
as transposed columns, so that two spellings of one vector are one computation. The cost
rules (product order, solve or inv, no ones or diagonals built) are the printer's. The
module is complete and importable: imports, shape checks, and a docstring with the
formulas; `generate` returns its source, which is also the module (GeneratedModule).
Backends: numpy, torch, jax (the same printer, another namespace).
"""
from __future__ import annotations

import builtins
import keyword
from collections import Counter

from . import expr as E
from .api import diff
from .decls import Decls
from .errors import DeclarationError
from .reading import symbols_of
from .simplify import stabilized
from .printing.numpy import PRINTERS, py_name, transposed
from .printing.text import to_text

IMPORTS = {"numpy": "import numpy as np", "jax": "import jax.numpy as jnp",
           "torch": "import torch"}


_COMPUTED = (E.MatMul, E.Add, E.Hadamard, E.Func, E.Power)


def _columns(e: E.Expr, memo: dict) -> E.Expr:
    """e with every computed row vector written as the transpose of a column: tanh(xᵀW1ᵀ)
    as tanh(W1 x)ᵀ; and (Xᵀ)⁻¹ as (X⁻¹)ᵀ. In the code a vector is 1-D either way and a
    transpose is a view, so both spellings of one value become the same code, computed once."""
    got = memo.get(e)
    if got is not None:
        return got
    out = e.rebuild(tuple(_columns(a, memo) for a in e.args)) if e.args else e
    if out.rows == 1 and out.cols != 1 and isinstance(out, _COMPUTED):
        out = E.transpose(_columns(transposed(out), memo))
    elif isinstance(out, E.Inverse) and isinstance(out.arg, E.Transpose):  # X⁻ᵀ = (X⁻¹)ᵀ
        out = E.transpose(E.inv(out.arg.arg))
    memo[e] = out
    return out


def _vectorized(f: E.Expr) -> E.Expr:
    """f with its Σ_i sums in matrix form (checked equal), or f itself."""
    from .vectorize import checked_matrix_form

    return checked_matrix_form(f) or f


def generate(expr, wrt=None, decls: Decls | None = None, backend: str = "numpy",
             name: str | None = None, gradients: bool = True, check: bool = False,
             hessian: bool = False, **kw) -> "GeneratedModule":
    """Python source of `name(<variables>) -> (f, grad_1, …)` for a scalar `expr`
    (with `gradients=False`, of a function returning f alone: the baseline to time against;
    with `hessian`, of one returning the Hessian blocks too, after the gradients).
    The result is that source (a str) and also a module: `m.value_and_grad(...)`,
    `m.function`, `m.source` (GeneratedModule). `name` defaults to value_and_grad
    (value_grad_hess with `hessian`).

    `expr` is a string, a matcalc Expr or a SymPy expression. The arguments come in a fixed
    order: the `wrt` variables first (in `wrt` order), then the other variables in their
    order of appearance; the gradients are returned in `wrt` order, then (with `hessian`)
    the blocks H[a, b] for a, b in `wrt` order — for a matrix variable, the Hessian of its
    vec (columns stacked). With `check`, a `__main__` block draws random data of
    consistent shapes and compares each gradient with central differences of the value
    (and each Hessian block with central differences of the gradient).

    Everything returned is computed together: each piece of code used twice (a product,
    the softmax's shifted exponentials, an inverse) is one local (printing/numpy.py's
    CodeGraph).

    No user text is ever code: the expression and the formulas are escaped in the header
    comment and the docstring (one line each, backslashes and quotes escaped), the argument
    names are identifiers built by matcalc (`py_name`, made unique)."""
    if backend not in PRINTERS:
        raise DeclarationError(f"unknown backend {backend!r}: use numpy, torch or jax")
    if name is None:
        name = "value_grad_hess" if hessian else "value_and_grad"
    if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)
            and name not in _MODULE_NAMES):
        raise DeclarationError(f"name={name!r} cannot name the function: it must be a Python "
                               f"identifier, not a keyword or np, jnp, jax, torch")
    if hessian and not gradients:
        raise DeclarationError("hessian=True needs gradients=True (the Hessian comes after them)")
    result = diff(expr, wrt, decls, **kw)
    f = result.f
    if not f.is_scalar:
        raise DeclarationError("codegen writes value-and-gradient functions of a scalar f")
    source = expr if isinstance(expr, str) else to_text(f)
    # Σ_i sums are computed in their matrix form (X, y at once, no Python loop) where one is known
    grads = [dv.matrix_form or dv.expr for dv in result.derivatives] if gradients else []
    blocks = _hessian_blocks(result, source) if hessian else []
    f_code = stabilized(_vectorized(f))  # ln σ(u) = −softplus(−u), log-softmax, …: finite at extreme u
    memo: dict = {}
    roots = [_columns(r, memo) for r in [f_code, *grads, *(h for _, _, h in blocks)]]
    symbols = {**symbols_of(f), **{dv.name: dv.variable for dv in result.derivatives}}
    args = argument_order(result)
    ids = _unique_identifiers(args)
    taken = set(ids.values()) | _RESERVED
    fresh = _Fresh(taken)
    like = next((ids[a] for a in args if symbols[a].shape != (1, 1)), None)
    printer = PRINTERS[backend](names=ids, like=like)
    for r in roots:
        printer.learn_dims(r)
    for dv in result.derivatives:
        printer.learn_dims(dv.variable)
    printer.plan(roots)
    refs = [printer.p(r) for r in roots]
    pyargs = [ids[a] for a in args]
    checks = _shape_checks(symbols, args, ids)
    value_name = fresh("value")
    grad_names = [fresh(f"grad_{ids[n]}") for n in result.wrt] if gradients else []
    hess_names = [fresh(f"hess_{ids[a]}" if len(result.wrt) == 1 else f"hess_{ids[a]}_{ids[b]}")
                  for a, b, _ in blocks]
    outputs = [value_name, *grad_names, *hess_names]
    doc = [f"f = {source}", ""]
    for dv in result.derivatives:
        doc += _formula(f"d f / d {dv.name} = {to_text(dv.expr)}")
    for a, b, h in blocks:
        doc += _formula(f"d2 f / d {a} d {b} = {to_text(h)}")
    if any(symbols[n].shape[0] != 1 and symbols[n].shape[1] != 1 for n in result.wrt) and blocks:
        doc.append("(for a matrix variable, the Hessian of its vec: the columns stacked)")
    doc += ["", "Arguments: " + ", ".join(ids[a] if ids[a] == a else f"{ids[a]} ({a})" for a in args),
            "(the wrt variables first, then the others in order of appearance).",
            "Vectors are 1-D arrays, matrices 2-D, scalars numbers (or 0-d arrays).",
            f"Returns ({', '.join(outputs)})." if gradients else "Returns f."]
    lines = [_comment(f"generated by matcalc from: {source}"), IMPORTS[backend], "", "",
             f"def {name}({', '.join(pyargs)}):", _docstring(doc, "    "), *checks]
    written = printer.graph.write(refs, outputs, fresh)
    lines += [f"    {local} = {code}" for local, code in written]
    codes = dict(written)
    for n, gname in zip(result.wrt, grad_names):  # a constant gradient still has x's shape
        if symbols[n].shape != (1, 1) and _is_constant_code(codes.get(gname, "")):
            lines.append(f"    {gname} = {gname} + 0 * {ids[n]}  # the variable's shape")
    lines.append(f"    return {', '.join(outputs)}")
    if check:
        lines += _check_block(result, args, ids, symbols, backend, name, blocks)
    return GeneratedModule("\n".join(_wrap(line) for line in lines) + "\n", name)


def _hessian_blocks(result, source: str) -> list:
    """(a, b, H[a, b]) for the wrt variables (in their matrix form for Σ_i sums; the Hessian
    of vec X for a matrix variable)."""
    from .second_order import second_order

    h = second_order(result.f, {dv.name: dv.variable for dv in result.derivatives}, source, vec=True)
    return [(a, b, h.matrix_forms.get((a, b)) or block) for (a, b), block in h.blocks.items()]


WIDTH = 100


def _wrap(line: str, width: int = WIDTH) -> str:
    """A long line of code broken inside its parentheses before a binary operator or after
    a comma (lines holding string literals are left alone); the right-hand side of an
    assignment is put in parentheses first, so that it can break anywhere."""
    if len(line) <= width or "'" in line or '"' in line:
        return line
    lhs, eq, rhs = line.partition(" = ")
    if eq and lhs.strip().isidentifier() and not _enclosed(rhs):
        line = f"{lhs} = ({rhs})"
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    out, start, depth, last = [], 0, 0, None
    i = 0
    while i < len(line):
        c = line[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth > 0 and line.startswith((" + ", " - ", " * ", " @ ", " / "), i):
            last = i + 1  # the operator begins the next line
        elif depth > 0 and line.startswith(", ", i):
            last = i + 2
        prefix = indent if out else ""
        if len(prefix) + i - start >= width - 3 and last is not None and last > start:
            out.append(prefix + line[start:last].rstrip())
            start, last = last, None
        i += 1
    out.append((indent if out else "") + line[start:])
    return "\n".join(out)


def _enclosed(code: str) -> bool:
    """The whole of `code` is inside one pair of parentheses."""
    if not code.startswith("("):
        return False
    depth = 0
    for i, c in enumerate(code):
        depth += c == "("
        depth -= c == ")"
        if depth == 0:
            return i == len(code) - 1
    return False


def _is_constant_code(code: str) -> bool:
    return code.replace(".", "").replace("-", "").replace("(", "").replace(")", "").isdigit()


def _check_block(result, args, ids, symbols, backend, name, blocks=()) -> list:
    """A `__main__` block: random data of consistent shapes (sizes matcalc's sampler found
    valid), each gradient compared with central differences of the value, each Hessian
    block H[a, b] with central differences of the gradient wrt a along b (vec: the columns
    stacked); exit 1 if off."""
    import numpy as np

    from .numeric import sample_point

    sizes, _ = sample_point([result.f] + [dv.expr for dv in result.derivatives],
                            np.random.default_rng(0))

    def size(d):
        return d if isinstance(d, int) else int(sizes.get(d, 3))

    data = []
    for a in args:
        s = symbols[a]
        r, c = size(s.shape[0]), size(s.shape[1])
        if (r, c) == (1, 1):
            data.append('float(rng.uniform(0.5, 1.5))')
        elif r == 1 or c == 1:
            data.append(f'rng.uniform(0.5, 1.5, {max(r, c)})')
        else:
            kind = "symmetric" if s.symmetric else ("square" if s.shape[0] == s.shape[1] else "")
            data.append(f'_draw(rng, ({r}, {c}), {kind!r})')
    wrt = [args.index(n) for n in result.wrt]
    symmetric = [bool(symbols[n].symmetric) for n in result.wrt]
    convert = {"numpy": "a", "torch": "torch.tensor(a) if isinstance(a, numpy.ndarray) else a",
               "jax": "jnp.asarray(a) if isinstance(a, numpy.ndarray) else a"}[backend]
    # each Hessian block: (its output, the gradient wrt a, the argument b, b symmetric)
    k = len(result.wrt)
    hess = [(1 + k + i, 1 + result.wrt.index(a), args.index(b), bool(symbols[b].symmetric),
             f"H[{ids[a]}, {ids[b]}]") for i, (a, b, _) in enumerate(blocks)]
    out = ["", "", 'if __name__ == "__main__":',
           "    # the derivatives against central differences, at random data",
           "    import numpy", ""]
    if backend == "jax":
        out += ["    import jax", "", '    jax.config.update("jax_enable_x64", True)', ""]
    out += [
        "    def _draw(rng, shape, kind):",
        '        if kind == "symmetric":',
        "            a = rng.standard_normal(shape)",
        "            return a @ a.T / shape[0] + numpy.eye(shape[0])",
        '        if kind == "square":',
        "            return numpy.eye(shape[0]) + 0.3 * rng.standard_normal(shape)",
        "        return rng.uniform(0.5, 1.5, shape)",
        "",
        "    def _call(data):",
        f"        return [numpy.asarray(o) for o in {name}(*(({convert}) for a in data))]",
        "",
        "    def _along(data, k, v, h):",
        "        plus = [d + h * v if i == k else d for i, d in enumerate(data)]",
        "        minus = [d - h * v if i == k else d for i, d in enumerate(data)]",
        "        return [(p - m) / (2 * h) for p, m in zip(_call(plus), _call(minus))]",
        "",
        "    def _direction(rng, x, sym):",
        "        v = rng.standard_normal(numpy.shape(x))",
        "        return (v + v.T) / 2 if sym else v",
        "",
        "    def _check():",
        "        rng = numpy.random.default_rng(0)",
        "        data = [",
        *[f"            {d},  # {ids[a]}" for d, a in zip(data, args)],
        "        ]",
        "        outputs = _call(data)",
        "        worst, h = 0.0, 1e-6",
        f"        names = {[ids[n] for n in result.wrt]!r}",
        f"        for k, sym, g, gname in zip({wrt!r}, {symmetric!r}, outputs[1:], names):",
        "            v = _direction(rng, data[k], sym)",
        "            fd = float(_along(data, k, v, h)[0])",
        "            an = float(numpy.sum(g * v))",
        "            err = abs(fd - an) / max(1.0, abs(fd), abs(an))",
        '            print(f"grad {gname}: finite differences {fd:.10g}, gradient {an:.10g}, "',
        '                  f"relative error {err:.1e}")',
        "            worst = max(worst, err)",
    ]
    if hess:
        out += [
            f"        for o, g, k, sym, hname in {hess!r}:  # H[a, b] vec(v) = d(grad_a) along v in b",
            "            v = _direction(rng, data[k], sym)",
            '            fd = numpy.ravel(_along(data, k, v, h)[g], order="F")',
            "            H = numpy.reshape(outputs[o], (fd.size, numpy.size(v)))",
            '            an = H @ numpy.ravel(v, order="F")',
            "            err = numpy.max(numpy.abs(fd - an)) / max(1.0, numpy.max(numpy.abs(an)))",
            '            print(f"{hname}: relative error {err:.1e}")',
            "            worst = max(worst, float(err))",
        ]
    out += [
        "        return worst",
        "",
        "    raise SystemExit(0 if _check() < 1e-5 else 1)",
    ]
    return out


_MODULE_NAMES = {"np", "jnp", "jax", "torch"}
# names an argument must not take: the modules, Python's keywords and builtins (`sum` and
# `range` are used by the generated code)
_RESERVED = _MODULE_NAMES | set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))


class _Fresh:
    """Names for the generated locals that no argument (and no other local) has."""

    def __init__(self, taken: set):
        self.taken = taken
        self.counts: Counter = Counter()

    def __call__(self, base: str) -> str:
        while True:
            if base == "t":
                candidate = f"t{self.counts[base]}"
                self.counts[base] += 1
            else:
                candidate = base + "_" * self.counts[base]
                self.counts[base] += 1
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate


def _unique_identifiers(names) -> dict:
    """symbol name → a distinct Python identifier (py_name, with `_` added while it clashes
    with another argument, a module, a keyword or a builtin)."""
    out, used = {}, set(_RESERVED)
    for n in names:
        ident = py_name(n)
        while ident in used:
            ident += "_"
        used.add(ident)
        out[n] = ident
    return out


def argument_order(result) -> list:
    """The documented argument order: the wrt variables (in wrt order), then the other
    variables of f in their order of appearance (in the text, or along the Expr)."""
    present = symbols_of(result.f)
    seen = list(result.wrt)
    for n in list(getattr(result, "written", ())) + _appearance(result.f):
        if n in present and n not in seen:
            seen.append(n)
    return seen


def _appearance(e: E.Expr) -> list:
    """Symbol names of e, left to right."""
    out: list = []
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, E.Symbol):
            if n.name not in out:
                out.append(n.name)
            continue
        stack.extend(reversed(n.args))
    return out


def _one_line(text: str) -> str:
    """User text made printable on one line: line breaks and every other non-printable
    character written as their escapes (`\\n`), so it cannot start a line of code."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _comment(text: str) -> str:
    return "# " + _one_line(text)


def _formula(text: str) -> list:
    """A formula for the docstring, in lines that fit (broken at spaces, continued indented)."""
    import textwrap

    return textwrap.wrap(text, WIDTH - 12, subsequent_indent="    ", break_long_words=False,
                         break_on_hyphens=False) or [text]


def _docstring(lines: list, indent: str) -> str:
    """A docstring holding `lines` exactly (each made one printable line): backslashes and
    quotes are escaped, so no `\"\"\"`, `\\x…` or `\\N{…}` in the text can end or break it."""
    def esc(line):
        return _one_line(line).replace("\\", "\\\\").replace('"', '\\"')

    body = [esc(lines[0])] + [(indent + esc(l)) if l else "" for l in lines[1:]]
    return indent + '"""' + "\n".join(body) + "\n" + indent + '"""'


def _shape_checks(symbols: dict, args: list, ids: dict) -> list:
    """Lines that check the number of dimensions and that shared sizes agree (the messages
    are Python literals made by repr, whatever the names hold)."""
    out = []
    first: dict = {}
    for a in args:
        s = symbols[a]
        nd = 0 if s.shape == (1, 1) else (1 if 1 in s.shape else 2)
        var = ids[a]
        label = _one_line(a)
        if nd:
            kind = "vector" if nd == 1 else "matrix"
            out.append(f"    assert {var}.ndim == {nd}, {f'{label} must be a {kind}'!r}")
        dims = [s.shape[0] if s.shape[0] != 1 else s.shape[1]] if nd == 1 else (list(s.shape) if nd == 2 else [])
        for axis, d in enumerate(dims):
            if isinstance(d, int):
                out.append(f"    assert {var}.shape[{axis}] == {d}, {f'{label}: size {axis} must be {d}'!r}")
            elif d in first:
                other, oaxis, olabel = first[d]
                why = (f"{label} must be square" if other == var
                       else f"{label} and {olabel} disagree on the size {_one_line(d)}")
                out.append(f"    assert {var}.shape[{axis}] == {other}.shape[{oaxis}], {why!r}")
            else:
                first[d] = (var, axis, label)
    return out


def load(source: str, name: str = "value_and_grad"):
    """The function defined by generated `source` (our own code, compiled)."""
    return _namespace(source)[name]


def _namespace(source: str) -> dict:
    namespace: dict = {}
    exec(compile(str(source), "<matcalc codegen>", "exec"), namespace)  # noqa: S102 - generated by us
    return namespace


class GeneratedModule(str):
    """What `codegen` returns: the module's source — a str, so printing it, writing it to a
    file or `"np.outer" in m` work as they did — that is also the module: its function is an
    attribute (`m.value_and_grad(w, y, X)`, whatever `name` says; `m.function` always), and
    `m.source` is the plain string. The source is compiled on first use."""

    def __new__(cls, source: str, name: str = "value_and_grad"):
        self = super().__new__(cls, source)
        self._name = name
        self._ns = None
        return self

    def __reduce__(self):  # pickles as (source, name): the compiled functions are not kept
        return (GeneratedModule, (str(self), self._name))

    @property
    def source(self) -> str:
        return str(self)

    @property
    def name(self) -> str:
        """The generated function's name."""
        return self._name

    @property
    def function(self):
        """The generated function."""
        return self.namespace[self._name]

    @property
    def namespace(self) -> dict:
        """The module's globals after running it (its imports and the function)."""
        if self._ns is None:
            self._ns = _namespace(self)
        return self._ns

    def __getattr__(self, attr):  # only for names a str does not have
        if attr.startswith("_") or attr not in self.namespace:
            raise AttributeError(f"the generated module has no attribute {attr!r}")
        return self.namespace[attr]

    def __dir__(self):
        return sorted(set(super().__dir__()) | {self._name})
