"""The `matcalc` command. Formats results and errors; exit codes 0 ok, 2 bad input, 3 bug.

Only this module knows about the command line. Heavy imports (numpy) happen only
on the paths that need numbers (--at, --check).
"""
from __future__ import annotations

import os
import re
import sys

import click

FORMATS = ["text", "unicode", "latex", "numpy", "json", "differential"]

EXAMPLES = """
\b
Examples:
  matcalc diff "x^T A x" --wrt x
  matcalc diff "a^T X A X a" --wrt X --format unicode
  matcalc diff "ln det X" --wrt X --format latex
  matcalc diff "X^-1" --wrt X                 (matrix-valued: the differential)
  matcalc diff "x x^T x" --wrt x              (vector-valued: the Jacobian)
  matcalc diff "(2x + y) z" --wrt x,y,z --scalar x,y,z --at x=10 y=-2 z=-4
  matcalc diff "tr(S^-1 M)" --wrt S --symmetric S --dim S=3
"""


def _no_color() -> bool:
    """https://no-color.org: NO_COLOR set and non-empty means no ANSI colour, terminal or not."""
    return bool(os.environ.get("NO_COLOR"))


def _style(text: str, **styles) -> str:
    """click.style unless NO_COLOR is set (click itself drops colour in a pipe)."""
    return text if _no_color() else click.style(text, **styles)


_JSON = "matcalc.json_errors"  # ctx.meta key: this command line asked for --format json


def _json_errors() -> bool:
    """Errors as JSON on stderr? Yes when the command has --format json and it was asked for."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and _JSON in ctx.meta:
        return ctx.meta[_JSON]
    return main.asks_for_json(sys.argv[1:])  # outside a command (run()'s last line of defence)


def _echo_error(message: str, kind: str, code: int, as_json: bool | None = None):
    """One error on stderr: `error: …` (red on a terminal), or with --format json the record the
    web API answers with, {"error", "type", "caret"}, plus the exit code."""
    if _json_errors() if as_json is None else as_json:
        import json

        from .errors import error_body

        click.echo(json.dumps({**error_body(kind, message), "exit_code": code}, ensure_ascii=False), err=True)
    else:
        click.echo(f"{_style('error:', fg='red', bold=True)} {message}", err=True)


def _fail(problem, code: int = 2, kind: str = "UsageError"):
    """Report an error (an exception or a message) and exit; the library's argument names are
    shown as flags (wrt= → --wrt)."""
    from .errors import as_flags

    if isinstance(problem, BaseException):
        kind = type(problem).__name__
    _echo_error(as_flags(str(problem)), kind, code)
    sys.exit(code)


def _painted(line: str) -> str:
    """Verdicts in colour on a terminal (click drops the colour in a pipe, NO_COLOR everywhere)."""
    for word, colour in (("PASS", "green"), ("FAIL", "red"), ("correct", "green"), ("wrong", "red")):
        if word in line.split(":", 1)[0] + line[:40]:
            return line.replace(word, _style(word, fg=colour, bold=True), 1)
    return line


def split_assignments(values) -> dict:
    from .numeric import split_assignments as split

    return split(values)


def self_check(result, hessian: bool = False) -> dict:
    from .verification import self_check as run

    return run(result, hessian)


def backprop_numbers(*args, **kw):
    from .schedule import backprop_numbers as run

    return run(*args, **kw)


def _format_array(a) -> str:
    import numpy as np

    a = np.asarray(a)
    if a.shape == (1, 1):
        return f"{a[0, 0]:.6g}"
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    return np.array2string(a, precision=6, suppress_small=True, separator=", ").replace("\n", "\n  ")


_FORMAT_WORDS = {"text": "ASCII that matcalc reads back", "unicode": "Aᵀ, X⁻¹, ⊙", "latex": "LaTeX",
                 "numpy": "one NumPy expression", "json": "for programs, with errors as JSON on stderr",
                 "differential": "df = …", "dot": "Graphviz"}


def _format_option(choices, default: str = "text"):
    """--format/-f with a help line naming each choice."""
    words = "; ".join(f"{c}: {_FORMAT_WORDS[c]}" for c in choices)
    return click.option("--format", "-f", "fmt", type=click.Choice(choices), default=default, show_default=True,
                        help=f"The output ({words}).")


_OPTION = re.compile(r"^--?[A-Za-z][\w-]*(=.*)?$")


class _JsonUsageError(click.ClickException):
    """A usage error of click's (bad option, bad value) shown as the JSON error record."""

    def __init__(self, err: click.ClickException):
        super().__init__(err.format_message())
        self.exit_code, self.kind = err.exit_code, type(err).__name__

    def show(self, file=None):
        _echo_error(self.message, self.kind, self.exit_code, as_json=True)  # shown after the context closed


