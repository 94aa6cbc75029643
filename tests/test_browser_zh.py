"""The Chinese edition in a real browser, like the English one in test_browser.py.

Both editions, as published (English at the root, Chinese under zh/), are served
on 127.0.0.1 and every page of the Chinese edition is opened once in headless
Debian chromium on a desktop screen: it loads with no console or page error and
nothing fetched from another host, its images load (every figure with its alt
text and caption), MathJax typesets its math, its Chinese text is drawn in a CJK
font (asked of the browser itself: the platform fonts that rendered the
paragraph's characters, so a missing font or a fallback without Chinese glyphs
fails), and its language switch leads to the same page in English. Two pages
are kept as screenshots in _build/screenshots/zh/ and checked with axe-core
and from the keyboard (Tab reaches the language switch, which shows its focus).
The layout checks (phone, dark mode, code width) are the English edition's: the
two editions share every template and stylesheet.
"""
import re
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

from autograder.course import COURSE_ROOT
from browser_support import (DESKTOP, DESKTOP_FACTS, SETTLE, Watcher, axe_violations, figure_cells,
                             has_math, launch_chromium, serve, toc_pages)

ROOT = COURSE_ROOT
PAGES = toc_pages(ROOT)
PAGE_NAMES = [name for name, _ in PAGES]
SOURCES = dict(PAGES)
SCREENSHOTS = ROOT / "_build" / "screenshots" / "zh"
SHOWN = ("book/intro", "book/06_self_attention")  # kept as screenshots, checked with axe-core
STARTED = {}

# The paragraph of the article with the most Chinese characters in its own text, marked
# so that the DevTools protocol can find it; how many Han characters it holds.
MARK_CHINESE_PARAGRAPH = r"""() => {
  const han = node => [...node.childNodes].filter(c => c.nodeType === Node.TEXT_NODE)
    .map(c => c.textContent).join('').match(/[\u3400-\u9fff]/g) || [];
  const best = [...document.querySelectorAll('.bd-article p, .bd-article li, .bd-article td')]
    .map(node => [node, han(node).length]).sort((a, b) => b[1] - a[1])[0];
  if (!best || best[1] === 0) return 0;
  best[0].setAttribute('data-chinese-probe', '');
  return best[1];
}"""


@pytest.fixture(scope="module")
def site(chinese_book_build):
    """The folder of the published site: English at its root, Chinese in zh/."""
    STARTED.setdefault("time", time.perf_counter())
    process, chinese = chinese_book_build
    if process.returncode != 0 or not (chinese / "index.html").is_file():
        pytest.fail("the Chinese edition did not build:\n" + (process.stdout + process.stderr)[-3000:],
                    pytrace=False)
    return chinese.parent


@pytest.fixture(scope="module")
def server(site):
    with serve(site) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


# Chromium counts the glyphs each font draws while the DevTools CSS agent is on: the
# marked paragraph is drawn again (a copy in its place) once it is.
DRAW_AGAIN = """() => {
  const original = document.querySelector('[data-chinese-probe]');
  const copy = original.cloneNode(true);
  original.removeAttribute('data-chinese-probe');
  original.replaceWith(copy);
  return copy.getBoundingClientRect().height;
}"""


def chinese_paragraph_fonts(page):
    """(Han characters, {font family: glyphs drawn}) of the page's most Chinese paragraph,
    as chromium drew it."""
    han = page.evaluate(MARK_CHINESE_PARAGRAPH)
    if not han:
        return 0, {}
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        page.evaluate(DRAW_AGAIN)
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-chinese-probe]"})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()
    drawn = {}
    for font in fonts:
        drawn[font["familyName"]] = drawn.get(font["familyName"], 0) + font["glyphCount"]
    return han, drawn


