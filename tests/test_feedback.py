"""Feedback pages: scores, visible messages and typeset math, never hidden tests.

The pages are rendered from synthetic results (no grading run needed) against
the real source notebook of one assignment, so the scrub is tested with the
hidden test lines students must never see.
"""
import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import cli, feedback
from autograder.config import CourseConfig
from autograder.course import SOLUTIONS_DIR, assignments
from autograder.results import QuestionResult, SubmissionResult, save_result

ASSIGNMENT = "scoring_functions"
SOURCE = SOLUTIONS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADER_PATH = "/srv/grader/run-7f3a/scoring_functions.ipynb"

# What may load something from elsewhere. In-page links (#...) and data: are fine.
EXTERNAL = re.compile(r"<script|<link|<iframe|<object|<embed|<img|@import|url\(|"
                      r"\ssrc\s*=\s*(?![\"']?data:)|\shref\s*=\s*(?![\"']?#)", re.I)


@pytest.fixture(scope="module")
def secret():
    lines = feedback.hidden_lines(SOURCE)
    assert len(lines) > 10  # the notebook really has hidden tests to leak
    return lines


@pytest.fixture(scope="module")
def leaked_line(secret):
    """A distinctive hidden test line that a message will (wrongly) carry."""
    return max(secret, key=len)


def make_result(leaked_line, student="alice"):
    question = lambda name, score, max_score, status, messages=(): QuestionResult(  # noqa: E731
        ASSIGNMENT, name, score, max_score, status, list(messages))
    return SubmissionResult(student, ASSIGNMENT, "digest", "graded",
                            timestamp="2026-10-01T12:00:00+00:00", questions=[
        question("test_log_softmax", 2, 2, "passed", ["a message of a passed question is not shown"]),
        question("test_attention_weights", 1.5, 3, "failed", [
            r"the weights must be $\alpha_{ij} = \frac{e^{s_{ij}}}{\sum_j e^{s_{ij}}}$ for <keys> & \"values\"",
            f"AssertionError: {leaked_line}",
            "Traceback (most recent call last):\n"
            f'  File "{GRADER_PATH}", line 12, in <module>\n'
            f"    {leaked_line}\n"
            "    ^^^^^^^^^^^^^^^^\n"
            "AssertionError: row 3 sums to 0.5, not 1",
            r"no formula mathtext can set: $\begin{bmatrix} a & b \end{bmatrix}$",
        ]),
        question("test_bilinear_attention", 0, 3, "error", [
            "NotImplementedError: write bilinear_attention <script>alert(1)</script>"]),
        question("test_column_convention_axis", 0, 2, "missing"),
    ])


@pytest.fixture
def course(tmp_path):
    """A course folder with every assignment's source notebooks in COURSE/source, as
    `release` leaves it: feedback reads the course folder only."""
    config = CourseConfig(root=tmp_path / "course")
    for assignment in assignments():
        config.source(assignment).mkdir(parents=True)
        for notebook in (SOLUTIONS_DIR / assignment).glob("*.ipynb"):
            shutil.copyfile(notebook, config.source(assignment) / notebook.name)
    return config


@pytest.fixture
def page(course, leaked_line):
    paths = feedback.write_feedback(course, make_result(leaked_line))
    assert paths == [course.feedback("alice", ASSIGNMENT) / f"{ASSIGNMENT}.html"]
    return paths[0].read_text(encoding="utf-8")


def summary_rows(page):
    """question -> (score, out of, result) from the summary table."""
    rows = re.findall(r'<tr><td><a href="#q-([^"]+)">.*?</a></td><td class="num">([^<]*)</td>'
                      r'<td class="num">([^<]*)</td><td>([^<]*)</td></tr>', page)
    return {question: rest for question, *rest in rows}


def sections(page):
    """question -> the HTML of its section."""
    return dict(re.findall(r'<section class="question [a-z]+" id="q-([^"]+)">(.*?)</section>', page, re.S))


def assert_no_hidden_test_code(page, secret):
    assert "BEGIN HIDDEN" not in page and "END HIDDEN" not in page
    unescaped = html.unescape(page)
    leaked = [line for line in secret if line in page or line in unescaped]
    assert not leaked, f"hidden test lines on the page: {leaked[:3]}"


