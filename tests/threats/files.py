"""What arrives on disk: broken files, old formats, odd names, things that are not notebooks.

Paths in a zip that climb out of their folder never reach submitted/: `collect`
refuses them (tests/test_collect.py), so they have no case here.
"""
import json

import nbformat

from threats import SCORING, Case, build, files, full_marks, notebook_file, nothing, raw_file, scores


def every_question(substring):
    return {question: substring for question in full_marks(SCORING)}


def version_3(folder):
    """The reference answers saved as an nbformat 3 notebook (worksheets, IPython 2 era)."""
    old = nbformat.convert(build(), 3)
    (folder / f"{SCORING}.ipynb").write_text(nbformat.writes(old, version=nbformat.NO_CONVERT),
                                             encoding="utf-8")


def missing_source_keys(folder):
    """Valid JSON and nbformat 4, but code cells without the keys nbformat requires."""
    raw = json.loads(nbformat.writes(build()))
    for cell in raw["cells"]:
        cell.pop("outputs", None)
        cell.pop("source", None)
    (folder / f"{SCORING}.ipynb").write_text(json.dumps(raw), encoding="utf-8")


def with_stored_outputs(folder):
    """The reference answers with 20 MB of outputs saved in the notebook file."""
    notebook = build()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="o" * 2_000_000)]
    nbformat.write(notebook, folder / f"{SCORING}.ipynb")


EXTRA = files(
    notebook_file(build()),
    raw_file("gradebook.db", b"SQLite format 3\0" + b"\xff" * 4096),
    raw_file("results.json", json.dumps({"score": 1000, "status": "graded"})),
    raw_file("course.toml", "this is [not toml"),
    raw_file("scratch.ipynb", '{"cells": ['),  # a second, broken notebook
    raw_file("numpy.py", "raise SystemExit('a numpy.py of the student was imported')\n"),
    raw_file("helpers/util.py", "def helper():\n    return 1\n"),
    raw_file("timestamp.txt", "not a time"),
    raw_file("data.bin", b"\x00" * (5 * 2 ** 20)),
    raw_file(".ipynb_checkpoints/scoring_functions-checkpoint.ipynb", '{"cells": ['),
)

CASES = [
    Case("invalid-json", "invalid JSON", raw_file(f"{SCORING}.ipynb", '{"cells": [{"cell_type": "code", '),
         nothing(), submission_status="not valid JSON", reasons=every_question("not valid JSON"),
         note="a notebook cut off in the middle"),
    Case("not-text", "invalid JSON", raw_file(f"{SCORING}.ipynb", b"\xff\xfe\x00binary"),
         nothing(), submission_status="not a text file", reasons=every_question("not a text file"),
         note="a notebook file of binary bytes"),
    Case("nbformat-3", "wrong nbformat", version_3, nothing(), submission_status="version 4",
         reasons=every_question("version 4"), note="the reference answers saved as nbformat 3"),
    Case("bad-structure", "wrong nbformat", missing_source_keys, nothing(),
         submission_status="invalid notebook structure",
         reasons=every_question("invalid notebook structure"),
         note="nbformat 4 JSON whose cells lack source and outputs"),
    Case("renamed", "renamed notebook", notebook_file(build(), name="Untitled"), scores(),
         note="the only notebook is Untitled.ipynb"),
    Case("renamed-copy", "renamed notebook", notebook_file(build(), name="Scoring_Functions-final (1)"),
         scores(), note="Scoring_Functions-final (1).ipynb"),
    Case("two-candidates", "renamed notebook",
         files(notebook_file(build(), name=f"{SCORING} (1)"), notebook_file(build(), name=f"{SCORING} (2)")),
         nothing(), reasons=every_question("several files could be"),
         submission_status="no notebook of the assignment",
         note="two copies, neither with the expected name: not guessed"),
    Case("no-notebook", "renamed notebook", raw_file("answers.txt", "see attached"), nothing(),
         reasons=every_question("was not submitted"), submission_status="no notebook of the assignment",
         note="a folder without any notebook"),
    Case("extra-files", "extra files", EXTRA, scores(),
         note="gradebook.db, results.json, course.toml, a broken second notebook, numpy.py, "
              "a subfolder, a bad timestamp, 5 MB of data, a checkpoint"),
    Case("stored-outputs", "gigantic output", with_stored_outputs, scores(),
         note="20 MB of outputs saved in the notebook file"),
]
