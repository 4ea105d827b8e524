"""Command-line conventions: -V, NO_COLOR, JSON errors, exit codes at points outside the
domain, one meaning per option spelling, help for every option, shell completion, and the
packaging (py.typed, data files, the optional YAML extra)."""
import fnmatch
import json
import os
import pathlib
import subprocess
import sys
from importlib.metadata import version

import click
import pytest
from click.testing import CliRunner

import matcalc
from matcalc import cli
from matcalc.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent


def invoke(args, **kw):
    return CliRunner().invoke(main, list(args), **kw)


def commands():
    """(name, command) of every subcommand."""
    return sorted(main.commands.items())


def options(cmd, hidden=True):
    ctx = click.Context(cmd, info_name=cmd.name)
    return [p for p in cmd.get_params(ctx) if isinstance(p, click.Option) and (hidden or not p.hidden)]


# ---------------------------------------------------------------- -V, help, one meaning per spelling


def test_dash_V_and_version_print_the_installed_version():
    short, long = invoke(["-V"]), invoke(["--version"])
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout and version("matcalc-diff") in short.stdout


def test_every_option_of_every_command_has_help():
    missing = [f"matcalc {name} {'/'.join(opt.opts)}" for name, cmd in [("", main)] + commands()
               for opt in options(cmd) if not (opt.help or "").strip()]
    assert not missing, f"options without help text: {missing}"


def test_an_option_spelling_means_one_thing_in_every_command():
    """The same spelling has the same kind (a flag, or a value of one type) wherever it appears,
    and the group's options (--input: the notation) are not reused by a command."""
    seen = {}
    for name, cmd in commands():
        for opt in options(cmd, hidden=False):
            kind = (opt.is_flag, type(opt.type).__name__)
            for spelling in opt.opts:
                seen.setdefault(spelling, {}).setdefault(kind, []).append(name)
    clashes = {s: kinds for s, kinds in seen.items() if len(kinds) > 1}
    assert not clashes, f"one spelling, different meanings: {clashes}"
    group = {s for opt in options(main) for s in opt.opts} - {"--help", "-h"}
    assert not group & set(seen), f"group options reused by a command: {group & set(seen)}"


BACKPROP_STEPS = ["backprop", "(y - w x)^2", "--wrt", "w", "--scalar", "w,x,y", "--data", "[[1,2],[2,3]]",
                  "--at", "w=0", "--lr", "0.1", "--no-check", "--format", "json"]
LAYER = ["backprop", "--layer", "relu", "--upstream", "[-1,-2]"]


@pytest.mark.parametrize("new, old", [
    (BACKPROP_STEPS + ["--iterations", "2"], BACKPROP_STEPS + ["--steps", "2"]),
    (LAYER + ["--layer-input", "[2,-1]"], LAYER + ["--input", "[2,-1]"]),
])
def test_renamed_backprop_options_keep_the_old_spelling_with_a_note(new, old):
    now, before = invoke(new), invoke(old)
    assert now.exit_code == before.exit_code == 0
    assert now.stdout == before.stdout
    flag_old, flag_new = old[-2], new[-2]
    assert "deprecated" not in now.stderr
    assert "deprecated" in before.stderr and flag_old in before.stderr and flag_new in before.stderr
    help_text = invoke(["backprop", "--help"]).stdout
    assert flag_new in help_text and f"{flag_old} " not in help_text


def test_sgd_numbers_under_the_new_spelling_match_finite_differences():
    """The numbers behind the renamed option: each step's dL/dw against a central difference of L."""
    out = json.loads(invoke(BACKPROP_STEPS + ["--iterations", "2", "--optimizer", "sgd"]).stdout)["numbers"]
    data, w = [(1.0, 2.0), (2.0, 3.0)], 0.0  # observation = [x, y]
    for step, (x, y) in zip(out["steps"], data):
        loss = lambda v: (y - v * x) ** 2  # noqa: E731
        fd = (loss(w + 1e-6) - loss(w - 1e-6)) / 2e-6
        assert step["gradients"]["w"] == pytest.approx(fd, rel=1e-6)
        w = w - 0.1 * fd
        assert step["updated"]["w"] == pytest.approx(w, rel=1e-6)


# ---------------------------------------------------------------- NO_COLOR