class _Group(click.Group):
    """The command group: arguments that look like negative numbers, NO_COLOR, JSON errors."""

    def parse_args(self, ctx, args):
        """An argument such as "-n/2 ln det S" or "-0.5" is an expression or a value, not an
        option: a leading space keeps click from reading it as one (matcalc ignores spaces)."""
        fixed = [" " + a if a.startswith("-") and a != "--" and not _OPTION.match(a) else a for a in args]
        return super().parse_args(ctx, fixed)

    def asks_for_json(self, args) -> bool:
        """Does this command line ask for --format json of a command that has it? Read from the raw
        arguments, since a usage error can stop click before it has parsed --format."""
        args = list(args)
        name = next((a for i, a in enumerate(args) if a in self.commands
                     and (i == 0 or args[i - 1] != "--input")), None)
        if name is None:
            return False
        fmt = next((p for p in self.commands[name].params if p.name == "fmt"), None)
        if fmt is None or "json" not in getattr(fmt.type, "choices", ()):
            return False
        after = args[args.index(name) + 1:]
        return any(a in ("--format=json", "-fjson") or (a in ("--format", "-f") and after[i + 1:i + 2] == ["json"])
                   for i, a in enumerate(after))

    def make_context(self, info_name, args, parent=None, **extra):
        if _no_color():
            extra["color"] = False  # click's own styled output (and every child context) too
        json_errors = self.asks_for_json(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as err:
            raise (_JsonUsageError(err) if json_errors else err) from None
        ctx.meta[_JSON] = json_errors
        return ctx

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            if ctx.meta.get(_JSON) and not isinstance(err, _JsonUsageError):
                raise _JsonUsageError(err) from None
            raise


@click.group(cls=_Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="matcalc-diff", prog_name="matcalc")
@click.option("--input", "input_kind", type=click.Choice(["auto", "text", "latex"]), default="auto",
              show_default=True, help="The notation of EXPRESSION: LaTeX is recognised by its backslashes.")
@click.pass_context
def main(ctx, input_kind):
    """matcalc: matrix differentials, gradients and Jacobians in textbook notation.

    EXPRESSION may be `-` (read it from standard input) or `@FILE` (read it from a file),
    and may be written in LaTeX (`\\operatorname{tr}(A X^{\\top})`, `\\ln\\det X`).
    """
    ctx.obj = {"input": input_kind}


def _expression(ctx, param, value):
    """The EXPRESSION argument: `-` is standard input, `@FILE` a file; LaTeX if asked for."""
    if value is None:
        return None
    text = value.strip()
    if text == "-":
        text = sys.stdin.read().strip()
    elif text.startswith("@") and len(text) > 1:
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read().strip()
        except OSError as err:
            raise click.BadParameter(f"cannot read {text[1:]}: {err.strerror}") from None
        except UnicodeDecodeError as err:
            raise click.BadParameter(f"cannot read {text[1:]}: it is not UTF-8 text (byte {err.start})") from None
    kind = (ctx.find_root().obj or {}).get("input", "auto")
    if kind == "latex":
        from .errors import MatcalcError
        from .latex_input import from_latex

        try:
            text = from_latex(text)
        except MatcalcError as err:
            raise click.BadParameter(str(err)) from None
    return text


def _decl_options(fn):
    fn = click.option("--dim", multiple=True, metavar="NAME=SIZE",
                      help="Sizes: X=3x4, X=n x m, w=5 (repeatable, or comma separated).")(fn)
    fn = click.option("--symmetric", multiple=True, metavar="NAMES", help="Symmetric matrices.")(fn)
    fn = click.option("--matrix", multiple=True, metavar="NAMES", help="Names that are matrices.")(fn)
    fn = click.option("--vector", multiple=True, metavar="NAMES", help="Names that are column vectors.")(fn)
    fn = click.option("--scalar", multiple=True, metavar="NAMES", help="Names that are scalars.")(fn)
    return fn


@main.command(epilog=EXAMPLES)
@click.argument("expression", callback=_expression)
@click.argument("assignments", nargs=-1)
@click.option("--wrt", "-w", metavar="NAMES", help="Variable(s): x, or W1,W2.")
@_format_option(FORMATS)
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
              help="Evaluate at a point: --at x=[1,2] A=[[1,2],[3,4]] lambda=0.5")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare the result with central finite differences at random points "
                   "(one line on stderr; exit code 1 if it fails).")