def test_scores_per_question_and_total(page):
    assert summary_rows(page) == {
        "test_log_softmax": ["2", "2", "passed"],
        "test_attention_weights": ["1.5", "3", "not yet"],
        "test_bilinear_attention": ["0", "3", "error"],
        "test_column_convention_axis": ["0", "2", "missing"],
    }
    assert "Score for this notebook: <strong>3.5 / 10</strong>" in page
    assert "alice" in page and ASSIGNMENT in page and "2026-10-01T12:00:00+00:00" in page


def test_each_question_has_its_title_prompt_score_and_result_in_words(page):
    found = sections(page)
    assert list(found) == ["test_log_softmax", "test_attention_weights", "test_bilinear_attention",
                           "test_column_convention_axis"]
    assert "<h2>Question 1: a stable log-softmax</h2>" in found["test_log_softmax"]  # "(2 points)" dropped
    assert "Cross-entropy needs" in found["test_log_softmax"]  # the first paragraph of the prompt
    assert "that normalises along the given" not in found["test_log_softmax"]  # but not the whole text
    assert "1.5 / 3 points" in found["test_attention_weights"]
    assert "Passed" in found["test_log_softmax"] and "Not yet" in found["test_attention_weights"]
    assert "raised an exception" in found["test_bilinear_attention"]
    assert "not found in your submission" in found["test_column_convention_axis"]


def test_only_failure_messages_are_shown(page):
    found = sections(page)
    assert "a message of a passed question" not in page
    assert '<pre class="error">' not in found["test_log_softmax"]
    assert found["test_attention_weights"].count('<pre class="error">') == 4
    assert "row 3 sums to 0.5, not 1" in found["test_attention_weights"]
    assert "NotImplementedError: write bilinear_attention" in found["test_bilinear_attention"]


def test_messages_are_escaped(page):
    assert "<script" not in page and "<keys>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;keys&gt; &amp; \\&quot;values\\&quot;" in page


def test_hidden_test_code_never_appears_even_when_a_message_carries_it(page, secret, leaked_line):
    assert_no_hidden_test_code(page, secret)
    assert f"AssertionError: {feedback.HIDDEN}" in page


def test_no_traceback_and_no_grader_paths(page):
    assert "Traceback" not in page and 'File "' not in page and "^^^^" not in page
    assert "/srv/grader" not in page and "run-7f3a" not in page


def test_page_is_self_contained(page):
    assert not EXTERNAL.findall(page), EXTERNAL.findall(page)
    assert "<style>" in page
    assert "mathjax" not in page.lower() and "http://" not in page and "https://" not in page


def test_math_becomes_svg_with_the_tex_as_its_name(page):
    found = sections(page)
    # In a message ...
    label = html.escape(r"\alpha_{ij} = \frac{e^{s_{ij}}}{\sum_j e^{s_{ij}}}")
    assert f'<svg class="math"' in found["test_attention_weights"]
    assert f'aria-label="{label}"' in found["test_attention_weights"]
    assert f"<title>{label}</title>" in found["test_attention_weights"]
    assert "$\\alpha" not in page
    # ... and in the question's prompt (display math).
    assert 'aria-label="\\log \\operatorname{softmax}(s)_j' in found["test_log_softmax"]
    assert '<span class="math-display">' in found["test_log_softmax"]
    # Each glyph once per page, and every glyph a formula uses is there.
    used = set(re.findall(r'<use href="#(g-[^"]+)"', page))
    defined = re.findall(r'<path id="(g-[^"]+)"', page)
    assert used and used <= set(defined) and len(defined) == len(set(defined))


def test_tex_that_mathtext_cannot_set_stays_readable_tex(page):
    assert ('<code class="tex" title="TeX">$\\begin{bmatrix} a &amp; b \\end{bmatrix}$</code>'
            in sections(page)["test_attention_weights"])