def test_no_color_drops_ansi_codes_on_a_terminal():
    ansi = "\x1b["
    for args in (["diff", "x^T +", "--wrt", "x"], ["verify", "x^T x", "--wrt", "x"]):
        coloured = invoke(args, color=True, env={"NO_COLOR": None})
        assert ansi in coloured.output  # what a terminal gets
        assert ansi not in invoke(args, color=True, env={"NO_COLOR": "1"}).output
        assert ansi in invoke(args, color=True, env={"NO_COLOR": ""}).output  # empty: not set (no-color.org)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_no_color_holds_in_a_real_terminal():
    """The installed command on a pseudo-terminal: red `error:` unless NO_COLOR is set."""
    def on_a_terminal(no_color):
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        if no_color:
            env["NO_COLOR"] = "1"
        master, slave = os.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "matcalc", "diff", "x^T +", "--wrt", "x"],
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        assert proc.wait(timeout=60) == 2
        return out.decode()

    assert "\x1b[" in on_a_terminal(False)
    plain = on_a_terminal(True)
    assert "\x1b[" not in plain and "error: syntax error" in plain


# ---------------------------------------------------------------- --format json: errors as JSON


# a bad input for every command that has --format json: a syntax error (with a caret)
BAD_INPUT = {
    "diff": ["diff", "x^T + )", "--wrt", "x"],
    "hessian": ["hessian", "x^T + )", "--wrt", "x"],
    "check": ["check", "x^T + )", "--wrt", "x", "--claim", "2 x"],
    "solve": ["solve", "x^T + )", "--wrt", "x"],
    "backprop": ["backprop", "x^T + )", "--wrt", "x"],
    "graph": ["graph", "x^T + )", "--scalar", "x"],
}


def json_error(result) -> dict:
    """The error record on stderr: one JSON object; nothing on stdout."""
    assert result.stdout == ""
    record = json.loads(result.stderr)
    assert set(record) == {"error", "type", "caret", "exit_code"}
    assert record["exit_code"] == result.exit_code
    return record


def test_every_command_with_json_output_is_covered():
    with_json = {name for name, cmd in commands()
                 for opt in options(cmd) if opt.name == "fmt" and "json" in opt.type.choices}
    assert with_json == set(BAD_INPUT)


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_json_errors_keep_the_exit_code_and_the_caret(name):
    text = invoke(BAD_INPUT[name])
    assert text.exit_code == 2 and text.stderr.startswith("error: syntax error")
    for spelling in (["--format", "json"], ["--format=json"], ["-f", "json"]):
        record = json_error(invoke(BAD_INPUT[name] + spelling))
        assert record["exit_code"] == 2 and record["type"] == "ParseError"
        assert record["error"] == text.stderr[len("error: "):].rstrip("\n")
        assert record["caret"]["text"][record["caret"]["column"]] == ")"


def test_json_usage_errors_of_click_too():
    record = json_error(invoke(["diff", "x^T x", "--wrt", "x", "--format", "json", "--bogus"]))
    assert record == {"error": "No such option '--bogus'.", "type": "NoSuchOption", "caret": None, "exit_code": 2}
    record = json_error(invoke(["check", "x^T x", "--format", "json", "--seed", "many"]))
    assert record["type"] == "BadParameter" and "many" in record["error"]
    # a command without --format json keeps click's usage message
    plain = invoke(["codegen", "x^T x", "--wrt", "x", "--format", "json"])
    assert plain.exit_code == 2 and "Usage:" in plain.stderr


def test_json_library_messages_name_flags():
    record = json_error(invoke(["diff", "x^T A y", "--format", "json"]))
    assert record["exit_code"] == 2 and "--wrt A" in record["error"] and "wrt=" not in record["error"]