@click.option("--vec", is_flag=True, help="For a matrix-valued F: the Jacobian of vec F in Kronecker form.")
@click.option("--steps", is_flag=True, help="Show the derivation step by step, each step with its rule.")
@_decl_options
def diff(expression, assignments, wrt, fmt, at, check, vec, steps, scalar, vector, matrix, symmetric, dim):
    """Differentiate EXPRESSION: gradient, Jacobian, or the differential."""
    from . import api
    from .decls import Decls
    from .errors import MatcalcError

    try:
        stray = [a for a in assignments if "=" not in a]
        if stray:
            raise MatcalcError(
                f"unexpected argument {stray[0]!r}: quote the expression, e.g. matcalc diff \"x^T A x\" --wrt x"
            )
        decls = Decls.build(scalar, vector, matrix, symmetric, dim)
        result = api.diff(expression, wrt, decls, vec=vec)
        values = split_assignments(list(at) + list(assignments)) if (at or assignments) else None
        numbers = result.evaluate(values) if values else None
        report = self_check(result) if check else None
    except MatcalcError as err:
        _fail(err)
    except RecursionError:
        _fail("the expression is too deeply nested", kind="ResultTooLarge")

    if steps:
        try:
            derivations = [result.derivation(dv.name) for dv in result.derivatives]
        except MatcalcError as err:
            _fail(err)
        _print_steps(derivations, fmt)
    elif fmt == "json":
        import json

        data = result.to_json()
        if numbers is not None:
            items = data if isinstance(data, list) else [data]
            for item in items:
                if item["wrt"] in numbers:
                    item["value"] = numbers[item["wrt"]].tolist()
        if report is not None:
            items = data if isinstance(data, list) else [data]
            for item in items:
                item["check"] = report
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(result.format(fmt))
        if numbers is not None:
            for dv in result.derivatives:
                if dv.name in numbers:
                    click.echo(f"{dv.lhs('unicode' if fmt != 'text' else 'text')} at the point = {_format_array(numbers[dv.name])}")
    _finish(result.notes, report, "the derived result", fmt)


def _finish(notes, report, what: str, fmt: str = "text"):
    """Notes and the self-check line on stderr; a failed self-check is loud and exits 1."""
    if fmt != "json":
        from .errors import as_flags

        for note in notes:
            click.echo(f"note: {as_flags(note)}", err=True)
        if report is not None:
            click.echo(_painted(report["summary"]), err=True)
    if report is not None and not report["passed"]:
        message = (f"{what} does not match finite differences; this is a bug in matcalc, "
                   "please report it with the input")
        if fmt == "json":
            _echo_error(message, "CheckFailed", 1)
        else:
            click.echo(f"WARNING: {message}", err=True)
        sys.exit(1)


def _print_grades(rows, counts, fmt: str):
    """A table of verdicts and a summary line, or the same as JSON."""
    if fmt == "json":
        import json

        click.echo(json.dumps({"results": rows, "summary": counts}, indent=2, ensure_ascii=False))
        return
    width = max([len(r["id"]) for r in rows] + [2])
    click.echo(f"{'id':<{width}}  {'verdict':<8} {'diagnosis':<10} reason")
    for r in rows:
        reason = r["reason"] if len(r["reason"]) <= 90 else r["reason"][:87] + "..."
        click.echo(f"{r['id']:<{width}}  {r['verdict']:<8} {r['diagnosis'] or '-':<10} {reason}")
    click.echo(f"{len(rows)} records: {counts['correct']} correct, {counts['wrong']} wrong, "
               f"{counts['error']} could not be checked")


def _print_steps(derivations, fmt: str):
    """The derivations, one per variable; JSON is a list of {wrt, steps}."""
    if fmt == "json":
        import json

        data = [dv.to_json() for dv in derivations]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False))
        return
    shown = fmt if fmt in ("text", "unicode", "latex") else "text"
    click.echo("\n\n".join(dv.format(shown) for dv in derivations))


CHECK_EXAMPLES = """
\b
Examples:
  matcalc check "x^T A x" --wrt x --claim "2 A x"
  matcalc check "det X" --wrt X --claim "det(X) inv(X)^T"
  matcalc check "X^-1" --wrt X --claim "-X^-1 dX X^-1"
  matcalc check --file answers.jsonl --format json
\b
A record of --file (JSON lines, a JSON list, CSV with a header, or YAML) has the keys
id, expression, wrt, claim and optionally scalar, vector, matrix, symmetric, dim.
"""