def test_problem_page_says_why(course, secret):
    result = SubmissionResult("bob", ASSIGNMENT, "digest",
                              f"notebook {ASSIGNMENT}.ipynb is not valid JSON (read from {GRADER_PATH})")
    [path] = feedback.write_feedback(course, result)
    assert path == course.feedback("bob", ASSIGNMENT) / f"{ASSIGNMENT}.html"
    page = path.read_text(encoding="utf-8")
    assert "could not be graded" in page and "is not valid JSON" in page
    assert "/srv/grader" not in page and "<section" not in page
    assert not EXTERNAL.findall(page)
    assert_no_hidden_test_code(page, secret)


def test_problem_page_lists_the_zero_scores(course, leaked_line):
    result = make_result(leaked_line, "carol")
    result.status = "grading timed out"
    for question in result.questions:
        question.score = 0
    page = feedback.write_feedback(course, result)[0].read_text(encoding="utf-8")
    assert "could not be graded" in page and "grading timed out" in page
    assert set(summary_rows(page)) == {q.question for q in result.questions}


def test_every_notebook_gets_a_page_and_the_assignment_total(course, leaked_line):
    result = make_result(leaked_line, "dave")
    result.questions.append(QuestionResult("extra_notebook", "test_extra", 4, 5, "failed", ["off by one"]))
    paths = feedback.write_feedback(course, result)
    assert [p.name for p in paths] == [f"{ASSIGNMENT}.html", "extra_notebook.html"]
    first, extra = (p.read_text(encoding="utf-8") for p in paths)
    assert "assignment total: <strong>7.5 / 15</strong>" in first
    assert summary_rows(extra) == {"test_extra": ["4", "5", "not yet"]}
    assert "Score for this notebook: <strong>4 / 5</strong>" in extra


def test_pages_are_stable_and_stay_in_the_feedback_folder(course, leaked_line):
    first = feedback.write_feedback(course, make_result(leaked_line))[0].read_bytes()
    again = feedback.write_feedback(course, make_result(leaked_line))[0].read_bytes()
    assert first == again  # no render time on the page: re-running changes nothing
    [path] = feedback.write_feedback(course, make_result(leaked_line, student="../../outside"))
    assert path.resolve().is_relative_to((course.root / "feedback").resolve())
    assert path.stat().st_mode & 0o777 == 0o644


