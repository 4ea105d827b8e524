"""`matcalc check`, `matcalc verify` and batch grading from the command line."""
import json

import pytest
from click.testing import CliRunner

import matcalc
from matcalc.cli import main


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_api_check_is_truthy_when_correct():
    assert matcalc.check("x^T A x", "x", "A x + A^T x")
    report = matcalc.check("x^T A x", "x", "2 A x")
    assert not report and report.diagnosis == "symmetric"
    assert "(A + A^T) x" in report.format()


def test_correct_claim_exits_0():
    r = invoke("check", "det X", "--wrt", "X", "--claim", "det(X) inv(X)^T")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("correct")


def test_wrong_claim_exits_1_with_answer_and_counterexample():
    r = invoke("check", "x^T A x", "--wrt", "x", "--claim", "2 A x")
    assert r.exit_code == 1
    for words in ("wrong", "symmetric", "correct answer: (A + A^T) x", "counterexample", "relative error"):
        assert words in r.stdout


def test_differential_claim():
    assert invoke("check", "X^-1", "--wrt", "X", "--claim", "-X^-1 dX X^-1").exit_code == 0
    assert invoke("check", "X^-1", "--wrt", "X", "--claim", "-X^-2 dX").exit_code == 1


@pytest.mark.parametrize("args,words", [
    (["check", "x^T A x", "--wrt", "x"], ["--claim"]),
    (["check", "x^T A x", "--wrt", "x", "--claim", "A y"], ["y", "does not occur"]),
    (["check", "x^T A x", "--wrt", "x", "--claim", "(A x"], ["missing ')'"]),
    (["check", "--file", "/nonexistent/answers.jsonl"], ["cannot read"]),
])
def test_bad_input_exits_2(args, words):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    for w in words:
        assert w in r.output


def test_json_report():
    r = invoke("check", "ln det X", "--wrt", "X", "--claim", "X^-1", "--format", "json")
    data = json.loads(r.stdout)
    assert data["verdict"] == "wrong" and data["diagnosis"] == "transpose"
    assert data["answer"] == "X^-T"


def test_verify_command():
    r = invoke("verify", "a^T X A X a", "--wrt", "X")
    assert r.exit_code == 0
    assert "PASS" in r.stdout and "relative error" in r.stdout


@pytest.fixture
def answers(tmp_path):
    lines = [
        {"id": "ok", "expression": "x^T A x", "wrt": "x", "claim": "A x + A^T x"},
        {"id": "sym", "expression": "x^T A x", "wrt": "x", "claim": "2 A x"},
        {"id": "gauss", "expression": "tr(S^-1 M)", "wrt": "S", "claim": "-S^-1 M S^-1", "symmetric": "S,M"},
        {"id": "nested", "expr": "a^T x", "wrt": "x", "claim": "a", "decls": {"vector": "a"}},
        {"id": "noclaim", "expression": "x^T x", "wrt": "x"},
        {"id": "syntax", "expression": "tr(A X", "wrt": "X", "claim": "A^T"},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines[:4]) + "\nnot json\n"
                    + "\n".join(json.dumps(x) for x in lines[4:]) + "\n")
    return path


def test_batch_table_and_summary(answers):
    r = invoke("check", "--file", str(answers), "--jobs", "2")
    assert r.exit_code == 1  # not all correct
    out = r.stdout
    assert "7 records: 3 correct, 1 wrong, 3 could not be checked" in out
    assert "line 5" in out and "missing claim" in out and "missing ')'" in out


def test_batch_json_and_csv(answers, tmp_path):
    data = json.loads(invoke("check", "--file", str(answers), "--format", "json").stdout)
    verdicts = {row["id"]: row["verdict"] for row in data["results"]}
    assert verdicts["ok"] == "correct" and verdicts["sym"] == "wrong" and verdicts["syntax"] == "error"
    csv_path = tmp_path / "answers.csv"
    csv_path.write_text("id,expression,wrt,claim,symmetric\n"
                        "a,x^T A x,x,(A + A^T) x,\n"
                        "b,ln det S,S,S^-1,S\n")
    r = invoke("check", "--file", str(csv_path))
    assert r.exit_code == 0, r.output
    assert "2 records: 2 correct" in r.stdout


def test_batch_yaml(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("- id: q1\n  expression: ln det X\n  wrt: X\n  claim: X^-T\n"
                    "- id: q2\n  expression: ln det X\n  wrt: X\n  claim: X^-1\n")
    r = invoke("check", "--file", str(path))
    assert "2 records: 1 correct, 1 wrong" in r.stdout
