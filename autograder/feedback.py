"""Write feedback pages: COURSE/feedback/STUDENT/ASSIGNMENT/NOTEBOOK.html.

One self-contained HTML page per notebook of an assignment (nbgrader's feedback
layout, so its exchange can hand the folder back), built from the saved
results.json, not from the graded notebook:

- student, assignment, the notebook's score and the assignment total;
- per question: the title and first paragraph of the question's text (from the
  source notebook), score / out of, the result in words, and the failure
  messages (for a passed question, only that it passed);
- when the submission could not be graded: a page that says why.

Nothing on a page is fetched: the CSS is inline and math ($...$, $$...$$) is
typeset into inline SVG by autograder.typeset (matplotlib's mathtext; one shared
set of glyph outlines per page), with the TeX as its accessible name; TeX that
mathtext cannot typeset is shown as TeX.

Students never see hidden tests here. nbgrader's own feedback shows them (in the
test cell and in the traceback of a failing assert), so we show neither cells
nor tracebacks: messages lose their traceback frames and file paths, and every
line of hidden test code is scrubbed from every text, and once more from the
finished page.
"""
from __future__ import annotations

import functools
import html
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from autograder.typeset import Typesetter

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

    from autograder.config import CourseConfig
    from autograder.manual_grades import HandGrades
    from autograder.results import SubmissionResult

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_OUTPUT_CHARS = 5000  # per message
MAX_MESSAGES = 10  # per question
MIN_SCRUB_LENGTH = 12  # shorter lines ("import numpy as np") are not secret
HIDDEN = "[hidden]"

# --------------------------------------------------------------------------
# Hidden tests: which lines are secret, and removing them from any text.


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


def hidden_lines(source_notebook_path: Path | str) -> set[str]:
    """Every non-trivial line of hidden test code in a source notebook.

    A line that also appears outside the hidden sections (a common idiom shared
    with a visible test) is public, so it is not counted as secret.
    """
    return hidden_lines_in(nbformat.read(source_notebook_path, as_version=4))


def hidden_lines_in(notebook: nbformat.NotebookNode) -> set[str]:
    """hidden_lines of a notebook already read (an autograded one carries the hidden tests too)."""
    secret: set[str] = set()
    public: set[str] = set()
    for cell in notebook.cells:
        for line, hidden in _marked_lines(cell.source):
            if hidden is not None and len(line.strip()) >= MIN_SCRUB_LENGTH:
                (secret if hidden else public).add(line.strip())
    return secret - public


def visible_part(source: str) -> str:
    """A test cell's source with its hidden sections replaced by one comment."""
    kept = []
    for line, hidden in _marked_lines(source):
        if line == BEGIN_HIDDEN:
            kept.append("# (hidden tests run here)")
        elif hidden is False:
            kept.append(line)
    return "\n".join(kept)


def scrub(text: str, secret_lines: Iterable[str]) -> str:
    """Remove every occurrence of a hidden test line from text."""
    for line in secret_lines:
        if line in text:
            text = text.replace(line, HIDDEN)
    return text


def _scrub_page(page, secret_lines):
    """The last line of defence: secret lines as they would appear in HTML."""
    for line in secret_lines:
        for form in {line, html.escape(line), html.escape(line, quote=False)}:
            if form in page:
                page = page.replace(form, HIDDEN)
    return page


# --------------------------------------------------------------------------
# Messages: what a student may read of a failure.

_FRAME = re.compile(r'^\s*(File "[^"]*", line \d+|Cell In\s*\[[^\]]*\], line \d+'
                    r'|<ipython-input-[^>]*>|Input In \[[^\]]*\])')
_TRACEBACK_NOISE = re.compile(r"^\s*(Traceback \(most recent call last\):?|-{20,}|[\^~]+"
                              r"|During handling of the above exception.*|The above exception was.*"
                              r"|.*\bTraceback \(most recent call last\).*)\s*$")
