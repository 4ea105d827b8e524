"""Check a built distribution (.ci/run): python scripts/check_dist.py DIST_DIR BUILD_LOG

The wheel must hold every file of the source package (the grammar, py.typed, the web page and
its KaTeX files; .py files included), and the build log must have no setuptools warning (a data
folder missing from `packages`, a deprecated setting). Prints the wheel's data files; exits 1
naming what is wrong.
"""
import pathlib
import re
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# setuptools' notes that are no problem of the package: byte-compiling is off under PYTHONDONTWRITEBYTECODE
HARMLESS = re.compile(r"byte-compiling is disabled")


def source_files() -> set:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "matcalc").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def main(dist: str, log: str) -> int:
    wheels = sorted(pathlib.Path(dist).glob("*.whl"))
    if len(wheels) != 1:
        print(f"expected one wheel in {dist}, found {len(wheels)}")
        return 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    problems = [f"missing from the wheel: {f}" for f in sorted(source_files() - names)]
    problems += [f"not in the source tree: {f}" for f in sorted(n for n in names if n.startswith("matcalc/")
                                                                  and n not in source_files())]
    for required in ("matcalc/py.typed", "matcalc/grammar/matcalc.lark", "matcalc/web/static/index.html",
                     "matcalc/web/static/katex/katex.min.js"):
        if required not in names:
            problems.append(f"missing from the wheel: {required}")
    warnings = [line.strip() for line in pathlib.Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
                if re.search(r"warning", line, re.I) and not HARMLESS.search(line)]
    problems += [f"build log: {w}" for w in warnings]
    data = sorted(n for n in names if n.startswith("matcalc/") and not n.endswith(".py"))
    print(f"{wheels[0].name}: {len(names)} files, {len(data)} data files:")
    print("\n".join(f"  {n}" for n in data))
    for p in problems:
        print(f"error: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
