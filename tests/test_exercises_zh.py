"""The exercises in Chinese (autograder/exercise_i18n.py): the catalogues of their prompts,
the Chinese twins release writes (exercises/ASSIGNMENT/zh/), grading a twin exactly like
the English notebook, and the Chinese feedback page of a twin submission."""
import copy
import html
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from babel.messages.pofile import read_po, write_po
from nbgrader.utils import compute_checksum

from autograder import exercise_i18n, feedback
from autograder.config import load_config
from autograder.course import assignments, source_notebooks
from autograder.exercise_i18n import (FEEDBACK_ZH, LANGUAGE, MissingTranslation, catalogue_path, messages,
                                      paragraphs, translations, twin_path, write_twin)
from autograder.results import CheckResult, QuestionResult, SubmissionResult, load_results
from submission_factory import make_submission, reference_answers, write_submission

ASSIGNMENTS = assignments()
CJK = re.compile(r"[\u4e00-\u9fff]")
# What a translation keeps character for character: code spans and math.
MARKUP = re.compile(r"(`+)(.+?)\1|\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)


def read_catalogue(assignment, catalogue_dir=exercise_i18n.CATALOGUE_DIR):
    with open(catalogue_path(assignment, catalogue_dir), "rb") as stream:
        return read_po(stream, locale=LANGUAGE)


def markup(text):
    return sorted(" ".join(match.group(0).split()) for match in MARKUP.finditer(text))


def source_paragraphs(root, assignment):
    found = []
    for name in source_notebooks(assignment):
        found += [text for text, _ in messages(json.loads(
            (root / "solutions" / assignment / f"{name}.ipynb").read_text(encoding="utf-8")))]
    return found


# --------------------------------------------------------------------------
# Messages and catalogues.


def test_paragraphs_split_on_blank_lines_but_keep_a_fenced_block_whole():
    text = "# Title\n\nOne\nparagraph.\n\n```python\na = 1\n\nb = 2\n```\n\n- a\n- b\n"
    assert paragraphs(text) == ["# Title", "One\nparagraph.", "```python\na = 1\n\nb = 2\n```", "- a\n- b"]


def test_every_assignment_has_one_catalogue_and_nothing_else_is_there(root):
    folder = exercise_i18n.CATALOGUE_DIR
    assert sorted(path.stem for path in folder.glob("*.po")) == ASSIGNMENTS
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{a}.po" for a in ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_holds_exactly_the_paragraphs_of_the_source(root, assignment):
    held = {message.id for message in read_catalogue(assignment) if message.id}
    current = set(source_paragraphs(root, assignment))
    assert held == current, (
        f"{catalogue_path(assignment).name} is not up to date with solutions/{assignment}: run "
        f"`python3 tasks.py catalogues` and translate.\nmissing: {sorted(current - held)[:5]}\n"
        f"stale: {sorted(held - current)[:5]}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_paragraph_is_translated_with_its_code_and_math_intact(assignment):
    catalogue = read_catalogue(assignment)
    assert not catalogue.obsolete, f"obsolete entries: {list(catalogue.obsolete)[:3]}"
    for message in catalogue:
        if not message.id:
            continue
        assert message.string, f"not translated: {message.id[:120]!r}"
        assert not message.fuzzy, f"fuzzy: {message.id[:120]!r}"
        assert markup(message.string) == markup(message.id), (
            f"code or math changed in the translation of {message.id[:120]!r}:\n{message.string[:300]}")
        if CJK.search(message.id) is None and re.search(r"[A-Za-z]{4,}", re.sub(MARKUP, "", message.id)):
            assert CJK.search(message.string), f"still English: {message.string[:120]!r}"
        if message.id.startswith("#"):  # a heading stays a heading of the same level
            assert message.string.split(" ")[0] == message.id.split(" ")[0], message.string


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (Debian's gettext) is not installed")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_passes_msgfmt_check(assignment):
    process = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(catalogue_path(assignment))],
                             capture_output=True, text=True)
    assert process.returncode == 0, process.stderr


def test_update_keeps_translations_marks_a_changed_paragraph_fuzzy_and_adds_a_new_one(root, tmp_path):
    assignment = "scoring_functions"
    shutil.copy(catalogue_path(assignment), tmp_path / f"{assignment}.po")
    notebook = json.loads((root / "solutions" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    intro = next(cell for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    source = "".join(intro["source"])
    changed = paragraphs(source)[1]
    intro["source"] = source.replace(changed, changed.replace("practises", "practices")) + "\n\nA new paragraph."
    edited = tmp_path / f"{assignment}.ipynb"
    edited.write_text(json.dumps(notebook), encoding="utf-8")
    exercise_i18n.update_catalogue(assignment, [edited], tmp_path)
    updated = {message.id: message for message in read_catalogue(assignment, tmp_path) if message.id}
    assert updated["A new paragraph."].string == ""
    new_id = changed.replace("practises", "practices")
    assert updated[new_id].fuzzy and CJK.search(updated[new_id].string)  # the old translation, to check
    unchanged = paragraphs(source)[0]
    assert not updated[unchanged].fuzzy and updated[unchanged].string == translations(assignment)[unchanged]
    table = translations(assignment, tmp_path)  # what release would use: neither fuzzy nor empty
    assert new_id not in table and "A new paragraph." not in table and unchanged in table


# --------------------------------------------------------------------------
# The twins.


def released_and_twin(root, assignment, name):
    english = nbformat.read(root / "exercises" / assignment / f"{name}.ipynb", as_version=4)
    chinese = nbformat.read(root / "exercises" / assignment / "zh" / f"{name}.ipynb", as_version=4)
    return english, chinese


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_twin_is_the_released_notebook_with_translated_prose_only(root, assignment):
    for name in source_notebooks(assignment):
        english, chinese = released_and_twin(root, assignment, name)
        assert chinese.metadata["course"]["language"] == LANGUAGE
        assert {k: v for k, v in chinese.metadata.items() if k != "course"} == english.metadata
        assert len(chinese.cells) == len(english.cells)
        for index, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
            assert en.cell_type == zh.cell_type, index
            if en.cell_type != "markdown":
                assert zh == en, f"{name} cell {index}: a code cell differs from the English"
                continue
            grading_en, grading_zh = dict(en.metadata["nbgrader"]), dict(zh.metadata["nbgrader"])
            # nbgrader's checksum of a locked cell covers its text: recomputed, all else identical.
            assert grading_zh.pop("checksum") == compute_checksum(zh)
            grading_en.pop("checksum")
            assert grading_zh == grading_en
            assert {k: v for k, v in zh.metadata.items() if k != "nbgrader"} == \
                {k: v for k, v in en.metadata.items() if k != "nbgrader"}
            assert zh.get("id") == en.get("id")
            assert CJK.search(zh.source) and zh.source != en.source, f"{name} cell {index} is not Chinese"
            assert len(paragraphs(zh.source)) == len(paragraphs(en.source))


def test_twin_keeps_the_file_name_of_the_released_notebook(root):
    for assignment in ASSIGNMENTS:
        for name in source_notebooks(assignment):
            path = root / "exercises" / assignment / f"{name}.ipynb"
            assert twin_path(path) == root / "exercises" / assignment / "zh" / f"{name}.ipynb"
            assert twin_path(path).is_file()


@pytest.mark.parametrize("how", ["untranslated", "fuzzy"])
def test_a_paragraph_without_translation_stops_the_release(root, tmp_path, how):
    assignment = "scoring_functions"
    catalogue = read_catalogue(assignment)
    victim = next(message for message in catalogue if message.id.startswith("## Question 2"))
    if how == "untranslated":
        victim.string = ""
    else:
        victim.flags.add("fuzzy")
    with open(tmp_path / f"{assignment}.po", "wb") as stream:
        write_po(stream, catalogue, width=1000)
    released = tmp_path / assignment / f"{assignment}.ipynb"
    released.parent.mkdir()
    shutil.copy(root / "exercises" / assignment / f"{assignment}.ipynb", released)
    with pytest.raises(MissingTranslation) as raised:
        write_twin(released, assignment, tmp_path)
    message = str(raised.value)
    assert "1 paragraph(s) of scoring_functions have no Chinese translation" in message
    assert "## Question 2" in message and "tasks.py catalogues" in message
    assert not twin_path(released).exists()


def test_a_missing_catalogue_stops_the_release(root, tmp_path):
    released = tmp_path / f"{ASSIGNMENTS[0]}.ipynb"
    shutil.copy(root / "exercises" / ASSIGNMENTS[0] / f"{ASSIGNMENTS[0]}.ipynb", released)
    with pytest.raises(MissingTranslation, match="no catalogue"):
        write_twin(released, ASSIGNMENTS[0], tmp_path / "nothing")


# --------------------------------------------------------------------------
# Grading a twin, and its feedback, through the real commands.

# One assignment in the fast suite (about 18 s: three submissions graded, sandboxed, and
# their pages written); the other eight only with the slow tests (the CI runs them).
FAST = "scoring_functions"
GRADED = [pytest.param(a, marks=() if a == FAST else pytest.mark.slow) for a in ASSIGNMENTS]


@pytest.fixture(scope="module", params=GRADED)
def graded_twin(request, tmp_path_factory, tool_env):
    """An assignment's twin submitted with the reference answers and blank, and the English
    notebook with the reference answers, graded by `python -m autograder grade` (sandboxed)
    and given feedback pages by `python -m autograder feedback`."""
    assignment = request.param
    course = tmp_path_factory.mktemp(f"zh-{assignment}")
    notebook = source_notebooks(assignment)[0]
    answers = list(reference_answers(assignment))
    submissions = {"zh-reference": make_submission(assignment, chinese=True),
                   "zh-blank": make_submission(assignment, blank=answers, chinese=True),
                   "en-reference": make_submission(assignment)}
    for student, content in submissions.items():
        write_submission(course / "submitted", student, notebook, content, assignment)
    runs = [subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), command, assignment, *extra],
                           env=tool_env, capture_output=True, text=True, timeout=900)
            for command, extra in (("grade", ["--jobs", "2"]), ("feedback", []))]
    results = {r.student: r for r in load_results(load_config(course), assignment)}
    return {"assignment": assignment, "course": course, "runs": runs, "results": results, "notebook": notebook}


def test_twin_with_the_reference_answers_scores_full_marks_and_blank_scores_zero(graded_twin):
    for process in graded_twin["runs"]:
        assert process.returncode == 0, process.stderr[-3000:]
    reference, blank, english = (graded_twin["results"][s] for s in ("zh-reference", "zh-blank", "en-reference"))
    assert reference.status == blank.status == "graded"
    assert reference.max_score > 0 and reference.score == reference.max_score == english.score
    assert {q.question: q.score for q in reference.questions} == {q.question: q.score for q in english.questions}
    assert blank.score == 0 and blank.max_score == reference.max_score


def test_feedback_of_a_twin_submission_is_in_chinese(graded_twin):
    folder = graded_twin["course"] / "feedback"
    page = f"{graded_twin['assignment']}/{graded_twin['notebook']}.html"
    chinese = (folder / "zh-blank" / page).read_text(encoding="utf-8")
    english = (folder / "en-reference" / page).read_text(encoding="utf-8")
    assert chinese.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert english.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert feedback.written_by_us(folder / "zh-blank" / page)  # release --feedback ships it
    for words in ("反馈：", "<th>题目</th><th>得分</th><th>满分</th><th>结果</th>", "本笔记本得分：",
                  FEEDBACK_ZH["The failure messages below come from the tests and are in English."],
                  FEEDBACK_ZH["The grader also runs hidden tests; they are not shown, the messages above say "
                              "what they found."]):
        assert words in chinese, words
    assert "<h2>第 1 题" in html.unescape(chinese)  # the prompts of the twin
    assert "Score for this notebook" not in chinese and "<h2>Question" not in chinese
    assert "第 1 题" not in english and "come from the tests" not in english and "本笔记本" not in english


# --------------------------------------------------------------------------
# The page itself.


def test_render_page_in_chinese_translates_every_word_of_the_grader(root):
    prompts = feedback._prompts_in(exercise_i18n.chinese_prompts_notebook(
        root / "solutions" / "scoring_functions" / "scoring_functions.ipynb", "scoring_functions"))
    statuses = list(feedback.STATUS_WORDS)
    questions = [QuestionResult("scoring_functions", grade_id, 0, 1, statuses[i % len(statuses)],
                                ["AssertionError: log_softmax: wrong axis"] * 11)
                 for i, grade_id in enumerate(prompts)]
    questions[1].checks = [CheckResult("axis=0", 1, 0, "failed", "wrong axis")]
    result = SubmissionResult("erin", "scoring_functions", "digest", "graded", timestamp="2026-12-01T10:00:00",
                              questions=questions + [QuestionResult("other", "q", 1, 1, "passed")])
    page = feedback.render_page(result, "scoring_functions", prompts, language=LANGUAGE)
    for english, chinese in FEEDBACK_ZH.items():
        if "{" not in english and english not in ("Your submission could not be graded.", "unknown reason",
                                                  "This notebook has no graded questions.", "Result: {status}.",
                                                  "Please check the notebook you submitted (its name, and that "
                                                  "it opens in Jupyter), and ask your instructor if the reason "
                                                  "is not clear.", "The failing check gave no message.",
                                                  "not passed", "passed"):
            assert html.escape(chinese, quote=False) in page, english
    assert "作业总分：" in page and "……另有 1 条消息。" in page and "提交于 2026-12-01T10:00:00" in page
    assert "AssertionError: log_softmax: wrong axis" in page  # the test's message, as it wrote it
    english = feedback.render_page(result, "scoring_functions", prompts)
    assert 'lang="en"' in english and "come from the tests" not in english and "本笔记本得分" not in english


def test_a_chinese_page_that_could_not_be_graded_says_so_in_chinese():
    result = SubmissionResult("erin", "scoring_functions", "digest", "scoring_functions.ipynb: not valid JSON")
    page = feedback.render_page(result, "scoring_functions", {}, language=LANGUAGE)
    assert FEEDBACK_ZH["Your submission could not be graded."] in page and "not valid JSON" in page
    assert "Please check" not in page


def test_language_of_a_notebook_is_english_unless_it_says_chinese(tmp_path):
    path = tmp_path / "a.ipynb"
    for content, expected in ((None, "en"), ("not json", "en"), ({"metadata": {}}, "en"),
                              ({"metadata": {"course": {"language": "fr"}}}, "en"),
                              ({"metadata": {"course": "zh_CN"}}, "en"),
                              ({"metadata": {"course": {"language": "zh_CN"}}}, LANGUAGE)):
        if content is not None:
            path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        assert exercise_i18n.notebook_language(path) == expected, content


def test_translate_notebook_leaves_the_english_notebook_alone(root):
    english = nbformat.read(root / "exercises" / "multi_head" / "multi_head.ipynb", as_version=4)
    before = copy.deepcopy(english)
    exercise_i18n.translate_notebook(copy.deepcopy(english), translations("multi_head"))
    assert english == before


def test_pages_of_both_languages_count_as_ours_and_no_other_page_does(tmp_path):
    result = SubmissionResult("erin", "scoring_functions", "digest", "graded")
    for language, ours in (("en", True), (LANGUAGE, True)):
        path = tmp_path / f"{language}.html"
        path.write_text(feedback.render_page(result, "scoring_functions", {}, language=language), encoding="utf-8")
        assert feedback.written_by_us(path) is ours
    foreign = tmp_path / "nbgrader.html"
    foreign.write_text('<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">\n<title>x</title>',
                       encoding="utf-8")
    assert not feedback.written_by_us(foreign)