_POSIX_PATH = re.compile(r"(?<![\w.~/])(?:~|\.{1,2})?(?:/[\w.@+=-]+){2,}/?")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\\\s\"'<>|]+\\)*[^\\\s\"'<>|;,)]*")


def _without_traceback(lines):
    """Drop traceback frames (Python's and IPython's) and the code they quote."""
    frames = [i for i, line in enumerate(lines) if _FRAME.match(line)]
    if frames:
        # Everything up to the last frame is traceback; after it come the lines
        # of code it quotes (indented, numbered or carets), then the exception.
        head = [line for line in lines[:frames[0]] if not _TRACEBACK_NOISE.match(line)]
        rest = lines[frames[-1] + 1:]
        while rest and (rest[0][:1].isspace() or rest[0].startswith("-") or not rest[0].strip()
                        or _TRACEBACK_NOISE.match(rest[0])):
            rest = rest[1:]
        lines = head + rest
    return [line for line in lines if not _TRACEBACK_NOISE.match(line)]


def clean_message(text: object, secret_lines: Iterable[str] = ()) -> str:
    """A failure message as a student may read it: no colour codes, no traceback
    frames or quoted test code, no file paths, no hidden test line, bounded length."""
    text = ANSI.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(_without_traceback(text.split("\n"))).strip("\n")
    text = _WINDOWS_PATH.sub("[path]", _POSIX_PATH.sub("[path]", text))
    text = scrub(text, secret_lines)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + " [...]"
    return text


# --------------------------------------------------------------------------
# Math in text: which $...$ are formulas (autograder.typeset typesets them).

MAX_MATH_PER_TEXT = 40

