"""Generated code never executes input text (issue 16, item 5).

Every piece of user text that reaches the generated source — the expression in the header
comment and the docstring, the formulas, the names in shape-check messages, the argument
names — is escaped or rebuilt by matcalc. Each module below is compiled with warnings as
errors (an invalid escape such as `\\xi` in a docstring is a SyntaxWarning today, an error
tomorrow) and executed with a sentinel the hostile text tries to call.
"""
import warnings

import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc.code_generation import _one_line, generate
from matcalc.errors import MatcalcError

PAYLOAD = "_sentinel.append('ran')"

# expressions matcalc parses, whose text is hostile to naive templating
HOSTILE_TEXT = [
    "x^T x\n+ sum(x)",  # the second line of an @file expression
    "x^T x\r+ sum(x)",
    "x^T x\r\n+ sum(x)\n",
    "x^T x\t+ sum(x)",
    r"\xi^T \xi + \nu",  # invalid escapes / \n in a docstring
    r"\left( \mathbf{x}^\top \mathbf{x} \right) + \beta",
    "x' x",
    "lambda x^T x",  # a keyword as a name
]

# names no parser would produce, in an Expr built directly (or from SymPy): the generated
# module must still be safe, with identifiers of matcalc's making
HOSTILE_NAMES = [
    f"x\n{PAYLOAD}\n",
    f'x"""\n{PAYLOAD}\n"""',
    f"x'''\n{PAYLOAD}#",
    f"x\\\n{PAYLOAD}",
    f"x\\n+ __import__('os').system('echo pwned'); {PAYLOAD}",
    f"x # {PAYLOAD}",
    "np",  # would shadow the module
    "value",  # would collide with a local
    "t0",
    "sum",  # a builtin the generated code uses
    "class",
    "x\u2028y\x0cz\x00",
    "3x",
    "x\udc80",
]


def _run(source: str, name: str = "value_and_grad"):
    """Compile (warnings are errors) and execute our generated source with a sentinel."""
    sentinel: list = []
    namespace = {"_sentinel": sentinel, "__name__": "generated"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = compile(source, "<generated>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source
    assert sentinel == [], "input text ran as code"
    assert set(namespace) - {"_sentinel", "__name__", "__builtins__", "np", "torch", "jnp"} == {name}
    return namespace[name]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_expression_text_is_never_code(text):
    wrt = "x" if "x" in text.replace("xi", "") else "xi"
    source = generate(text, wrt)
    fn = _run(source)
    # the header comment is one line, the docstring holds the text exactly
    assert source.splitlines()[1] == "import numpy as np"
    assert "\n".join(f"f = {text}".splitlines()[:1]) in fn.__doc__ or "\\" in repr(text)
    r = matcalc.diff(text, wrt)
    args = {n: np.linspace(0.5, 1.5, 3) if f"assert {n}.ndim == 1" in source else 0.7
            for n in fn.__code__.co_varnames[: fn.__code__.co_argcount]}
    value, grad = fn(**args)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_hostile_symbol_names_are_never_code(name, backend):
    x = E.Symbol(name, "n", 1)
    a = E.Symbol("a", "n", 1)
    f = E.add(E.mul(E.transpose(x), x), E.mul(E.transpose(a), x), E.sum_entries(E.func("exp", x)))
    source = generate(f, x, backend=backend, check=True)
    assert all(line.isprintable() for line in source.splitlines()), source
    if backend != "numpy":
        pytest.importorskip(backend)
    fn = _run(source)
    ident = fn.__code__.co_varnames[0]
    assert ident.isidentifier() and ident.isascii()
    assert _one_line(name) in fn.__doc__  # the name, on one line, escaped in the source
    if backend == "numpy":
        xv, av = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
        value, grad = fn(xv, av)
        np.testing.assert_allclose(grad, 2 * xv + av + np.exp(xv))
        # the gradient against central differences of the generated value
        v, h = np.array([0.3, -0.2, 0.5]), 1e-6
        fd = (fn(xv + h * v, av)[0] - fn(xv - h * v, av)[0]) / (2 * h)
        assert np.isclose(fd, grad @ v, rtol=1e-6)


def test_bad_function_names_are_refused():
    for bad in ("not valid", "class", "np", "f\nimport os", ""):
        with pytest.raises(MatcalcError, match="identifier"):  # noqa: PT012
            generate("x^T x", "x", name=bad)
