"""Feedback pages for students: scores, their own code and the visible tests.

nbgrader's own feedback shows hidden tests (in the cell and in tracebacks), so
we write our own page from the autograded notebook. Hidden test code never
reaches it: hidden sections are cut from test cells, only the message of a
failing test is shown (never a traceback), and, as a last line of defence,
every line of hidden test code is scrubbed from all text on the page.
"""
import html
import re

import nbformat
from nbconvert.filters.markdown_mistune import markdown2html_mistune

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_OUTPUT_CHARS = 5000
MIN_SCRUB_LENGTH = 12  # shorter lines ("import numpy as np") are not secret


def _marked_lines(source):
    """(line, is_hidden) for each line of a cell; the marker lines themselves
    come out as (BEGIN_HIDDEN, None) and (END_HIDDEN, None)."""
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped in (BEGIN_HIDDEN, END_HIDDEN):
            inside = stripped == BEGIN_HIDDEN
            yield stripped, None
        else:
            yield line, inside


def hidden_lines(source_notebook_path):
    """Every non-trivial line of hidden test code in a source notebook.

    A line that also appears outside the hidden sections (a common idiom shared
    with a visible test) is public, so it is not counted as secret.
    """
    notebook = nbformat.read(source_notebook_path, as_version=4)
    secret, public = set(), set()
    for cell in notebook.cells:
        for line, hidden in _marked_lines(cell.source):
            if hidden is not None and len(line.strip()) >= MIN_SCRUB_LENGTH:
                (secret if hidden else public).add(line.strip())
    return secret - public


def visible_part(source):
    """A test cell's source with its hidden sections replaced by one comment."""
    kept = []
    for line, hidden in _marked_lines(source):
        if line == BEGIN_HIDDEN:
            kept.append("# (hidden tests run here)")
        elif hidden is False:
            kept.append(line)
    return "\n".join(kept)


def scrub(text, secret_lines):
    """Remove every occurrence of a hidden test line from text."""
    for line in secret_lines:
        if line in text:
            text = text.replace(line, "[hidden]")
    return text


def _cell_outputs(cell, is_test):
    """Plain text and images from a cell's outputs; for test cells, only the verdict."""
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "error":
            message = f"{output.get('ename', 'Error')}: {ANSI.sub('', output.get('evalue', ''))}"
            parts.append(("error", message[:MAX_OUTPUT_CHARS]))
        elif is_test:
            continue  # test cells: the verdict alone, never what student code printed there
        elif kind == "stream":
            parts.append(("text", ANSI.sub("", output.get("text", ""))[:MAX_OUTPUT_CHARS]))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "image/png" in data:
                parts.append(("png", data["image/png"]))
            elif "text/plain" in data:
                parts.append(("text", data["text/plain"][:MAX_OUTPUT_CHARS]))
    return parts


def question_rows_html(rows):
    lines = ["<table><tr><th>question</th><th>score</th><th>out of</th><th>result</th></tr>"]
    for row in rows:
        lines.append(
            f"<tr><td>{html.escape(row['question'])}</td><td>{row['score']:g}</td>"
            f"<td>{row['max_score']:g}</td><td>{html.escape(row['status'])}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #999; padding: .25rem .6rem; }
pre { background: #f4f4f4; padding: .6rem; overflow-x: auto; }
.error { background: #fde7e7; border-left: 4px solid #b00020; }
.passed { background: #e6f4ea; border-left: 4px solid #137333; }
.cell { margin: 1rem 0; }
"""


def render_feedback(autograded_path, student_id, assignment, rows, secret_lines):
    """HTML feedback for one student's notebook."""
    notebook = nbformat.read(autograded_path, as_version=4)
    total = sum(r["score"] for r in rows)
    possible = sum(r["max_score"] for r in rows)
    body = [f"<h1>{html.escape(assignment)}: feedback for {html.escape(student_id)}</h1>",
            f"<p><strong>Score: {total:g} / {possible:g}</strong></p>",
            question_rows_html(rows)]
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        is_test = bool(grading.get("grade")) and not grading.get("solution")
        body.append('<div class="cell">')
        if cell.cell_type == "markdown":
            body.append(markdown2html_mistune(scrub(cell.source, secret_lines)))
        elif cell.cell_type == "code":
            source = visible_part(cell.source) if is_test else cell.source
            if is_test:
                body.append(f"<h3>Tests: {html.escape(grading.get('grade_id', ''))}</h3>")
            body.append(f"<pre>{html.escape(scrub(source, secret_lines))}</pre>")
            outputs = _cell_outputs(cell, is_test)
            if is_test and not any(kind == "error" for kind, _ in outputs):
                body.append('<pre class="passed">All tests of this question passed.</pre>')
            for kind, content in outputs:
                if kind == "png":
                    body.append(f'<img alt="plot output" src="data:image/png;base64,{content}">')
                else:
                    css = ' class="error"' if kind == "error" else ""
                    body.append(f"<pre{css}>{html.escape(scrub(content, secret_lines))}</pre>")
        body.append("</div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Feedback: {html.escape(assignment)}</title><style>{STYLE}</style></head>"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")


def render_problem_page(student_id, assignment, rows, problem):
    """Feedback for a submission that could not be graded normally."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Feedback: {html.escape(assignment)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(assignment)}: feedback for {html.escape(student_id)}</h1>"
            f"<p class=\"error\">Your submission could not be graded: {html.escape(problem)}</p>"
            + question_rows_html(rows) + "</body></html>\n")
