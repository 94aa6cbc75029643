"""Score a trusted notebook the way it was scored before the sandbox.

    python -m threats.oracle NOTEBOOK ASSIGNMENT OUT.json

Runs every code cell in one IPython shell in this process, the source's test
cells (visible and hidden parts) in place of the student's copies, as nbgrader
does with a kernel; a question scores its points when its test cell runs
without an exception. Only for honest notebooks: nothing here is protected.
"""
import json
import sys
from pathlib import Path

import nbformat


def oracle_scores(notebook_path, assignment):
    from IPython.core.interactiveshell import InteractiveShell

    from autograder.judge import read_source
    from threats import SOLUTIONS_DIR

    tests = {}
    for path in sorted((SOLUTIONS_DIR / assignment).glob("*.ipynb")):
        tests.update({t.grade_id: t for t in read_source(path, path.stem).tests})
    notebook = nbformat.read(notebook_path, as_version=4)
    shell = InteractiveShell.instance()
    scores = {grade_id: 0.0 for grade_id in tests}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        test = tests.get(grade_id)
        result = shell.run_cell(test.source if test else cell.source, store_history=False)
        if test is not None:
            scores[grade_id] = test.points if result.success else 0.0
    return scores


def main():
    notebook_path, assignment, out = sys.argv[1:4]
    scores = oracle_scores(notebook_path, assignment)
    Path(out).write_text(json.dumps(scores), encoding="utf-8")


if __name__ == "__main__":
    main()