def test_json_failed_self_check_exits_1(monkeypatch):
    monkeypatch.setattr(cli, "self_check", lambda result, hessian=False: {"passed": False, "summary": "check: FAIL"})
    result = invoke(["diff", "x^T x", "--wrt", "x", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["check"]["passed"] is False
    record = json.loads(result.stderr)
    assert record["type"] == "CheckFailed" and record["exit_code"] == 1


def test_json_internal_errors_exit_3(monkeypatch, capsys):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(matcalc.api, "diff", broken)
    monkeypatch.setattr(sys, "argv", ["matcalc", "diff", "x^T x", "--wrt", "x", "--format", "json"])
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    assert exit_info.value.code == 3
    captured = capsys.readouterr()
    record = json.loads(captured.err)
    assert record["exit_code"] == 3 and record["type"] == "InternalError" and "boom" in record["error"]


# ---------------------------------------------------------------- points outside the domain


OUTSIDE = [
    ["diff", "ln det X", "--wrt", "X", "--at", "X=[[1,2],[2,4]]", "--no-check"],
    ["diff", "log(x) + x", "--scalar", "x", "--wrt", "x", "--at", "x=-1", "--no-check"],
    ["backprop", "ln det W", "--wrt", "W", "--at", "W=[[1,1],[1,1]]", "--no-check"],
    ["backprop", "1/2 (y - log(W x))^T (y - log(W x))", "--wrt", "W", "--at", "W=[[1,0],[0,1]]", "x=[-1,2]",
     "y=[1,1]", "--no-check"],
    ["backprop", "(y - log(w x))^2", "--wrt", "w", "--scalar", "w,x,y", "--data", "[[-1,2],[2,3]]", "--at", "w=1",
     "--iterations", "2", "--no-check"],
    ["backprop", "--layer", "relu", "--layer-input", "[1e400,-1]", "--upstream", "[-1,-2]"],
    ["graph", "log(x) y", "--scalar", "x,y", "--at", "x=0", "y=2"],
    ["graph", "sqrt(x)", "--scalar", "x", "--at", "x=0"],
    ["solve", "(y - X w)^T (y - X w)", "--wrt", "w", "--at", "X=[[1,1],[1,1]]", "y=[1,2]", "--no-check"],
    ["solve", "-n/2 ln det S - 1/2 tr(S^-1 M)", "--wrt", "S", "--symmetric", "S,M", "--scalar", "n",
     "--at", "M=[[0,0],[0,0]]", "n=2", "--no-check"],
]


def test_every_command_that_takes_numbers_is_covered():
    """hessian, check, verify and codegen take no point (they sample their own, in the domain)."""
    with_at = {name for name, cmd in commands() for opt in options(cmd) if opt.name == "at"}
    assert with_at == {args[0] for args in OUTSIDE}


@pytest.mark.parametrize("args", OUTSIDE, ids=lambda a: " ".join(a[:2]))
def test_a_point_outside_the_domain_exits_2(args):
    text = invoke(args)
    assert text.exit_code == 2, text.output
    assert text.stderr.startswith("error: ") and "internal error" not in text.stderr
    assert "outside the domain" in text.stderr or "singular" in text.stderr
    record = json_error(invoke(args + ["--format", "json"]))
    assert record["type"] == "DomainError" and record["exit_code"] == 2


def test_a_point_inside_the_domain_still_evaluates():
    """The same expressions at a point of their domain: numbers, checked by finite differences."""
    import numpy as np

    out = json.loads(invoke(["diff", "ln det X", "--wrt", "X", "--at", "X=[[2,1],[1,3]]", "--format", "json"]).stdout)
    X = np.array([[2.0, 1.0], [1.0, 3.0]])
    fd = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            E = np.zeros((2, 2))
            E[i, j] = 1e-6
            fd[i, j] = (np.log(np.linalg.det(X + E)) - np.log(np.linalg.det(X - E))) / 2e-6
    assert np.allclose(out["value"], fd, rtol=1e-6)


# ---------------------------------------------------------------- shell completion


def test_the_bash_completion_script_is_produced():
    script = invoke([], prog_name="matcalc", env={"_MATCALC_COMPLETE": "bash_source"})
    assert script.exit_code == 0
    assert "_MATCALC_COMPLETE=bash_complete" in script.stdout and "complete " in script.stdout
    for shell in ("zsh", "fish"):
        assert "_MATCALC_COMPLETE" in invoke([], prog_name="matcalc", env={"_MATCALC_COMPLETE": f"{shell}_source"}).stdout


def test_completion_answers_under_python_dash_m():
    """`python -m matcalc` is `matcalc` to click, so the one variable works for both."""
    env = {**os.environ, "_MATCALC_COMPLETE": "bash_complete", "COMP_WORDS": "matcalc backprop --lay",
           "COMP_CWORD": "2"}
    done = subprocess.run([sys.executable, "-m", "matcalc"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.split() == ["plain,--layer", "plain,--layer-input"]


# ---------------------------------------------------------------- packaging


def test_yaml_records_without_pyyaml_exit_2_naming_the_extra(monkeypatch, tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("- {id: a, expression: x^T x, wrt: x, claim: 2 x}\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml raises ImportError
    result = invoke(["check", "--file", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert 'pip install "matcalc-diff[yaml]"' in result.stderr
    assert json_error(invoke(["check", "--file", str(path), "--format", "json"]))["exit_code"] == 2


def test_pyproject_ships_every_data_file_and_keeps_yaml_optional():
    """Each non-Python file under matcalc/ is matched by its folder's package-data glob, and the
    folder is a package the configured find includes (.ci/run then lists the built wheel)."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project, tool = config["project"], config["tool"]["setuptools"]
    assert not any(d.lower().startswith("pyyaml") for d in project["dependencies"])
    assert any(d.lower().startswith("pyyaml") for d in project["optional-dependencies"]["yaml"])
    include = tool["packages"]["find"]["include"]
    data = tool["package-data"]
    assert (ROOT / "matcalc" / "py.typed").is_file()
    files = [p for p in (ROOT / "matcalc").rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert files
    for p in files:
        package = ".".join(p.parent.relative_to(ROOT).parts)
        assert any(fnmatch.fnmatch(package, pattern) for pattern in include), package
        assert any(fnmatch.fnmatch(p.name, glob) for glob in data.get(package, [])), p.relative_to(ROOT)