def test_prompts_come_from_the_course_copy_of_the_source(course, leaked_line):
    copy = course.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(SOURCE, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Question 1"):
            cell.source = cell.source.replace("a stable log-softmax", "softmax, the course's edition")
    nbformat.write(notebook, copy)
    page = feedback.write_feedback(course, make_result(leaked_line))[0].read_text(encoding="utf-8")
    assert "Question 1: softmax, the course&#x27;s edition" in page


@pytest.mark.parametrize("assignment", assignments())
def test_every_question_text_renders_offline(course, assignment):
    prompts, secret = feedback._sources(course, assignment)
    questions = [QuestionResult(notebook, grade_id, 0, 1, "failed", ["wrong"])
                 for notebook, found in prompts.items() for grade_id in found]
    assert questions
    result = SubmissionResult("erin", assignment, "digest", "graded", questions=questions)
    for path in feedback.write_feedback(course, result):
        page = path.read_text(encoding="utf-8")
        assert not EXTERNAL.findall(page), EXTERNAL.findall(page)
        assert_no_hidden_test_code(page, secret)
        with_math = sum(1 for title, text in prompts[path.stem].values() if "$" in title + text)
        assert page.count('<svg class="math"') >= with_math  # each prompt's math typeset, not left as TeX
        used = set(re.findall(r'<use href="#(g-[^"]+)"', page))
        assert used <= set(re.findall(r'<path id="(g-[^"]+)"', page))


# --- the command ------------------------------------------------------------


def test_command_renders_saved_results(course, leaked_line, capsys):
    for student in ("alice", "bob"):
        save_result(course, make_result(leaked_line, student))
    assert cli.main(["--course", str(course.root), "feedback", ASSIGNMENT, "--student", "bob"]) == 0
    assert (course.feedback("bob", ASSIGNMENT) / f"{ASSIGNMENT}.html").exists()
    assert not course.feedback("alice").exists()
    assert cli.main(["--course", str(course.root), "feedback", ASSIGNMENT]) == 0
    assert (course.feedback("alice", ASSIGNMENT) / f"{ASSIGNMENT}.html").exists()
    assert "alice: 3.5/10, 1 page(s)" in capsys.readouterr().out


def test_command_fails_clearly_without_results(course, capsys):
    assert cli.main(["--course", str(course.root), "feedback", ASSIGNMENT]) == 1
    assert "no saved results" in capsys.readouterr().err
    save_result(course, SubmissionResult("alice", ASSIGNMENT, "d", "graded"))
    assert cli.main(["--course", str(course.root), "feedback", ASSIGNMENT, "--student", "zoe"]) == 1
    assert "zoe" in capsys.readouterr().err
    assert cli.main(["--course", str(course.root), "feedback", "../x"]) == 2


# --- messages ---------------------------------------------------------------


def test_clean_message_drops_python_and_ipython_tracebacks():
    python = ('Traceback (most recent call last):\n  File "/tmp/x/y.py", line 3, in <module>\n'
              "    assert hidden_check(weights)\n           ^^^^^^^^^^^^^^^^^^^^^\n"
              "AssertionError: weights of masked keys must be 0\n  (got 0.25)")
    assert feedback.clean_message(python) == "AssertionError: weights of masked keys must be 0\n  (got 0.25)"
    ipython = ("\x1b[0;31m----------------------------------------------------------------\x1b[0m\n"
               "\x1b[0;31mAssertionError\x1b[0m                 Traceback (most recent call last)\n"
               "Cell \x1b[0;32mIn[7], line 4\x1b[0m\n      2 x = 1\n----> 4 assert hidden_check(x), 'msg'\n"
               "\x1b[0;31mAssertionError\x1b[0m: msg")
    assert feedback.clean_message(ipython) == "AssertionError: msg"
    assert feedback.clean_message("plain message, kept") == "plain message, kept"


def test_clean_message_hides_paths_and_secret_lines_and_bounds_length():
    text = "could not open /home/grader/course/autograded/a/b.ipynb or C:\\grader\\x.py; 1/2 and Q / K"
    assert feedback.clean_message(text) == "could not open [path] or [path]; 1/2 and Q / K"
    assert feedback.clean_message("x = hidden_answer(42) + 1", {"hidden_answer(42)"}) == "x = [hidden] + 1"
    assert len(feedback.clean_message("x" * 100_000)) < feedback.MAX_OUTPUT_CHARS + 10


def test_dollars_that_are_not_math_stay_text():
    assert feedback._split_math("costs $5 and $6, `$x$` in code, \\$ escaped") == [
        ("text", "costs $5 and $6, `$x$` in code, \\$ escaped")]
    assert feedback._split_math("$x$ and $$y$$") == [("inline", "x"), ("text", " and "), ("display", "y")]


def test_visible_part_and_scrub():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nassert secret_check(a)\n### END HIDDEN TESTS\nb = 2"
    assert feedback.visible_part(source) == "a = 1\n# (hidden tests run here)\nb = 2"
    assert feedback.scrub("x assert secret_check(a) y", {"assert secret_check(a)"}) == "x [hidden] y"


# --- in a browser -------------------------------------------------------------


def test_page_renders_in_chromium_without_network(page, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not chromium:
        pytest.skip("no chromium on this machine")
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    requests = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            tab = browser.new_page()
            tab.on("request", lambda request: requests.append(request.url))
            tab.goto(path.as_uri())
            boxes = tab.eval_on_selector_all("svg.math", "els => els.map(e => e.getBoundingClientRect())"
                                                         ".map(r => [r.width, r.height])")
            painted = tab.eval_on_selector_all(
                "svg.math use", "els => els.filter(e => e.getBBox().width > 0).length")
        finally:
            browser.close()
    assert requests == [path.as_uri()]  # the page and nothing else
    assert boxes and all(width > 1 and height > 1 for width, height in boxes), boxes
    assert painted > 10  # glyphs drawn from the page's shared outlines
