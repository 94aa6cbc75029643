"""Mutation check of the grader's core modules: do their tests fail when the code is wrong?

    .venv/bin/pip install mutmut==3.8.1      # once; not in requirements.txt (not needed to test)
    .venv/bin/python bench/mutation_check.py                 # every module below
    .venv/bin/python bench/mutation_check.py submissions     # one module

mutmut changes one thing at a time in a module (an operator, a constant, a string, a removed
call) and runs the tests that reach the changed function; a change no test notices "survived".
This script runs it in a copy of the committed tree (git archive HEAD into a temporary folder),
never in the checkout, with only the fast unit tests of each module (no nbgrader command, no
sandbox), without xdist or nbval, and prints killed / total per module. The list of survivors
is `mutmut results` in the copy, each shown with `mutmut show NAME`; some are equivalent
(the code means the same either way, e.g. a changed default that every caller overrides).
Target: at least 90 % of the non-equivalent mutants killed. It takes about 5-20 minutes a
module on 2 cores; it need not run in CI.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# module -> the fast tests that pin it
MODULES = {
    "submissions": ["tests/test_submissions.py"],
    "grade_tables": ["tests/test_export_units.py"],
    "export": ["tests/test_export_units.py"],
    "results": ["tests/test_results.py"],
    "gradebook": ["tests/test_gradebook_units.py"],
    "collect": ["tests/test_collect_units.py", "tests/test_collect.py"],
    "archive": ["tests/test_collect_units.py", "tests/test_collect.py"],
}
KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9}  # a test failed, pytest broke, a timeout or a crash


def mutmut_config(modules):
    tests = sorted({test for module in modules for test in MODULES[module]})
    return "\n".join([
        "", "[tool.mutmut]",
        'source_paths = ["autograder"]',
        f"only_mutate = {json.dumps([f'autograder/{module}.py' for module in modules])}",
        'also_copy = ["solutions", "exercises", "attnlib", "book"]',
        'pytest_add_cli_args = ["-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=", "-q", "-x",'
        ' "-W", "ignore"]',
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        "use_git_change_detection = false", ""])


def count(copy, module):
    """(killed, total, {exit code: how many}) from mutmut's record of one module."""
    meta = json.loads((copy / "mutants" / "autograder" / f"{module}.py.meta").read_text())
    codes = Counter(meta["exit_code_by_key"].values())
    killed = sum(n for code, n in codes.items() if code in KILLED)
    return killed, sum(codes.values()), dict(codes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--keep", action="store_true", help="keep the copy (to inspect survivors)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    args = parser.parse_args()
    modules = args.modules or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; known: {', '.join(MODULES)}")
    copy = Path(tempfile.mkdtemp(prefix="mutation-check-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(copy)], input=archive.stdout, check=True)
        with open(copy / "pyproject.toml", "a", encoding="utf-8") as handle:
            handle.write(mutmut_config(modules))
        env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        mutmut = Path(sys.executable).parent / "mutmut"
        subprocess.run([str(mutmut), "run", "--max-children", str(args.jobs)], cwd=copy, env=env,
                       stdout=subprocess.DEVNULL, check=False)
        for module in modules:
            killed, total, codes = count(copy, module)
            print(f"{module:12} {killed:4d} / {total:4d} killed ({100 * killed / max(total, 1):.1f} %)"
                  f"   exit codes {codes}")
        if args.keep:
            print(f"copy kept in {copy}: cd there and run `mutmut results`, `mutmut show NAME`")
    finally:
        if not args.keep:
            shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    main()
