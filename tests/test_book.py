"""The book builds with -W, every page is there, and nothing secret or remote is in it."""
import html
import re

import pytest
import yaml

from autograder.course import COURSE_ROOT, assignments, source_notebooks
from autograder.feedback import hidden_lines
from submission_factory import solution_lines

ROOT = COURSE_ROOT
DISTINCTIVE_LINE = 30  # characters


def toc_files():
    """Every file named in _toc.yml, without extension, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


@pytest.fixture(scope="module")
def built(book_build):
    """(build process, HTML folder): the one build of this test run, shared with the browser tests."""
    return book_build


def test_book_builds_with_warnings_as_errors(built):
    process, html_dir = built
    assert process.returncode == 0, (process.stdout + process.stderr)[-5000:]
    assert (html_dir / "index.html").is_file()


def test_toc_lists_every_chapter_and_page():
    listed = set(toc_files())
    on_disk = {f"book/{p.stem}" for p in (ROOT / "book").iterdir()
               if p.suffix in (".ipynb", ".md") and p.stem != "README"}
    assert on_disk - listed == set(), "pages missing from _toc.yml"
    assert listed - on_disk == set(), "_toc.yml names pages that do not exist"


@pytest.mark.parametrize("page", toc_files())
def test_every_page_is_built_without_cell_errors(built, page):
    _, html_dir = built
    path = html_dir / f"{page}.html"
    assert path.is_file(), f"{page} was not built"
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in text
    assert not re.search(r'class="[^"]*\b(traceback|output error|stderr)\b', text), page


def all_built_text(html_dir):
    parts = []
    for path in html_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".txt", ".ipynb", ".md", ".js", ".py"):
            if "mathjax" in path.parts:
                continue
            parts.append(html.unescape(path.read_text(encoding="utf-8", errors="replace")))
    return "\n".join(parts)


def test_no_solution_or_hidden_test_in_the_published_book(built):
    _, html_dir = built
    text = all_built_text(html_dir)
    assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", text)
    for assignment in assignments():
        for name in source_notebooks(assignment):
            for line in hidden_lines(ROOT / "solutions" / assignment / f"{name}.ipynb"):
                # Short lines ("for j in range(n):") are idioms a chapter may share.
                if len(line) >= DISTINCTIVE_LINE:
                    assert line not in text, f"hidden test line published: {line}"
        downloads = " ".join(p.read_text(encoding="utf-8") for p in html_dir.rglob(f"{assignment}.ipynb"))
        for line in solution_lines(assignment):
            assert line not in downloads, f"solution published in a download: {line}"


def test_pages_load_nothing_from_other_hosts_and_math_is_local(built):
    _, html_dir = built
    remote = re.compile(r"""<(script|link|img|iframe)[^>]+(src|href)=["'](https?:)?//""", re.I)
    math_pages = 0
    for path in html_dir.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        match = remote.search(text)
        assert not match, f"{path.relative_to(html_dir)} loads {match.group(0)}"
        for src in re.findall(r'<script[^>]+src="([^"]*tex-mml-chtml\.js)', text):
            math_pages += 1
            assert (path.parent / src).resolve().is_file(), f"{path.name}: MathJax not found at {src}"
    assert math_pages >= 10, "MathJax should be on every page with math"
    assert (html_dir / "mathjax" / "tex-mml-chtml.js").is_file()


def test_chapters_link_to_their_exercises(built):
    _, html_dir = built
    downloads = {p.name for p in (html_dir / "_downloads").rglob("*.ipynb")}
    for assignment in assignments():
        assert f"{assignment}.ipynb" in downloads, f"no chapter links to {assignment}"
