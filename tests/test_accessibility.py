"""Keyboard use, highlights and alt text, beyond what axe-core checks on every page.

test_browser.py runs axe-core on every page in light, dark and phone views.
Here, in the same Debian chromium on the shared build: the header's and the
sidebar's controls show a focus outline when reached with Tab; an equation
that scrolls sideways can be reached with Tab; the words a search highlights
keep their contrast in dark mode; and a figure whose cell computed its alt
text gets exactly that text on the page.
"""
import json
from html.parser import HTMLParser

import pytest
from playwright.sync_api import sync_playwright

from autograder.course import COURSE_ROOT as ROOT
from browser_support import DESKTOP, PHONE, SETTLE, axe_source, launch_chromium, serve, toc_pages

CHAPTERS = [name for name, source in toc_pages(ROOT) if source.suffix == ".ipynb"]

# The controls the theme drew without a focus outline.
CONTROLS = {
    "sidebar toggle": ".bd-header-article .primary-toggle",
    "launch menu": ".dropdown-launch-buttons button.dropdown-toggle",
    "repository menu": ".dropdown-source-buttons button.dropdown-toggle",
    "download menu": ".dropdown-download-buttons button.dropdown-toggle",
}

FOCUS_RING = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return {outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
          matches: Object.fromEntries(Object.entries(%s).map(([k, s]) => [k, el.matches(s)]))};
}""" % json.dumps(CONTROLS)


@pytest.fixture(scope="module")
def server(book_build):
    process, html_dir = book_build
    assert process.returncode == 0, (process.stdout + process.stderr)[-3000:]
    with serve(html_dir) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def open_page(browser, server, name, viewport=DESKTOP, query=""):
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
    page = context.new_page()
    page.goto(f"{server.base}/{name}.html{query}", wait_until="load")
    page.evaluate(SETTLE)
    return context, page


def test_header_and_sidebar_controls_show_where_the_keyboard_is(browser, server):
    context, page = open_page(browser, server, "book/05_scoring_functions")
    try:
        seen = {}
        for _ in range(80):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            for control, matched in ring["matches"].items():
                if matched:
                    seen[control] = (ring["outline"], ring["width"])
            if len(seen) == len(CONTROLS):
                break
        assert sorted(seen) == sorted(CONTROLS), "Tab reaches every control"
        for control, (style, width) in seen.items():
            assert style != "none" and width >= 2, f"{control}: outline {style} {width}px"
    finally:
        context.close()


@pytest.mark.parametrize("name", CHAPTERS)
def test_equations_that_scroll_can_be_reached_by_keyboard(browser, server, name):
    for viewport in (DESKTOP, PHONE):
        context, page = open_page(browser, server, name, viewport)
        try:
            boxes = page.evaluate("""() => [...document.querySelectorAll('mjx-container[display="true"]')]
              .map(box => ({scrolls: box.scrollWidth > box.clientWidth + 1, tabindex: box.getAttribute('tabindex'),
                            role: box.getAttribute('role'), label: box.getAttribute('aria-label')}))""")
        finally:
            context.close()
        for box in boxes:
            if box["scrolls"]:
                assert box["tabindex"] == "0" and box["role"] and box["label"], box
            else:
                assert box["tabindex"] is None, "only equations that scroll take a Tab stop"


def test_search_highlights_keep_their_contrast_in_dark_mode(browser, server):
    context, page = open_page(browser, server, "book/05_scoring_functions")
    try:
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
        # What Sphinx's search results page leaves for the page it opens.
        page.evaluate("localStorage.setItem('sphinx_highlight_terms', 'softmax');"
                      "SphinxHighlight.highlightSearchWords()")
        page.wait_for_selector(".highlighted", state="attached")
        page.add_script_tag(content=axe_source())
        result = page.evaluate("""async () => {
          const r = await axe.run({include: [['.highlighted']]}, {runOnly: ['color-contrast']});
          return {checked: r.passes.concat(r.violations).reduce((n, v) => n + v.nodes.length, 0),
                  violations: r.violations.map(v => v.nodes.map(n => n.failureSummary))};
        }""")
    finally:
        context.close()
    assert result["checked"] > 0, "axe looked at the highlighted words"
    assert result["violations"] == [], result["violations"]


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.alts = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt", ""))


def computed_alts(executed):
    """The alt texts figure outputs carried (display(fig, metadata=...)) in an executed notebook."""
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    return [output["metadata"]["image/png"]["alt"] for cell in cells for output in cell.get("outputs", [])
            if output.get("metadata", {}).get("image/png", {}).get("alt")]


def test_alt_text_computed_by_a_cell_is_what_the_page_says(book_build):
    _, html_dir = book_build
    executed_dir = html_dir.parent / "jupyter_execute"
    found = 0
    for name in CHAPTERS:
        executed = executed_dir / f"{name}.ipynb"
        assert executed.is_file(), f"no executed copy of {name}"
        parser = Images()
        parser.feed((html_dir / f"{name}.html").read_text(encoding="utf-8"))
        for alt in computed_alts(executed):
            found += 1
            assert alt in parser.alts, f"{name}: the page lost the computed alt text {alt!r}"
    assert found >= 4, "the capstone's training figure and three of chapter 11 compute theirs"
