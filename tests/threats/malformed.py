"""Notebooks that are valid enough to pass a first look and then trip the grader
(issue 12, item 3), and the honest submissions graded in the same run, which
must keep their scores: one malformed notebook costs its own submission only.

Graded by tests/test_threats_malformed.py (not part of load_cases: that module
also checks what the run records around them, and runs `collect` on them).
"""
import json

import nbformat

from threats import SCALED, SCORING, SOFTMAX, Case, build, full_marks, notebook_file, nothing, raw_file, scores


def every_question(substring):
    return {question: substring for question in full_marks(SCORING)}


def nbgrader_metadata_string(notebook):
    """Valid nbformat: its schema lets a cell's metadata.nbgrader be any value."""
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.metadata["nbgrader"] = "solution"


def grade_ids_as_lists(notebook):
    """An answer cell's and a test cell's grade_id turned into lists (valid nbformat too)."""
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade_id") in ("softmax", SOFTMAX):
            grading["grade_id"] = [grading["grade_id"]]


def nested(depth, leaf="1"):
    return '{"a": ' * depth + leaf + "}" * depth


def deep_json(depth, where):
    """The reference answers with JSON nested `depth` levels deep in the notebook's
    metadata or in a cell's output (text written by hand: json.dumps would recurse)."""
    text = json.dumps(json.loads(nbformat.writes(build())), indent=1)
    if where == "metadata":
        text = text.replace('"metadata": {', f'"metadata": {{"deep": {nested(depth)}, ', 1)
    else:  # a code cell's output: display data whose JSON payload nests
        output = f'{{"output_type": "display_data", "metadata": {{}}, "data": {{"application/json": {nested(depth)}}}}}'
        text = text.replace('"outputs": []', f'"outputs": [{output}]', 1)
    assert text.count('{"a": ') == depth
    return text


NESTED_REASON = "nested more than 100 levels deep"

CASES = [
    Case("meta-string", "malformed notebook", notebook_file(build(edit=nbgrader_metadata_string)), nothing(),
         submission_status="metadata.nbgrader is a str, not a mapping",
         reasons=every_question("metadata.nbgrader is a str"),
         note="a code cell whose metadata.nbgrader is a string (valid nbformat)"),
    Case("deep-metadata", "malformed notebook", raw_file(f"{SCORING}.ipynb", deep_json(400, "metadata")),
         nothing(), submission_status=NESTED_REASON, reasons=every_question(NESTED_REASON),
         note="400 levels of JSON nesting in a cell's metadata"),
    Case("deep-output", "malformed notebook", raw_file(f"{SCORING}.ipynb", deep_json(900, "output")),
         nothing(), submission_status=NESTED_REASON, reasons=every_question(NESTED_REASON),
         note="900 levels of JSON nesting in a cell's output"),
    Case("deep-parser", "malformed notebook", raw_file(f"{SCORING}.ipynb", deep_json(5000, "metadata")),
         nothing(), submission_status="nested too deeply", reasons=every_question("nested too deeply"),
         note="5000 levels: deeper than Python's JSON parser goes"),
    Case("grade-id-list", "malformed notebook", notebook_file(build(edit=grade_ids_as_lists)), scores(),
         note="grade_id of the softmax answer and test cells made lists: the answers still count "
              "(the test cell comes from the source)"),
    # Honest neighbours graded in the same run, before and after the malformed ones.
    Case("aaron", "legitimate", notebook_file(build()), scores(), legit=True,
         note="the reference answers, sorted before the malformed ones"),
    Case("zoe", "legitimate", notebook_file(build(blank={"scaled_dot_product_attention"})),
         scores(**{SCALED: 0}), legit=True, note="one answer left blank, sorted after them"),
]
