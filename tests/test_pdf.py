"""The PDF edition: `python3 tasks.py pdf`, checked from the outside with poppler.

The book built for this run (conftest's book_build) is built again as one
HTML page in the same folder (its doctrees are reused, so no notebook runs
twice) and printed by Debian's chromium. pdftotext must find every chapter's
title, numbered sections, the bibliography and no raw TeX; pdfimages must
find at least one raster image per raster figure of the HTML book.
"""
import importlib.util
import json
import re
import subprocess
import time
from html.parser import HTMLParser

import pytest

from autograder.course import COURSE_ROOT as ROOT
from browser_support import toc_pages

spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
tasks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tasks)

PAGES = toc_pages(ROOT)


@pytest.fixture(scope="module")
def pdf(book_build):
    process, html_dir = book_build
    assert process.returncode == 0, (process.stdout + process.stderr)[-3000:]
    start = time.perf_counter()
    code, path = tasks.build_pdf(html_dir.parent.parent)
    assert code == 0 and path.is_file(), "python3 tasks.py pdf failed"
    return {"path": path, "html": html_dir, "seconds": time.perf_counter() - start}


def poppler(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def text(pdf):
    return " ".join(poppler("pdftotext", "-enc", "UTF-8", pdf["path"], "-").split())


def title(source):
    """A page's title: its first level-1 heading."""
    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        body = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    else:
        body = source.read_text(encoding="utf-8")
    return re.search(r"^# (.+)$", body, flags=re.M).group(1).strip()


def letters(text):
    """Only letters and digits, lower case: pdftotext joins a word hyphenated at a line end."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def test_pdf_has_pages(pdf, record_property):
    info = poppler("pdfinfo", pdf["path"])
    pages = int(re.search(r"^Pages:\s+(\d+)", info, flags=re.M).group(1))
    size = pdf["path"].stat().st_size
    assert pages > 50 and size > 500_000
    record_property("summary", f"book.pdf: {pages} pages, {size / 2**20:.1f} MiB, "
                    f"single page build and print {pdf['seconds']:.0f} s")


@pytest.mark.parametrize("name, source", PAGES, ids=[name for name, _ in PAGES])
def test_every_page_of_the_toc_is_in_the_pdf(text, name, source):
    assert letters(title(source)) in letters(text)


def test_chapters_and_sections_are_numbered(text):
    chapters = [source for _, source in PAGES if re.match(r"\d\d_", source.name)]
    for number, source in enumerate(chapters, start=1):
        assert letters(f"{number}. {title(source)}") in letters(text), f"chapter {number} is numbered"
    assert re.search(r"\b5\.1\. \w", text), "sections are numbered too"


def test_math_is_typeset_not_raw_tex(text):
    assert "$$" not in text and "\\frac" not in text and "\\sqrt" not in text
    assert "softmax" in text


def test_bibliography_is_in_the_pdf(text):
    bibliography = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    years_and_authors = re.findall(r"author\s*=\s*\{([^,{}]+)", bibliography)
    assert years_and_authors
    missing = [author for author in years_and_authors if letters(author) not in letters(text)]
    assert missing == [], f"bibliography entries not in the PDF: {missing}"


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and "src" in attrs:
            self.sources.append(attrs["src"])


def figures_of_the_html_book(html_dir):
    """Every image shown in the article of every page of the HTML book."""
    sources = []
    for name, _ in PAGES:
        page = (html_dir / f"{name}.html").read_text(encoding="utf-8")
        article = page[page.find("<article"):page.rfind("</article>")]
        parser = Images()
        parser.feed(article)
        sources += parser.sources
    return sources


def test_every_figure_is_in_the_pdf(pdf):
    figures = figures_of_the_html_book(pdf["html"])
    raster = [src for src in figures if re.search(r"\.(png|jpe?g|gif|webp)$", src, flags=re.I)]
    vector = [src for src in figures if src.lower().endswith(".svg")]
    assert len(raster) + len(vector) == len(figures) and len(raster) > 20
    rows = poppler("pdfimages", "-list", pdf["path"]).splitlines()[2:]
    images = [row for row in rows if row.split()[2] == "image"]  # not the soft masks (alpha)
    assert len(images) >= len(raster), f"{len(images)} images in the PDF, {len(raster)} in the HTML"
    # An SVG figure is printed as vector paths, which pdfimages cannot count:
    # it must at least be on the single page that was printed.
    single = (pdf["path"].parent.parent / "singlehtml" / "book.html").read_text(encoding="utf-8")
    for src in vector:
        assert src.rsplit("/", 1)[-1] in single