@main.command(epilog=CHECK_EXAMPLES)
@click.argument("expression", required=False, callback=_expression)
@click.option("--wrt", "-w", metavar="NAME", help="The variable.")
@click.option("--claim", "-c", metavar="ANSWER", help="The claimed gradient, Jacobian or differential.")
@click.option("--file", "file_", type=click.Path(dir_okay=False), help="Grade many records (batch).")
@_format_option(["text", "unicode", "json"])
@click.option("--jobs", "-j", type=int, default=0, help="Worker processes for --file (0: one per core).")
@click.option("--seed", type=int, default=0, help="Seed of the random points.")
@_decl_options
def check(expression, wrt, claim, file_, fmt, jobs, seed, scalar, vector, matrix, symmetric, dim):
    """Is CLAIM the derivative of EXPRESSION? Exit 0 correct, 1 wrong, 2 bad input."""
    from .errors import MatcalcError

    if file_:
        from .grading import grade_file

        try:
            rows, counts = grade_file(file_, jobs, seed)
        except MatcalcError as err:
            _fail(err)
        _print_grades(rows, counts, fmt)
        sys.exit(0 if counts["correct"] == len(rows) else 1)
    if not expression or not wrt or claim is None:
        _fail('check needs EXPRESSION, --wrt and --claim, e.g. matcalc check "x^T A x" --wrt x --claim "2 A x"')
    from .checking import check as run_check
    from .decls import Decls

    try:
        decls = Decls.build(scalar, vector, matrix, symmetric, dim)
        report = run_check(expression, wrt, claim, decls, seed=seed)
    except MatcalcError as err:
        _fail(err)
    text = report.format(fmt)
    click.echo(_painted(text) if fmt != "json" else text)
    sys.exit(0 if report else 1)


@main.command(epilog=EXAMPLES)
@click.argument("expression", callback=_expression)
@click.option("--wrt", "-w", metavar="NAMES", help="Variable(s).")
@click.option("--points", type=int, default=3, show_default=True, help="Random points.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random points and directions.")
@_decl_options
def verify(expression, wrt, points, seed, scalar, vector, matrix, symmetric, dim):
    """Derive, then compare with central finite differences along random directions."""
    from . import api
    from .decls import Decls
    from .errors import MatcalcError
    from .numeric import NoValidPoint
    from .verification import verify as run_verify

    try:
        result = api.diff(expression, wrt, Decls.build(scalar, vector, matrix, symmetric, dim))
        report = run_verify(result, points=points, seed=seed)
    except MatcalcError as err:
        _fail(err)
    except NoValidPoint:
        _fail("could not find random points where the expression is defined", kind="NoValidPoint")
    for dv in result.derivatives:
        click.echo(f"{dv.lhs('text')} = {dv.notation('text')}")
    for i, c in enumerate(report.checks, 1):
        click.echo(f"  {c.variable}: direction {i}, relative error {c.error:.1e}")
    click.echo(_painted(report.summary()))
    sys.exit(0 if report.passed else 1)


@main.command(epilog="""
\b
Examples:
  matcalc hessian "x^T A x" --wrt x
  matcalc hessian "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w" --wrt w
  matcalc hessian "ln det X" --wrt X            (the bilinear form d²f)
  matcalc hessian "ln det X" --wrt X --vec      (the n²×n² Hessian, Kronecker form)
  matcalc hessian "x^T A y" --wrt x,y           (the blocks)
""")
@click.argument("expression", callback=_expression)
@click.option("--wrt", "-w", metavar="NAMES", help="Variable(s): x, or x,y for the blocks.")
@_format_option(FORMATS)
@click.option("--vec", is_flag=True, help="Matrix variables: the Hessian of vec X (Kronecker form).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare with finite differences of the gradient (one line on stderr).")
@click.option("--steps", is_flag=True, help="Show the derivation step by step.")
@click.option("--classify", is_flag=True, help="Minimum / maximum / saddle: the sign of H, proved or sampled.")
@click.option("--positive", multiple=True, metavar="NAMES", help="Scalars known to be > 0 (for --classify).")
@_decl_options
def hessian(expression, wrt, fmt, vec, check, steps, classify, positive, scalar, vector, matrix, symmetric, dim):
    """Second derivative of a scalar EXPRESSION: Hessian, blocks, or d²f."""
    from .decls import Decls
    from .errors import MatcalcError
    from .second_order import hessian as run_hessian

    try:
        result = run_hessian(expression, wrt, Decls.build(scalar, vector, matrix, symmetric, dim), vec=vec)
        report = self_check(result, hessian=True) if check else None
        text = result.format(fmt)
    except MatcalcError as err:
        _fail(err)
    if steps:
        try:
            derivations = [result.derivation(n) for n in result.wrt]
        except MatcalcError as err:
            _fail(err)
        _print_steps(derivations, fmt)
    else:
        if fmt == "json" and report is not None:
            import json

            data = result.to_json()
            data["check"] = report
            text = json.dumps(data, indent=2, ensure_ascii=False)
        click.echo(text)
    if classify:
        from .classify import classify_hessian

        click.echo("\n".join(classify_hessian(result, positive).lines()))
    _finish(result.notes, report, "the Hessian", fmt)