class ChineseVisit:
    """One page of the Chinese edition on a desktop screen."""

    def __init__(self, name, server, browser, screenshots):
        self.url = f"{server.base}/zh/{name}.html"
        watcher = Watcher(server.base)
        self.problems = watcher.problems
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        try:
            page = context.new_page()
            watcher.attach(page)
            self.status = page.goto(self.url, wait_until="load").status
            page.evaluate(SETTLE)
            self.facts = page.evaluate(DESKTOP_FACTS)
            self.lang = page.evaluate("document.documentElement.lang")
            switch = page.get_by_role("link", name="English", exact=True)
            self.switch = [link.get_attribute("hreflang") for link in switch.all()]
            self.switch_href = page.evaluate(
                "() => [...document.querySelectorAll('a.language-switch')].map(a => a.href)")
            if name in SHOWN:
                page.screenshot(path=screenshots / f"{name.rsplit('/', 1)[-1]}-zh-desktop-light.png",
                                full_page=True)
                self.axe = axe_violations(page)
                self.switch_focus = self._tab_to_the_language_switch(page)
            self.han, self.fonts = chinese_paragraph_fonts(page)  # last: it redraws a paragraph
        finally:
            context.close()


    @staticmethod
    def _tab_to_the_language_switch(page):
        """The switch's focus outline (style, width in px) once Tab reaches it, or None."""
        for _ in range(60):
            page.keyboard.press("Tab")
            focused = page.evaluate("""() => { const el = document.activeElement, style = getComputedStyle(el);
                return [el.matches('a.language-switch'), style.outlineStyle, parseFloat(style.outlineWidth)]; }""")
            if focused[0]:
                return focused[1], focused[2]
        return None


@pytest.fixture(scope="module")
def visit(server, browser, screenshots):
    done = {}

    def get(name):
        if name not in done:
            done[name] = ChineseVisit(name, server, browser, screenshots)
        return done[name]
    return get


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_chinese_page_loads_without_errors_or_requests_elsewhere(visit, name):
    page = visit(name)
    assert page.status == 200
    assert page.lang == "zh-CN"
    assert page.problems == [], "\n".join(page.problems)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_chinese_page_images_load_and_are_described(visit, name):
    page = visit(name)
    for image in page.facts["images"]:
        assert image["loaded"], f"image did not load: {image['src']}"
        assert image["alt"] or image["caption"], f"image without alt text or caption: {image['src']}"
    figures = [image for image in page.facts["images"] if image["inFigure"]]
    assert len(figures) == figure_cells(SOURCES[name]), "every figure cell must show its figure"
    for figure in figures:
        assert figure["alt"] and figure["caption"], f"figure needs alt text and a caption: {figure['src']}"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_chinese_page_math_is_typeset(visit, name):
    facts = visit(name).facts
    assert (facts["math"] > 0) == has_math(SOURCES[name]), "math in the source must reach the page"
    assert facts["mathTypeset"] == facts["math"], "MathJax left some math untypeset (raw TeX shows)"
    assert facts["mathErrors"] == 0, "MathJax reports an error in the page's TeX"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_chinese_text_is_set_in_a_cjk_font(visit, name):
    page = visit(name)
    assert page.han, "the page has no paragraph in Chinese (its catalogue is not translated yet)"
    cjk = sum(glyphs for family, glyphs in page.fonts.items() if "CJK" in family)
    assert cjk >= page.han, (f"of {page.han} Chinese characters only {cjk} were drawn in a CJK font; "
                             f"fonts used: {page.fonts} (is Debian's fonts-noto-cjk installed?)")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_language_switch_leads_to_the_same_page_in_english(visit, server, name):
    page = visit(name)
    assert page.switch == ["en"], "one link named 'English' (hreflang en) in the page header"
    assert page.switch_href == [f"{server.base}/{name}.html"]
    with urllib.request.urlopen(page.switch_href[0]) as response:
        assert response.status == 200 and b'<html lang="en"' in response.read()


@pytest.mark.parametrize("name", SHOWN)
def test_shown_chinese_pages_are_kept_and_accessible(visit, name):
    page = visit(name)
    shot = SCREENSHOTS / f"{name.rsplit('/', 1)[-1]}-zh-desktop-light.png"
    assert shot.stat().st_size > 10_000
    assert page.axe == [], "\n".join(f"{v['rule']} ({v['impact']}): {v['help']}; {v['nodes']}" for v in page.axe)
    assert page.switch_focus is not None, "Tab never reaches the language switch"
    style, width = page.switch_focus
    assert style != "none" and width >= 2, f"the language switch shows no focus outline ({style} {width}px)"


def test_chinese_browser_suite_time(visit, record_property):
    """The time is printed in the summary, not asserted (a busy machine is not a slow suite)."""
    for name in PAGE_NAMES:
        visit(name)
    seconds = time.perf_counter() - STARTED["time"]
    record_property("summary", f"Chinese browser suite: {len(PAGE_NAMES)} pages in {seconds:.0f} s, "
                               f"screenshots in {SCREENSHOTS.relative_to(ROOT)}/")
    assert [name for name in PAGE_NAMES if visit(name).status != 200] == []  # every page was visited and served
