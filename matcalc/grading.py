"""Batch grading: many (expression, wrt, claim) records, checked in parallel processes.

A record that cannot be read or checked is reported in its own row; the others go on.
"""
from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor

from .errors import DeclarationError, MatcalcError

DECL_KEYS = ("scalar", "vector", "matrix", "symmetric", "dim")


def load_records(path: str) -> list:
    """JSON lines, a JSON list, CSV with a header row, or YAML (with PyYAML installed)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise DeclarationError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise DeclarationError(f"{path} is not UTF-8 text (JSON lines, a JSON list, CSV or YAML)") from None
    records = _records(path, text)
    if not records:
        raise DeclarationError(f"{path} is empty: it has no records to check")
    return records


def _records(path: str, text: str) -> list:
    ext = os.path.splitext(path)[1].lower()
    if ext in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise DeclarationError(f"{path} is YAML, which needs PyYAML: pip install \"matcalc-diff[yaml]\" "
                                   "(or pip install pyyaml); or give the records as JSON lines or CSV") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise DeclarationError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
        if data is None:
            return []
        return data if isinstance(data, list) else [data]
    if ext == ".csv":
        try:
            return list(csv.DictReader(text.splitlines()))
        except csv.Error as err:
            raise DeclarationError(f"{path} is not readable CSV: {err}") from None
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as err:
            raise DeclarationError(f"{path} is not valid JSON: {err}") from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            records.append({"id": f"line {number}", "_error": f"not valid JSON: {err.msg}"})
    return records


def grade_record(args) -> dict:
    """One row of the table: never raises."""
    index, record, seed = args
    rid = str(record.get("id", index)) if isinstance(record, dict) else str(index)
    row = {"id": rid, "verdict": "error", "diagnosis": None, "reason": "", "answer": ""}
    try:
        if not isinstance(record, dict):
            raise DeclarationError("the record is not an object with keys expression, wrt, claim")
        if "_error" in record:
            raise DeclarationError(record["_error"])
        expression = record.get("expression", record.get("expr"))
        missing = [k for k, v in (("expression", expression), ("wrt", record.get("wrt")),
                                  ("claim", record.get("claim"))) if not v]
        if missing:
            raise DeclarationError(f"missing {', '.join(missing)}")
        from .checking import check
        from .decls import Decls

        decl_source = record.get("decls") if isinstance(record.get("decls"), dict) else record
        for k in DECL_KEYS:
            v = decl_source.get(k)
            if v and not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                raise DeclarationError(f"{k} must be a name or a list of names, not {v!r}")
        decls = Decls.build(**{k: decl_source[k] for k in DECL_KEYS if decl_source.get(k)})
        report = check(str(expression), str(record["wrt"]), str(record["claim"]), decls, seed=seed)
        row.update(verdict="correct" if report else "wrong", diagnosis=report.diagnosis,
                   reason=report.reason, answer=report.answer)
    except MatcalcError as err:
        row["reason"] = str(err).splitlines()[0]
    except Exception as err:  # noqa: BLE001 - one bad record must not stop the batch
        row["reason"] = f"internal error: {type(err).__name__}: {err}"
    return row


def grade(records: list, jobs: int = 0, seed: int = 0) -> list:
    if not isinstance(jobs, int) or jobs < 0:
        raise DeclarationError(f"jobs= {jobs} is not a number of workers: use 0 (one per core) or a positive number")
    work = [(i + 1, r, seed) for i, r in enumerate(records)]
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(work) < 4:
        return [grade_record(w) for w in work]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(grade_record, work, chunksize=max(1, len(work) // (4 * workers))))


def grade_file(path: str, jobs: int = 0, seed: int = 0):
    """The verdict of every record of a JSON/YAML/CSV file, and the counts per verdict."""
    rows = grade(load_records(path), jobs, seed)
    return rows, summary(rows)


def summary(rows: list) -> dict:
    """How many records were correct, wrong, or could not be checked."""
    return {v: sum(r["verdict"] == v for r in rows) for v in ("correct", "wrong", "error")}