@main.command(epilog="""
\b
Examples:
  matcalc solve "(y - X w)^T (y - X w) + lambda w^T w" --wrt w --positive lambda
  matcalc solve "-n/2 ln det S - 1/2 tr(S^-1 M)" --wrt S --symmetric S,M --scalar n
  matcalc solve "tr((X - A)^T (X - A))" --wrt X --symmetric X      (the nearest symmetric matrix)
  matcalc solve "(y - X w)^T (y - X w)" --wrt w --gd               (the gradient-descent step too)
  matcalc solve "(y - w x)^T (y - w x)" --wrt w --scalar w --at x=[1,2] y=[2,3]   (w = 1.6)
""")
@click.argument("expression", callback=_expression)
@click.argument("assignments", nargs=-1)
@click.option("--wrt", "-w", metavar="NAMES", help="The variable(s): w, or m,S for a joint solution.")
@_format_option(["text", "unicode", "latex", "json"], "unicode")
@click.option("--positive", multiple=True, metavar="NAMES", help="Scalars known to be > 0 (e.g. lambda).")
@click.option("--gd", is_flag=True, help="Also print the gradient-descent step w ← w − γ ∇f(w).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="∇f ≈ 0 at the solution on random data; a numerical optimiser agrees.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random data of the check and the second-order test.")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
              help="The optimum in numbers at these values: --at x=[1,2] y=[2,3]")
@_decl_options
def solve(expression, assignments, wrt, fmt, positive, gd, check, seed, at, scalar, vector, matrix, symmetric, dim):
    """Stationary points of EXPRESSION from ∇f = 0, and the second-order test."""
    from .decls import Decls
    from .errors import MatcalcError
    from .optimum import NoSolution, NotSolvable, gd_step, solve as run_solve

    try:
        decls = Decls.build(scalar, vector, matrix, symmetric, dim)
        step = gd_step(expression, wrt, decls) if gd else []
        try:
            sol = run_solve(expression, wrt, decls, positive=list(positive), check=check, seed=seed)
        except NotSolvable as err:
            if isinstance(err, NoSolution):
                raise
            if not gd:
                raise MatcalcError(f"{err} (--gd prints its step)") from None
            click.echo("gradient-descent step:\n  " + "\n  ".join(step))
            click.echo(f"note: no closed form: {err}", err=True)
            return
        numbers = sol.at(split_assignments(list(at) + list(assignments))) if (at or assignments) else None
    except MatcalcError as err:
        _fail(err)
    if fmt == "json":
        import json

        data = sol.to_json()
        if gd:
            data["gd_step"] = step
        if numbers is not None:
            data["at"] = {k: v.tolist() for k, v in numbers.items()}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(sol.format(fmt))
        if numbers is not None:
            click.echo("at the given values:")
            click.echo("\n".join(f"  {k} = {_format_array(v)}" for k, v in numbers.items()))
        if gd:
            click.echo("gradient-descent step:\n  " + "\n  ".join(step))
    report, notes = None, list(sol.notes)
    if check and sol.checks:
        report, notes = _solve_report(sol.checks, notes)
    _finish(notes, report, "the solution", fmt)


def _solve_report(c: dict, notes: list):
    """The check line of `solve`. Only ∇f ≠ 0 at the returned point is a failure (a bug); the
    optimiser is secondary evidence, reported, never blamed on matcalc when ∇f ≈ 0."""
    if c.get("gradient_residual") is None:
        why = ("the stationary point is outside f's domain on every random instance (see the second-order test)"
               if c.get("outside_domain") else "no random data where f is defined")
        return None, notes + [f"check: not run: {why}"]
    passed = bool(c.get("gradient_zero"))
    parts = [f"∇f at the solution on random data: max relative residual {c['gradient_residual']:.1e}"]
    if "optimiser_distance" in c:
        parts.append(f"a numerical optimiser (BFGS on finite differences) lands at distance "
                     f"{c['optimiser_distance']:.1e}")
    if c.get("optimiser_note"):
        notes = notes + [c["optimiser_note"]]
    elif passed and c.get("optimiser_agrees") is False:
        notes = notes + [f"a numerical optimiser found a better value of f ({c['optimiser_gain']:.1e} better) at "
                         f"distance {c['optimiser_distance']:.1e}: the stationary point is not the global optimum "
                         "on this instance"]
    return {"passed": passed, "summary": ("check: PASS, " if passed else "check: FAIL, ") + "; ".join(parts)}, notes


