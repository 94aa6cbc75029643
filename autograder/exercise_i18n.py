"""The exercises in Chinese: catalogues of their prompts, the Chinese twin of each released
notebook, and the Chinese words of the feedback pages.

- Catalogue: locales/zh_CN/LC_MESSAGES/exercises/ASSIGNMENT.po, one message per paragraph
  of the source notebook's markdown cells (paragraphs, not whole cells: an edit to one
  paragraph leaves the translations of the others valid). `python3 tasks.py catalogues`
  updates them (update_catalogue); translators fill in the msgstr (locales/README.md).
- Twin: exercises/ASSIGNMENT/zh/NOTEBOOK.ipynb, written by `release` (write_twin): the
  released notebook with every markdown cell translated, code cells and metadata untouched,
  and metadata["course"]["language"] = "zh_CN". Its file name is the English one, so the
  grader matches a submission made from it exactly like the English notebook. A paragraph
  without a translation stops the release (MissingTranslation), never an English cell.
- Feedback: the language of a graded notebook (notebook_language) chooses the words of the
  feedback page (translator): FEEDBACK_ZH is their only catalogue.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.course import COURSE_ROOT

if TYPE_CHECKING:
    from nbformat import NotebookNode

LANGUAGE = "zh_CN"
ENGLISH = "en"
CATALOGUE_DIR = COURSE_ROOT / "locales" / LANGUAGE / "LC_MESSAGES" / "exercises"
TWIN_FOLDER = "zh"  # exercises/ASSIGNMENT/zh/NOTEBOOK.ipynb

_FENCE = re.compile(r"^\s*(```|~~~)")


class MissingTranslation(Exception):
    """A paragraph of an exercise's prompts has no (non-fuzzy) translation."""


# --------------------------------------------------------------------------
# Messages: the paragraphs of a notebook's markdown cells.


def paragraphs(markdown: str) -> list[str]:
    """The paragraphs of a markdown text: blocks separated by blank lines, a fenced code
    block (which may hold blank lines) kept whole."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in markdown.strip("\n").split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _cell_name(cell, index):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"


def messages(notebook: Mapping[str, Any]) -> list[tuple[str, str]]:
    """[(paragraph, where)] of every markdown cell of a notebook (a dict, as in JSON), in order."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "markdown":
            found += [(text, _cell_name(cell, index)) for text in paragraphs(_source(cell))]
    return found


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


# --------------------------------------------------------------------------
# Catalogues.


def catalogue_path(assignment: str, catalogue_dir: Path | str = CATALOGUE_DIR) -> Path:
    return Path(catalogue_dir) / f"{assignment}.po"


def update_catalogue(assignment: str, source_notebooks: Iterable[Path | str], catalogue_dir: Path | str = CATALOGUE_DIR) -> Path:
    """Bring ASSIGNMENT.po up to date with the paragraphs of the source notebooks (paths):
    new paragraphs get an empty msgstr, changed ones a fuzzy guess (Babel's matching, as
    sphinx-intl does for the book), removed ones become obsolete. Returns the path."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = Catalog(locale=LANGUAGE, project=f"exercise {assignment}", fuzzy=False)
    for path in source_notebooks:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        for text, where in messages(notebook):
            template.add(text, locations=[(f"{Path(path).name}:{where}", None)])
    path = catalogue_path(assignment, catalogue_dir)
    if path.exists():
        with path.open("rb") as stream:
            catalogue = read_po(stream, locale=LANGUAGE)
        catalogue.update(template, update_header_comment=False)
    else:
        catalogue = template
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        # Wide lines keep a paragraph's own line breaks readable; no python-format flags
        # (our messages are Markdown, see tasks.drop_format_flags).
        write_po(stream, catalogue, width=1000, omit_header=False, sort_output=False,
                 include_previous=True)
    _drop_format_flags(path)
    return path


def _drop_format_flags(path):
    lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
             if line.strip() not in ("#, python-format", "#, python-brace-format")]
    path.write_text("".join(lines), encoding="utf-8")


def translations(assignment: str, catalogue_dir: Path | str = CATALOGUE_DIR) -> dict[str, str]:
    """English paragraph -> Chinese paragraph: the catalogue's non-empty, non-fuzzy messages."""
    from babel.messages.pofile import read_po

    path = catalogue_path(assignment, catalogue_dir)
    if not path.exists():
        raise MissingTranslation(f"no catalogue {path.name} for the exercise {assignment} "
                                 f"(run `python3 tasks.py catalogues`, then translate it)")
    with path.open("rb") as stream:
        catalogue = read_po(stream, locale=LANGUAGE)
    return {message.id: message.string for message in catalogue
            if message.id and message.string and not message.fuzzy}