# Code spans and fences are never math; \$ is a dollar; $$...$$ is display math;
# $...$ is inline math when it neither starts nor ends with a space, holds no
# backtick and is not followed by a digit (so "$5 and $6" stays text).
_MATH_TOKEN = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?P=ticks))"
    r"|(?P<escaped>\\\$)"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|\$(?P<inline>[^\s$`](?:[^$\n`]*?[^\s$`\\])?)\$(?!\d)",
    re.S)


def _split_math(text):
    """[(kind, text)] with kind "text", "inline" or "display"."""
    parts, position, count = [], 0, 0
    for match in _MATH_TOKEN.finditer(text):
        kind = "display" if match.group("display") is not None else (
            "inline" if match.group("inline") is not None else None)
        if kind is None or count >= MAX_MATH_PER_TEXT:
            continue
        count += 1
        parts.append(("text", text[position:match.start()]))
        parts.append((kind, match.group(kind)))
        position = match.end()
    parts.append(("text", text[position:]))
    return [(kind, value) for kind, value in parts if value]


def _text_html(text, math):
    """Plain text (a message) as HTML, its math typeset."""
    return "".join(html.escape(value) if kind == "text" else math.html(value, kind == "display")
                   for kind, value in _split_math(text))


@functools.lru_cache(maxsize=1)
def _markdown():
    import mistune

    class Renderer(mistune.HTMLRenderer):
        def image(self, text, url, title=None):  # never fetch: an image becomes its alt text
            return html.escape(text or "")

    return mistune.create_markdown(escape=True, renderer=Renderer(escape=True),
                                   plugins=["table", "strikethrough"])


def _markdown_html(source, math):
    """Markdown (raw HTML escaped, images dropped) as HTML, its math typeset."""
    formulas, pieces = [], []
    for kind, value in _split_math(source):
        if kind == "text":
            pieces.append(value)
        else:
            pieces.append(f"MATHPLACEHOLDER{len(formulas)}X")
            formulas.append((kind, value))
    def typeset(match):
        kind, tex = formulas[int(match.group(1))]
        return math.html(tex, kind == "display")

    return re.sub(r"MATHPLACEHOLDER(\d+)X", typeset, _markdown()("".join(pieces)))


# --------------------------------------------------------------------------
# Question text from the source notebooks.

SHORT_BLOCK_CHARS = 300
_POINTS = re.compile(r"\s*\(\s*\d+(?:\.\d+)?\s+points?\s*\)\s*$", re.I)


def _short_prompt(markdown):
    """(title, first paragraph) of a question's markdown, and the block after it
    when that is a formula, or short and introduced by a colon."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", markdown.strip()) if block.strip()]
    title = ""
    if blocks and blocks[0].startswith("#"):
        heading, _, rest = blocks[0].partition("\n")
        title = _POINTS.sub("", heading.lstrip("#").strip())
        blocks = ([rest.strip()] if rest.strip() else []) + blocks[1:]
    kept = blocks[:1]
    if len(blocks) > 1 and (blocks[1].startswith("$$") or (
            blocks[0].endswith(":") and len(blocks[1]) <= SHORT_BLOCK_CHARS)):
        kept.append(blocks[1])
    return title, "\n\n".join(kept)


@functools.lru_cache(maxsize=64)
def _prompts_of(path, _mtime):
    """grade_id -> (title, prompt markdown) for the test cells of a notebook:
    the markdown cell nearest before each test cell."""
    return _prompts_in(nbformat.read(path, as_version=4))


@functools.lru_cache(maxsize=64)
def _chinese_prompts_of(path, _mtime, assignment, _catalogue_mtime):
    """_prompts_of with the prompts in Chinese, from the exercise's catalogue
    (autograder.exercise_i18n; a paragraph without a translation stays English)."""
    from autograder.exercise_i18n import chinese_prompts_notebook

    return _prompts_in(chinese_prompts_notebook(path, assignment))


def _prompts_in(notebook):
    prompts, markdown = {}, ""
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            markdown = cell.source
        elif grading.get("grade") and grading.get("grade_id"):
            prompts[grading["grade_id"]] = _short_prompt(markdown) if markdown else ("", "")
    return prompts


@functools.lru_cache(maxsize=64)
def _hidden_lines_of(path, _mtime):
    return frozenset(hidden_lines(path))


def _source_paths(config, assignment):
    """notebook name -> [its source notebook in the course folder] (COURSE/source, the one
    source of truth: what grading used). None there (never released) stops with a message:
    without the hidden tests, a page could not be scrubbed of them."""
    from autograder.course import source_notebook_paths

    found = source_notebook_paths(config, assignment) if safe_name(assignment) == assignment else {}
    if not found:
        raise SystemExit(f"feedback: {config.source(assignment)} has no source notebooks; "
                         f"run `python -m autograder release {assignment}` first")
    return {name: [path] for name, path in found.items()}


def _chinese_prompts(config, assignment, notebook):
    """grade_id -> (title, prompt) of a notebook's questions in Chinese; {} if unreadable."""
    from autograder.exercise_i18n import catalogue_path

    catalogue = catalogue_path(assignment)
    for path in _source_paths(config, assignment).get(notebook, []):
        try:
            return _chinese_prompts_of(path, path.stat().st_mtime_ns, assignment,
                                       catalogue.stat().st_mtime_ns if catalogue.exists() else 0)
        except (OSError, ValueError) as error:
            print(f"feedback: cannot read {path.name} in Chinese: {error}", file=sys.stderr)
    return {}


def _page_language(config, result, notebook):
    """The language of the notebook the student submitted (its copy in COURSE/autograded/):
    zh_CN for the Chinese twin, else English. It chooses the page's words only."""
    from autograder.exercise_i18n import notebook_language

    return notebook_language(config.autograded(safe_name(result.student), safe_name(result.assignment))
                             / f"{safe_name(notebook)}.ipynb")


def _sources(config, assignment):
    """(notebook name -> prompts, every secret line of the assignment)."""
    prompts, secret = {}, set()
    for name, paths in _source_paths(config, assignment).items():
        for path in paths:
            try:
                mtime = path.stat().st_mtime_ns
                secret |= _hidden_lines_of(path, mtime)
                prompts.setdefault(name, _prompts_of(path, mtime))
            except (OSError, ValueError) as error:  # unreadable source: no prompts, say so
                print(f"feedback: cannot read {path.name}: {error}", file=sys.stderr)
    return prompts, secret


# --------------------------------------------------------------------------
# Pages.

STATUS_WORDS = {
    "passed": ("passed", "Passed: every check of this question held."),
    "failed": ("not yet", "Not yet: a check of this question failed."),
    "error": ("error", "Error: your code raised an exception when the tests called it."),
    "fault": ("stopped", "Stopped: your code crashed, ran out of time or ran out of memory."),
    "missing": ("missing", "Missing: the notebook or this answer was not found in your submission."),
}

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; color: #1a1a1a; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin: 0 0 .3rem; }
.meta { color: #555; margin-top: 0; } .total { font-size: 1.15rem; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #bbb; padding: .25rem .6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
section.question { border: 1px solid #ccc; border-left-width: 6px; border-radius: 4px; padding: .6rem 1rem; margin: 1.2rem 0; }
section.passed { border-left-color: #137333; } section.failed, section.error, section.fault, section.missing { border-left-color: #b00020; }
.score { font-weight: 600; } .verdict { margin: .4rem 0; }
.checks { margin: .3rem 0; padding-left: 1.2rem; } .checks li.passed { color: #1a5e20; }
.prompt { color: #444; font-size: .95em; border-bottom: 1px dashed #ddd; }
pre { font: .92em/1.45 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; padding: .5rem .7rem; border-radius: 4px; }
pre.error { background: #fdecec; border-left: 4px solid #b00020; }
pre.problem { background: #fff4e5; border-left: 4px solid #b26a00; }
code { font-family: ui-monospace, monospace; font-size: .92em; background: #f2f2f2; padding: 0 .2em; border-radius: 3px; }
svg.math { display: inline-block; overflow: visible; }
.math-display { display: block; margin: .5rem 0; max-width: 100%; overflow-x: auto; }
.math-display svg.math { display: block; margin: .3rem auto; }
svg.glyphs { position: absolute; width: 0; height: 0; overflow: hidden; }
footer { color: #666; font-size: .85rem; margin-top: 2rem; }
"""


def score_text(value: float) -> str:
    """A score as a page shows it: at most 2 decimals ("6.5", "10")."""
    return f"{round(float(value), 2):g}"


def _anchor(question):
    return "q-" + re.sub(r"[^A-Za-z0-9_-]", "-", question)


# How every page we write begins: `release --feedback` ships only such pages (nbgrader's
# generate_feedback, from the formgrader, writes its own to the same paths). Checked at
# the start of the file, where nothing a student wrote can be.
PAGE_START = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              '<meta name="generator" content="autograder feedback">\n')


def _page_start(language):
    from autograder.exercise_i18n import html_language

    return PAGE_START.replace('lang="en"', f'lang="{html_language(language)}"')


def written_by_us(path: Path | str) -> bool:
    """Whether a feedback page was written by our `feedback` command (not by nbgrader)."""
    from autograder.exercise_i18n import ENGLISH, LANGUAGE

    starts = [_page_start(language).encode() for language in (ENGLISH, LANGUAGE)]
    with open(path, "rb") as page:
        beginning = page.read(max(len(start) for start in starts))
    return any(beginning.startswith(start) for start in starts)


def _english(text):
    return text


def _page(title, body, math, language="en"):
    return (_page_start(language) + f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head>\n<body>\n"
            + math.defs() + "\n" + "\n".join(body) + "\n</body></html>\n")


def _header(result, notebook, tr=_english):
    lines = ["<h1>" + tr("Feedback: {assignment} / {notebook}").format(
                 assignment=html.escape(result.assignment), notebook=html.escape(notebook)) + "</h1>",
             '<p class="meta">' + tr("Student: {student}").format(
                 student=f"<strong>{html.escape(result.student)}</strong>"),
             " &middot; " + tr("assignment {assignment}").format(
                 assignment=f"<strong>{html.escape(result.assignment)}</strong>"),
             " &middot; " + tr("notebook {notebook}").format(
                 notebook=f"<strong>{html.escape(notebook)}.ipynb</strong>")]
    if result.timestamp:
        lines.append(" &middot; " + tr("submitted {time}").format(time=html.escape(result.timestamp)))
    if result.graded_at:
        lines.append(" &middot; " + tr("graded {time}").format(time=html.escape(result.graded_at)))
    lines.append("</p>")
    return "".join(lines)


def _summary_table(questions, titles, math, tr=_english):
    rows = ["<table><tr>" + "".join(f"<th>{tr(heading)}</th>" for heading in ("question", "score", "out of", "result"))
            + "</tr>"]
    for question in questions:
        title = titles.get(question.question) or question.question
        word = STATUS_WORDS.get(question.status, (question.status,))[0]
        rows.append(f'<tr><td><a href="#{_anchor(question.question)}">{_text_html(title, math)}</a></td>'
                    f'<td class="num">{score_text(question.score)}</td>'
                    f'<td class="num">{score_text(question.max_score)}</td>'
                    f"<td>{html.escape(tr(word))}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _question_section(question, prompt, secret, math, tr=_english):
    title, prompt_markdown = prompt
    title = scrub(title, secret) or question.question
    words = tr(STATUS_WORDS[question.status][1]) if question.status in STATUS_WORDS else \
        tr("Result: {status}.").format(status=question.status)
    parts = [f'<section class="question {html.escape(question.status)}" id="{_anchor(question.question)}">',
             f"<h2>{_text_html(title, math)}</h2>"]
    if prompt_markdown:
        parts.append('<div class="prompt">' + _markdown_html(scrub(prompt_markdown, secret), math) + "</div>")
    parts += ['<p class="score">' + tr("{score} / {out_of} points").format(
                  score=score_text(question.score), out_of=score_text(question.max_score))
              + f' <code>{html.escape(question.question)}</code></p>',
             f'<p class="verdict">{html.escape(words)}</p>']
    if question.checks:
        parts.append(_checks_list(question.checks, tr))
    if question.status != "passed":
        messages = [clean_message(message, secret) for message in question.messages[:MAX_MESSAGES]]
        messages = [message for message in messages if message.strip()]
        for message in messages:
            parts.append(f'<pre class="error">{_text_html(message, math)}</pre>')
        if len(question.messages) > MAX_MESSAGES:
            parts.append("<p>" + tr("... and {count} more messages.").format(
                count=len(question.messages) - MAX_MESSAGES) + "</p>")
        if not messages and question.status == "failed":
            parts.append("<p>" + tr("The failing check gave no message.") + "</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _checks_list(checks, tr=_english):
    """What each named check of a question gave (the reasons follow, in the messages)."""
    items = []
    for check in checks:
        word = tr("passed" if check.status == "passed" else "not passed")
        items.append(f'<li class="{html.escape(check.status)}"><code>{html.escape(check.name)}</code>: '
                     f"{score_text(check.score)} / {score_text(check.points)} &middot; {word}</li>")
    return f'<ul class="checks" aria-label="{tr("checks of this question")}">' + "".join(items) + "</ul>"


def render_page(result: SubmissionResult, notebook: str, prompts: dict[str, tuple[str, str]] | None = None,
                secret_lines: Iterable[str] = (), hand: HandGrades | None = None, language: str = "en") -> str:
    """The feedback page of one notebook of a SubmissionResult (an HTML string).

    prompts: grade_id -> (title, prompt markdown) of the notebook's questions.
    language: "zh_CN" for a submission made from the Chinese twin: the page's own words in
    Chinese (autograder.exercise_i18n.FEEDBACK_ZH), the failure messages as the tests wrote them.
    hand: the submission's hand grading (autograder.manual_grades.HandGrades): its scores
    replace the autograder's, and a section says what the instructor set and wrote.
    """
    prompts = prompts or {}
    graded, result = result, (hand.applied(result) if hand else result)
    math = Typesetter()
    questions = [q for q in result.questions if q.notebook == notebook]
    titles = {q.question: scrub(prompts.get(q.question, ("", ""))[0], secret_lines) for q in questions}
    from autograder.exercise_i18n import ENGLISH, translator

    tr = translator(language)
    body = [_header(result, notebook, tr)]
    if hand:
        body.append(hand.notes_html(graded, notebook, titles))
    if result.status != "graded":
        reason = clean_message(result.status, secret_lines) or tr("unknown reason")
        body.append(f'<p class="total">{tr("Your submission could not be graded.")}</p>')
        body.append(f'<pre class="problem">{html.escape(reason)}</pre>')
        body.append("<p>" + tr("Please check the notebook you submitted (its name, and that it opens "
                               "in Jupyter), and ask your instructor if the reason is not clear.") + "</p>")
        if questions:
            body.append(_summary_table(questions, titles, math, tr))
    else:
        score = sum(q.score for q in questions)
        possible = sum(q.max_score for q in questions)
        body.append('<p class="total">' + tr("Score for this notebook: {score}").format(
            score=f"<strong>{score_text(score)} / {score_text(possible)}</strong>"))
        if len(questions) != len(result.questions):
            body.append(" &middot; " + tr("assignment total: {total}").format(
                total=f"<strong>{score_text(result.score)} / {score_text(result.max_score)}</strong>"))
        body.append("</p>")
        if questions:
            body.append(_summary_table(questions, titles, math, tr))
            if language != ENGLISH:  # the tests' own messages are not translated
                body.append('<p class="note">' + tr("The failure messages below come from the tests "
                                                    "and are in English.") + "</p>")
            body.extend(_question_section(q, prompts.get(q.question, ("", "")), secret_lines, math, tr)
                        for q in questions)
        else:
            body.append("<p>" + tr("This notebook has no graded questions.") + "</p>")
        body.append("<footer>" + tr("The grader also runs hidden tests; they are not shown, "
                                    "the messages above say what they found.") + "</footer>")
    title = tr("Feedback: {assignment} / {notebook} ({student})").format(
        assignment=result.assignment, notebook=notebook, student=result.student)
    page = _page(title, body, math, language)
    return _scrub_page(page, secret_lines)


def safe_name(name: str) -> str:
    """A file-system-safe folder or file name that keeps ordinary names unchanged."""
    name = re.sub(r"[\x00-\x1f/\\]", "_", str(name))
    return "_" if name in ("", ".", "..") else name


def write_feedback(config: CourseConfig, result: SubmissionResult, gradebook: Gradebook | None = None) -> list[Path]:
    """Write COURSE/feedback/STUDENT/ASSIGNMENT/NOTEBOOK.html for every notebook of
    the assignment (and every notebook the result names); returns the paths.
    gradebook: the course's, when the caller has it open (the hand grades are read there)."""
    from autograder.results import write_atomic

    from autograder.manual_grades import hand_grades_of

    prompts, secret = _sources(config, result.assignment)
    hand = hand_grades_of(config, result, gradebook)
    notebooks = list(prompts)
    notebooks += sorted({q.notebook for q in result.questions} - set(notebooks))
    base = Path(config.root) / "feedback"
    folder = base / safe_name(result.student) / safe_name(result.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in notebooks:
        path = folder / f"{safe_name(notebook)}.html"
        language = _page_language(config, result, notebook)
        shown = prompts.get(notebook, {})
        if language != "en":  # a submission made from the Chinese twin: its prompts in Chinese
            shown = _chinese_prompts(config, result.assignment, notebook) or shown
        write_atomic(path, render_page(result, notebook, shown, secret, hand, language))
        path.chmod(0o644)  # the exchange hands it to the student; the temp file was 0600
        written.append(path)
    return written