@main.command(epilog="""
\b
Examples:
  matcalc backprop "1/2 (y - W3 sigmoid(W2 sigmoid(W1 x)))^T (y - W3 sigmoid(W2 sigmoid(W1 x)))" --wrt W1,W2,W3
  matcalc backprop "-y^T log(softmax(W2 tanh(W1 x + b1)))" --wrt W1,b1,W2
  matcalc backprop "(y - relu(X W1) W2)^T (y - relu(X W1) W2)" --wrt W1,W2 --vector W2 \\
      --at X=[[1,2]] y=0 W1=[[1,-1],[0.5,0]] W2=[0.5,1]
  matcalc backprop "1/2 (y - sigmoid(w3^T sigmoid(W2 sigmoid(W1 x))))^2" --wrt W1,W2,w3 --scalar y \\
      --dim W1=2x2,W2=2x2,w3=2 --init zeros --data "[[1,1,1],[5,2,0]]" --order 2,1 --iterations 2 --lr 1
  matcalc backprop --layer relu --layer-input "[2,-1]" --upstream "[-1,-2]"
  matcalc backprop "Q = X W_q; K = X W_k; V = X W_v; A = softmax(Q K^T / sqrt(d)); L = sum(C .* (A V))" \\
      --wrt W_q,W_k,W_v --scalar d
  matcalc backprop "a_t = W h_{t-1} + U x_t + b; h_t = tanh(a_t); L = 1/2 (y - V h_T)^T (y - V h_T)" \\
      --wrt W,U,b,V --unroll 3
""")
@click.argument("expression", required=False, callback=_expression)
@click.argument("assignments", nargs=-1)
@click.option("--wrt", "-w", metavar="NAMES", help="The weights: W1,W2,W3.")
@_format_option(["text", "unicode", "latex", "json"])
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE", help="Numbers: weights and inputs.")
@click.option("--data", metavar="JSON", help='Observations for SGD: [[x1, x2, y], …] or [{"x": …, "y": …}, …].')
@click.option("--lr", type=float, help="Learning rate η of the steps (0.1). With --at and no --data: steps on "
              "that one observation.")
@click.option("--iterations", "n_steps", type=int, metavar="N", help="Optimizer steps to run (1).")
@click.option("--steps", "old_steps", type=int, hidden=True, callback=lambda c, p, v: _renamed(v, "--steps", "--iterations"),
              help="The old spelling of --iterations (--steps shows the derivation in diff and hessian).")