# --------------------------------------------------------------------------
# Notebooks in Chinese.


def translate_markdown(markdown: str, table: Mapping[str, str], strict: bool = True) -> str:
    """A markdown text with each paragraph replaced by its translation. strict: a paragraph
    without one raises MissingTranslation; otherwise it stays English (feedback prompts)."""
    translated: list[str] = []
    missing: list[str] = []
    for text in paragraphs(markdown):
        if text not in table:
            missing.append(text)
        translated.append(table.get(text, text))
    if missing and strict:
        raise MissingTranslation(missing)
    return "\n\n".join(translated)


def translate_notebook(notebook: NotebookNode, table: Mapping[str, str], strict: bool = True) -> NotebookNode:
    """The notebook (nbformat's NotebookNode) with every markdown cell translated and its
    nbgrader checksum recomputed (nbgrader's validate checks the checksum of locked cells
    against their text). Code cells and every other metadata are left as they are."""
    from nbgrader.utils import compute_checksum

    missing = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        try:
            cell.source = translate_markdown(cell.source, table, strict)
        except MissingTranslation as error:
            missing += error.args[0]
            continue
        grading = cell.metadata.get("nbgrader", {})
        if "checksum" in grading:
            grading["checksum"] = compute_checksum(cell)
    if missing:
        raise MissingTranslation(missing)
    notebook.metadata.setdefault("course", {})["language"] = LANGUAGE
    return notebook


def twin_path(released_path: Path | str) -> Path:
    """exercises/A/zh/A.ipynb for exercises/A/A.ipynb: the same file name, so the grader
    matches a submission made from the twin like one made from the English notebook."""
    released_path = Path(released_path)
    return released_path.parent / TWIN_FOLDER / released_path.name