@click.option("--order", metavar="I,J,…", help="The order of the observations (1-based), e.g. 2,1.")
@click.option("--optimizer", type=click.Choice(["gd", "sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]),
              help="The update rule of the steps (sgd).")
@click.option("--batch", metavar="full|K", help="Observations per step: full (GD), 1 (SGD), K (mini-batch). "
              "Default: full for gd, 1 otherwise.")
@click.option("--momentum", type=float, help="α of momentum and Nesterov (0.9).")
@click.option("--alpha", type=float, help="ρ, RMSprop's decay of the mean square (0.99).")
@click.option("--beta1", type=float, help="Adam's β1 (0.9).")
@click.option("--beta2", type=float, help="Adam's β2 (0.999).")
@click.option("--eps", type=float, help="ε of RMSprop, AdaGrad, Adam (1e-8).")
@click.option("--convention", type=click.Choice(["course", "torch"]), default="course", show_default=True,
              help="Where the course and torch.optim differ (Nesterov; ε in RMSprop and AdaGrad).")
@click.option("--init", type=click.Choice(["zeros"]), help="Weights not given with --at start at 0 (sizes from --dim).")
@click.option("--check/--no-check", default=True, show_default=True, help="Compare with finite differences.")
@click.option("--unroll", type=click.IntRange(min=1), metavar="T",
              help="Unroll a recurrence in t (h_t = tanh(W h_{t-1} + U x_t + b); L = …) for T steps.")
@click.option("--layer", help="One layer backwards: relu, sigmoid, tanh, softmax, linear, …")
@click.option("--layer-input", "layer_input", metavar="VALUE", help="The layer's input, with --layer.")
@click.option("--input", "old_input", metavar="VALUE", hidden=True,
              callback=lambda c, p, v: _renamed(v, "--input", "--layer-input"),
              help="The old spelling of --layer-input (`matcalc --input` is the notation of EXPRESSION).")
@click.option("--upstream", metavar="VALUE", help="The gradient that arrives at the layer, with --layer.")
@click.option("--weights", "layer_weights", metavar="VALUE", help="W of a linear layer (x ↦ x W).")
@_decl_options
def backprop(expression, assignments, wrt, fmt, at, data, lr, n_steps, old_steps, order, optimizer, batch, momentum,
             alpha, beta1, beta2, eps, convention, init, check, unroll, layer, layer_input, old_input, upstream,
             layer_weights, scalar, vector, matrix, symmetric, dim):
    """Backprop of a loss: forward equations, the deltas, the weight gradients; with numbers."""
    from .errors import MatcalcError

    n_steps = old_steps if n_steps is None else n_steps
    layer_input = old_input if layer_input is None else layer_input
    try:
        if layer:
            _layer_backward(layer, layer_input, upstream, layer_weights, fmt)
            return
        if not expression:
            raise MatcalcError("backprop needs a loss expression (or --layer for one layer)")
        from .schedule import backprop as build, verify_schedule
        from .decls import Decls

        sched = build(expression, wrt, Decls.build(scalar, vector, matrix, symmetric, dim), unroll=unroll)
        report = None
        if check:
            from .abstract import AbstractFunctionError

            try:
                rep = verify_schedule(sched)
                report = {"passed": rep.passed, "summary": rep.summary()}
            except AbstractFunctionError:
                report = {"passed": True, "skipped": True,
                          "summary": "check: skipped (an abstract function such as f(…) has no numbers)"}
            except Exception as err:  # noqa: BLE001 - the check is advisory where no point is found
                report = {"passed": True, "skipped": True, "summary": f"check: skipped ({err})"}
        values = split_assignments(list(at) + list(assignments)) if (at or assignments) else {}
        from .optimizers import Optimizer

        stepping = [flag for flag, v in (("--lr", lr), ("--iterations", n_steps), ("--optimizer", optimizer),
                                         ("--batch", batch), ("--order", order), ("--momentum", momentum),
                                         ("--alpha", alpha), ("--beta1", beta1), ("--beta2", beta2),
                                         ("--eps", eps)) if v is not None]
        opt = Optimizer(optimizer or "sgd", convention, lr=0.1 if lr is None else lr, momentum=momentum,
                        alpha=alpha, beta1=beta1, beta2=beta2, eps=eps)
        numbers = backprop_numbers(sched, values, data, opt, 1 if n_steps is None else n_steps, order, init,
                                    batch, stepping)
    except MatcalcError as err:
        _fail(err)
    if fmt == "json":
        import json

        out = sched.to_json()
        if numbers is not None:
            out["numbers"] = numbers
        if report is not None:
            out["check"] = report
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        click.echo(sched.format(fmt))
        if numbers is not None:
            click.echo(_numbers_text(numbers))
    _finish(sched.notes, report, "the backprop schedule", fmt)


def _renamed(value, old: str, new: str):
    """An old option spelling still works, with a note on stderr naming the new one."""
    if value is not None:
        click.echo(f"note: {old} of backprop is deprecated and will be removed: use {new}", err=True)
    return value


def _round(v):
    if isinstance(v, list):
        return [_round(x) for x in v]
    return float(f"{v:.6g}")


def _numbers_text(numbers) -> str:
    def fmt_block(p):
        p = {k: ({n: _round(x) for n, x in v.items()} if isinstance(v, dict) else v) for k, v in p.items()}
        lines = ["  forward:"]
        lines += [f"    {k} = {v}" for k, v in p["forward"].items()]
        lines.append(f"    L = {p['loss']:.6g}")
        lines.append("  backward:")
        lines += [f"    {k} = {v}" for k, v in p["backward"].items()]
        lines.append("  gradients:")
        lines += [f"    dL/d{k} = {v}" for k, v in p["gradients"].items()]
        return lines

    if "pass" in numbers:
        return "\n".join(["numbers:"] + fmt_block(numbers["pass"]))
    out = [f"optimizer: {numbers['optimizer']['description']}"]
    for st in numbers["steps"]:
        out.append(f"{st['title']} step {st['step']} ({st['batch']}):")
        if "forward" in st:
            out += fmt_block({k: st[k] for k in ("forward", "loss", "backward", "gradients")})
        else:
            out.append(f"  L (mean over the batch) = {st['loss']:.6g}")
            out += [f"  dL/d{k} (mean) = {_round(v)}" for k, v in st["gradients"].items()]
        for k, state in st["state"].items():
            if state:
                out.append(f"  state of {k}: " + ", ".join(f"{n} = {_round(v)}" for n, v in state.items()))
        out.append("  updated weights:")
        out += [f"    {k} = {_round(v)}" for k, v in st["updated"].items()]
    return "\n".join(out)


def _layer_backward(layer, layer_input, upstream, layer_weights, fmt):
    from .schedule import _plain, layer_backward
    from .errors import MatcalcError
    from .numeric import given_point, parse_value, require_finite

    if layer_input is None or upstream is None:
        raise MatcalcError("--layer needs --layer-input and --upstream values")
    w = parse_value(layer_weights) if layer_weights else None
    with given_point():
        out, down, formula = layer_backward(layer, parse_value(layer_input), parse_value(upstream), w)
    require_finite({"output": out, "downstream": down})
    if fmt == "json":
        import json

        click.echo(json.dumps({"layer": layer, "output": _plain(out), "downstream": _plain(down),
                               "formula": formula}, ensure_ascii=False))
    else:
        click.echo(f"{formula}\noutput = {_plain(out)}\ndownstream = {_plain(down)}")


@main.command(epilog="""
\b
Examples:
  matcalc graph "(2x + y) z" --scalar x,y,z --at x=10 y=-2 z=-4
  matcalc graph "x^2 + x y + (x + y)^2" --scalar x,y --format dot
""")
@click.argument("expression", callback=_expression)
@click.argument("assignments", nargs=-1)
@_format_option(["text", "unicode", "dot", "json"])
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE", help="Numbers on the nodes.")
@_decl_options
def graph(expression, assignments, fmt, at, scalar, vector, matrix, symmetric, dim):
    """The computational graph of a scalar EXPRESSION: local derivatives and path sums."""
    from .decls import Decls
    from .errors import MatcalcError
    from .compgraph import graph as build

    try:
        values = split_assignments(list(at) + list(assignments)) if (at or assignments) else None
        g = build(expression, Decls.build(scalar, vector, matrix, symmetric, dim), at=values)
        text = g.format(fmt)
    except MatcalcError as err:
        _fail(err)
    click.echo(text)


@main.command(epilog="""
\b
Examples:
  matcalc codegen "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w" --wrt w > logreg.py
  matcalc codegen "(y - X w)^T (y - X w)" --wrt w --backend torch
  matcalc codegen "a^T X A X a + ln det X" --wrt X --check -o f.py && python f.py

The function's arguments are the --wrt variables first, then the other variables in
their order of appearance; it returns (f, the gradients in --wrt order) and, with
--hessian, the Hessian blocks H[a, b] for a, b in --wrt order.
""")
@click.argument("expression", callback=_expression)
@click.option("--wrt", "-w", metavar="NAMES", help="Variable(s) of the gradients.")
@click.option("--backend", type=click.Choice(["numpy", "torch", "jax"]), default="numpy", show_default=True,
              help="The array library of the generated code.")
@click.option("--name", help="The function's name [default: value_and_grad; value_grad_hess with --hessian].")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the module to a file.")
@click.option("--check", "check", is_flag=True,
              help="Add a __main__ block that checks the gradients by finite differences at "
                   "random data (python module.py exits 1 if one is off).")
@click.option("--hessian", is_flag=True,
              help="Return the Hessian blocks too, computed with the gradients (a matrix "
                   "variable: the Hessian of its vec).")
@_decl_options
def codegen(expression, wrt, backend, name, output, check, hessian, scalar, vector, matrix, symmetric, dim):
    """A Python module with one function returning f and its gradients (NumPy, PyTorch or JAX)."""
    from .code_generation import generate
    from .decls import Decls
    from .errors import MatcalcError

    import keyword

    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        _fail(f"--name {name!r} is not a Python identifier")
    try:
        source = generate(expression, wrt, Decls.build(scalar, vector, matrix, symmetric, dim),
                          backend=backend, name=name, check=check, hessian=hessian)
    except MatcalcError as err:
        _fail(err)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(source)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(source, nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the browser.")
@click.option("--jobs", "-j", type=int, default=0, help="Derivation processes (0: one per core).")
@click.option("--time-limit", type=float, default=10.0, show_default=True, help="Seconds per request.")
def serve(host, port, open_browser, jobs, time_limit):
    """A local web page and HTTP JSON API (needs the web extra: pip install "matcalc-diff[web]")."""
    from . import web

    if not web.available():
        _fail(web.MISSING)
    web.serve(host, port, open_browser, jobs or None, time_limit)


def run():
    """Console entry point: user errors exit 2, anything unexpected is reported as a bug (3)."""
    from .errors import MatcalcError

    try:
        # one program name for `matcalc` and `python -m matcalc`: usage lines, and the shell
        # completion variable _MATCALC_COMPLETE
        main(standalone_mode=True, prog_name="matcalc")
    except SystemExit:
        raise
    except MatcalcError as err:  # a user error raised outside a command's own handling
        _fail(err)
    except Exception as err:  # noqa: BLE001 - the last line of defence
        _echo_error(f"internal error (a bug in matcalc, please report it with the input): "
                    f"{type(err).__name__}: {err}\ninput: {' '.join(sys.argv[1:])}", "InternalError", 3)
        sys.exit(3)


if __name__ == "__main__":
    run()