def write_twin(released_path: Path | str, assignment: str, catalogue_dir: Path | str = CATALOGUE_DIR) -> Path:
    """Write the Chinese twin of a released notebook; returns its path."""
    import nbformat

    notebook = nbformat.read(released_path, as_version=4)
    try:
        translate_notebook(notebook, translations(assignment, catalogue_dir))
    except MissingTranslation as error:
        untranslated = error.args[0]
        if isinstance(untranslated, str):
            raise
        shown = "\n".join(f"  - {text[:100]!r}" for text in untranslated[:10])
        raise MissingTranslation(
            f"{len(untranslated)} paragraph(s) of {assignment} have no Chinese translation in "
            f"{_shown(catalogue_path(assignment, catalogue_dir))} (run `python3 tasks.py "
            f"catalogues`, translate, remove the fuzzy flags; locales/README.md):\n{shown}") from None
    path = twin_path(released_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def _shown(path):
    """A path as a message shows it: relative to the repository when inside it."""
    path = Path(path)
    return path.relative_to(COURSE_ROOT) if path.is_relative_to(COURSE_ROOT) else path


def notebook_language(path: Path | str) -> str:
    """The language a notebook records (metadata.course.language): LANGUAGE or ENGLISH.
    Anything unreadable or unknown is English (it only chooses the feedback's words)."""
    try:
        metadata = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
        language = metadata.get("course", {}).get("language")
    except (OSError, ValueError, AttributeError):
        return ENGLISH
    return LANGUAGE if language == LANGUAGE else ENGLISH


def chinese_prompts_notebook(source_path: Path | str, assignment: str, catalogue_dir: Path | str = CATALOGUE_DIR) -> NotebookNode:
    """A source notebook with its prompts in Chinese where the catalogue has them (the
    feedback page of a twin shows these); paragraphs without a translation stay English."""
    import nbformat

    notebook = nbformat.read(source_path, as_version=4)
    try:
        table = translations(assignment, catalogue_dir)
    except MissingTranslation:
        table = {}
    return translate_notebook(notebook, table, strict=False)


# --------------------------------------------------------------------------
# The feedback page's own words.

# English (as feedback.py writes it) -> Chinese. Templates keep their {fields}.
FEEDBACK_ZH = {
    "Feedback: {assignment} / {notebook}": "反馈：{assignment} / {notebook}",
    "Feedback: {assignment} / {notebook} ({student})": "反馈：{assignment} / {notebook}（{student}）",
    "Student: {student}": "学生：{student}",
    "assignment {assignment}": "作业 {assignment}",
    "notebook {notebook}": "笔记本 {notebook}",
    "submitted {time}": "提交于 {time}",
    "graded {time}": "评分于 {time}",
    # the summary table's headings and the results in words (feedback.STATUS_WORDS)
    "question": "题目",
    "score": "得分",
    "out of": "满分",
    "result": "结果",
    "passed": "通过",
    "not yet": "尚未通过",
    "error": "出错",
    "stopped": "已中止",
    "missing": "缺失",
    "Passed: every check of this question held.": "通过：本题的每一项检查都成立。",
    "Not yet: a check of this question failed.": "尚未通过：本题有一项检查未通过。",
    "Error: your code raised an exception when the tests called it.": "出错：测试调用你的代码时，代码抛出了异常。",
    "Stopped: your code crashed, ran out of time or ran out of memory.": "已中止：你的代码崩溃了、超时了或内存耗尽了。",
    "Missing: the notebook or this answer was not found in your submission.":
        "缺失：在你提交的内容中没有找到这个笔记本或这道题的答案。",
    "Result: {status}.": "结果：{status}。",
    # a question's section
    "{score} / {out_of} points": "{score} / {out_of} 分",
    "not passed": "未通过",
    "checks of this question": "本题的各项检查",
    "... and {count} more messages.": "……另有 {count} 条消息。",
    "The failing check gave no message.": "未通过的检查没有给出消息。",
    # the page
    "Your submission could not be graded.": "你的提交无法评分。",
    "unknown reason": "原因不明",
    "Please check the notebook you submitted (its name, and that it opens in Jupyter), and ask "
    "your instructor if the reason is not clear.":
        "请检查你提交的笔记本（它的文件名，以及它能否在 Jupyter 中打开）；如果原因不清楚，请询问你的教师。",
    "Score for this notebook: {score}": "本笔记本得分：{score}",
    "assignment total: {total}": "作业总分：{total}",
    "This notebook has no graded questions.": "本笔记本没有评分的题目。",
    "The failure messages below come from the tests and are in English.":
        "下面的失败消息来自测试代码，保留英文原文。",
    "The grader also runs hidden tests; they are not shown, the messages above say what they found.":
        "评分程序还会运行隐藏测试；这些测试不予显示，上面的消息说明了它们发现的问题。",
}


def translator(language: str) -> Callable[[str], str]:
    """A function English text -> the text in `language` (the identity for English)."""
    if language != LANGUAGE:
        return lambda text: text
    return lambda text: FEEDBACK_ZH.get(text, text)


def html_language(language: str) -> str:
    """The page's lang attribute."""
    return "zh-CN" if language == LANGUAGE else "en"


def update_all_catalogues(catalogue_dir: Path | str = CATALOGUE_DIR) -> list[Path]:
    """update_catalogue for every assignment, from its notebooks in solutions/; returns the paths."""
    from autograder.course import SOLUTIONS_DIR, assignments

    return [update_catalogue(assignment, sorted((SOLUTIONS_DIR / assignment).glob("*.ipynb")), catalogue_dir)
            for assignment in assignments()]
