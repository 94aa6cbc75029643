"""The published book, in a real browser.

The book built once for the whole run (conftest's book_build, shared with
test_book.py) is served by a Python http.server on 127.0.0.1 and opened in
headless Debian chromium through Playwright. Every page of _toc.yml is loaded
on a desktop screen in light mode, switched to dark mode with the theme button,
and loaded again on a phone screen; a screenshot is taken each time into
_build/screenshots/ (kept by CI as an artifact). Then, for every page: no
console or page error, no failed request, nothing fetched from another host,
every image loaded and described, math typeset by MathJax, every internal link
and anchor resolves, the download button offers the page's own source, the
launch buttons of chapter pages point at Binder, JupyterHub (nbgitpuller) and
Colab, code and figures fit the screen, figures are sharp on high-resolution
screens (PNGs at twice the resolution), and axe-core finds no critical or
serious WCAG 2.1 AA violation in any of the three views. Search finds "softmax".
"""
import functools
import json
import re
import time
import urllib.request
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from autograder.course import COURSE_ROOT
from browser_support import (DESKTOP, DESKTOP_FACTS, PHONE, PHONE_FACTS, SETTLE, LaunchSettings,
                             Watcher, axe_violations, chapter_imports, figure_cells, has_math,
                             is_standard_library, launch_chromium, serve, toc_pages)

ROOT = COURSE_ROOT
PAGES = toc_pages(ROOT)
PAGE_NAMES = [name for name, _ in PAGES]
SOURCES = dict(PAGES)
CHAPTERS = [name for name, source in PAGES if source.suffix == ".ipynb"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
STARTED = {}

# Perceptually uniform colour maps (viridis family, cividis) and greys read the
# same for colour-blind readers and in greyscale; rainbow-like maps do not.
UNIFORM_COLOUR_MAPS = {"viridis", "cividis", "magma", "inferno", "plasma", "gray", "Greys", "binary"}


@pytest.fixture(scope="module")
def html_dir(book_build, chinese_book_build):
    # The site as published: the Chinese edition in zh/, where every page's language switch points.
    STARTED.setdefault("time", time.perf_counter())
    process, html = book_build
    if process.returncode != 0 or not (html / "index.html").is_file():
        pytest.fail("the book did not build, so there is nothing to open in a browser:\n"
                    + (process.stdout + process.stderr)[-3000:], pytrace=False)
    return html


@pytest.fixture(scope="module")
def server(html_dir):
    with serve(html_dir) as running:
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


class Visit:
    """One page, looked at on a desktop (light, then dark) and on a phone."""

    def __init__(self, name, server, browser, screenshots):
        self.name = name
        self.url = f"{server.base}/{name}.html"
        self.stem = name.rsplit("/", 1)[-1]
        self.screenshots = screenshots
        watcher = Watcher(server.base)
        self.problems = watcher.problems
        desktop = browser.new_context(viewport=DESKTOP)
        try:
            self._on_desktop(desktop.new_page(), watcher)
        finally:
            desktop.close()
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        try:
            self._on_phone(phone.new_page(), watcher)
        finally:
            phone.close()

    def _shoot(self, page, how):
        page.screenshot(path=self.screenshots / f"{self.stem}-{how}.png", full_page=True)

    def _on_desktop(self, page, watcher):
        watcher.attach(page)
        self.status = page.goto(self.url, wait_until="load").status
        page.evaluate(SETTLE)
        self.facts = page.evaluate(DESKTOP_FACTS)
        self.light_theme = page.evaluate("document.documentElement.dataset.theme")
        self._shoot(page, "desktop-light")
        self.axe = {"desktop light": axe_violations(page)}
        # The theme button cycles light, system, dark: click it as a reader would.
        for _ in range(3):
            if page.evaluate("document.documentElement.dataset.theme") == "dark":
                break
            page.locator(".theme-switch-button:visible").first.click()
        self.dark_theme = page.evaluate("document.documentElement.dataset.theme")
        self._shoot(page, "desktop-dark")
        self.axe["desktop dark"] = axe_violations(page)
        # The header menus open and show their entries.
        self.menus = {}
        for menu in ("download", "launch"):
            button = page.locator(f".dropdown-{menu}-buttons button.dropdown-toggle")
            if button.count():
                button.click()
                items = page.locator(f".dropdown-{menu}-buttons .dropdown-menu a")
                expect(items.first).to_be_visible()
                self.menus[menu] = [text.strip() for text in items.all_inner_texts()]
                page.keyboard.press("Escape")

    def _on_phone(self, page, watcher):
        watcher.attach(page)
        page.goto(self.url, wait_until="load")
        page.evaluate(SETTLE)
        self.phone = page.evaluate(PHONE_FACTS)
        self._shoot(page, "phone-light")
        self.axe["phone"] = axe_violations(page)


@pytest.fixture(scope="module")
def visit(server, browser, screenshots):
    """visit(name): the page's Visit, made once per page and shared by every check."""
    done, failed = {}, {}

    def get(name):
        if name in failed:
            pytest.fail(f"looking at {name} failed: {failed[name]}", pytrace=False)
        if name not in done:
            try:
                done[name] = Visit(name, server, browser, screenshots)
            except Exception as error:
                failed[name] = f"{type(error).__name__}: {error}"
                raise
        return done[name]
    return get


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_loads_without_errors_or_requests_elsewhere(visit, name):
    page = visit(name)
    assert page.status == 200
    assert page.facts["title"], "page without a title"
    assert page.problems == [], "\n".join(page.problems)
    # Without an icon of its own, every browser asks the server for /favicon.ico (a 404).
    assert page.facts["icon"], "the page names no favicon"
    with urllib.request.urlopen(page.facts["icon"]) as response:
        assert response.status == 200 and response.read()


def test_nothing_the_pages_asked_for_was_missing(visit, server):
    for name in PAGE_NAMES:
        visit(name)
    assert len(server.requests) > 20 * len(PAGE_NAMES)  # pages, scripts, styles, fonts, images
    missing = sorted({path for path, status in server.requests if status >= 400})
    assert missing == [], f"the server answered these with an error: {missing}"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_every_image_loads_and_is_described(visit, name):
    page = visit(name)
    for image in page.facts["images"]:
        assert image["loaded"], f"image did not load: {image['src']}"
        assert image["alt"] or image["caption"], f"image without alt text or caption: {image['src']}"
    figures = [image for image in page.facts["images"] if image["inFigure"]]
    assert len(figures) == figure_cells(SOURCES[name]), "every figure cell must show its figure"
    for figure in figures:
        assert figure["alt"] and figure["caption"], f"figure needs alt text and a caption: {figure['src']}"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_math_is_typeset(visit, name):
    facts = visit(name).facts
    assert (facts["math"] > 0) == has_math(SOURCES[name]), "math in the source must reach the page"
    assert facts["mathTypeset"] == facts["math"], "MathJax left some math untypeset (raw TeX shows)"
    assert facts["mathErrors"] == 0, "MathJax reports an error in the page's TeX"


def test_every_chapter_has_typeset_math(visit):
    without = [name for name in CHAPTERS if not visit(name).facts["mathTypeset"]]
    assert without == [], "every chapter has equations, typeset by MathJax"


@functools.lru_cache(maxsize=None)
def ids_in(path):
    """The anchors a page offers: its id and name attributes."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return set(re.findall(r'\b(?:id|name)="([^"]+)"', text))


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_every_internal_link_and_anchor_resolves(visit, server, html_dir, name):
    local = f"{server.base}/"
    broken, internal = [], 0
    for href in visit(name).facts["links"]:
        parts = urlsplit(href)
        if parts.scheme in ("mailto",) or (parts.scheme in ("http", "https") and not href.startswith(local)):
            continue  # other sites are never requested by these tests
        internal += 1
        path = unquote(parts.path).lstrip("/")
        target = html_dir / path
        if not path or target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href}: no such file")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_in(target):
            broken.append(f"{href}: no anchor #{parts.fragment}")
    assert internal > 20, "the page should link to the rest of the book (navigation, contents)"
    assert broken == [], "\n".join(broken)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_download_button_offers_the_page_source(visit, server, name):
    page = visit(name)
    source = SOURCES[name]
    sources = [href for href in page.facts["downloads"] if "/_sources/" in href]
    assert sources == [f"{server.base}/_sources/{name}{source.suffix}"]
    assert source.suffix in page.menus["download"], "the download menu should list the source file"
    with urllib.request.urlopen(sources[0]) as response:
        assert response.read() == source.read_bytes(), "the download must be the page's own source"


@pytest.mark.parametrize("name", CHAPTERS)
def test_launch_buttons_open_the_chapter_notebook(visit, name):
    page = visit(name)
    settings = LaunchSettings.read(ROOT)
    links = {link["text"]: link["href"] for link in page.facts["launches"]}
    services = {"Binder": settings.binderhub_url, "JupyterHub": settings.jupyterhub_url,
                "Colab": settings.colab_url}
    assert set(links) == {service for service, url in services.items() if url}
    assert "Binder" in links and "Colab" in links
    assert sorted(page.menus["launch"]) == sorted(links), "the rocket menu shows them"
    notebook = f"{name}.ipynb"
    assert (ROOT / notebook).is_file()
    assert links["Binder"] == (f"{settings.binderhub_url}/v2/gh/{settings.owner}/{settings.name}/"
                               f"{settings.branch}?urlpath={settings.interface_path}/{notebook}")
    assert links["Colab"] == (f"{settings.colab_url}/github/{settings.owner}/{settings.name}/blob/"
                              f"{settings.branch}/{notebook}")
    if settings.jupyterhub_url:
        # nbgitpuller: clone (or update) the repository into ~/NAME, then open the notebook there.
        hub = urlsplit(links["JupyterHub"])
        assert f"{hub.scheme}://{hub.netloc}" == settings.jupyterhub_url
        assert hub.path == "/hub/user-redirect/git-pull"
        query = {key: values[0] for key, values in parse_qs(hub.query).items()}
        assert query == {"repo": settings.repository_url, "branch": settings.branch,
                         "urlpath": f"{settings.interface_path}/{settings.name}/{notebook}"}


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_axe_finds_no_serious_accessibility_violation(visit, name):
    """axe-core's WCAG 2.1 A and AA rules, in light and dark mode and on a phone."""
    page = visit(name)
    assert set(page.axe) == {"desktop light", "desktop dark", "phone"}
    found = {view: violations for view, violations in page.axe.items() if violations}
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_theme_button_switches_to_dark_mode(visit, name):
    page = visit(name)
    assert (page.light_theme, page.dark_theme) == ("light", "dark")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_code_fits_the_column_on_a_desktop_screen(visit, name):
    page = visit(name)
    assert page.facts["scrollingCode"] == [], "code wider than the page (longest lines shown)"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_figures_are_shown_near_full_size_on_a_desktop_screen(visit, name):
    """A figure wider than the column is shrunk, and its labels with it."""
    for image in visit(name).facts["images"]:
        if image["inFigure"]:
            assert image["shown"] >= 0.85 * image["drawn"], (
                f"figure drawn wider than the book ({image['drawn']} px shown at "
                f"{image['shown']:.0f} px): {image['src']}")


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_are_sharp_on_high_resolution_screens(visit, name):
    """Every figure is an SVG or a PNG with at least two pixels per CSS pixel it is shown
    with (a phone or a laptop with a high-resolution screen shows two or three device pixels
    per CSS pixel), in its own proportions, on a desktop and on a phone."""
    page = visit(name)
    figures = [image for image in page.facts["images"] if image["inFigure"]]
    assert len(figures) == len(page.phone["figures"]) == figure_cells(SOURCES[name])
    for image in figures + page.phone["figures"]:
        if urlsplit(image["src"]).path.endswith(".svg"):
            continue
        assert image["natural"] >= 2 * image["shown"] - 1, (
            f"figure blurred on high-resolution screens: {image['natural']} px wide, shown at "
            f"{image['shown']:.0f} CSS px: {image['src']}")
        shown_ratio = image["shownHeight"] / image["shown"]
        natural_ratio = image["naturalHeight"] / image["natural"]
        assert abs(shown_ratio - natural_ratio) < 0.02 * natural_ratio, (
            f"figure squashed or stretched (height/width {shown_ratio:.3f} shown, "
            f"{natural_ratio:.3f} drawn): {image['src']}")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_phone_screen_never_scrolls_sideways_and_figures_fit(visit, name):
    phone = visit(name).phone
    assert phone["width"] == PHONE["width"]
    assert phone["pageWidth"] <= phone["width"], "something makes the page wider than the phone"
    for figure in phone["figures"]:
        assert figure["left"] >= 0 and figure["right"] <= phone["width"], f"figure overflows: {figure['src']}"
        assert figure["shown"] > 0


def test_search_finds_softmax(browser, server):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watcher = Watcher(server.base)
    watcher.attach(page)
    page.goto(f"{server.base}/book/intro.html", wait_until="load")
    page.keyboard.press("Control+k")  # the theme's search shortcut opens the search box
    field = page.locator("#pst-search-dialog input[name='q']")
    expect(field).to_be_visible()
    field.fill("softmax")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=softmax*")
    results = page.locator("#search-results ul.search li a")
    expect(results.first).to_be_visible(timeout=15000)
    found = {href.split("#")[0].split("?")[0] for href in results.evaluate_all("links => links.map(a => a.href)")}
    context.close()
    assert f"{server.base}/book/05_scoring_functions.html" in found
    assert len(found) >= 5, f"softmax is used in most chapters; search found only {sorted(found)}"
    assert watcher.problems == [], "\n".join(watcher.problems)


# --- publishing: Binder, CI, colours ------------------------------------------------

def test_binder_installs_what_the_chapters_import():
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11", "the tested Python"
    assert (binder / "requirements.txt").read_text().split() == ["-r", "../requirements.txt"]
    post_build = (binder / "postBuild").read_text()
    assert post_build.startswith("#!") and (binder / "postBuild").stat().st_mode & 0o111, "executable"
    assert re.search(r"^pip install .*-e \.$", post_build, re.M), "postBuild installs attnlib"
    pinned = {re.split(r"[=<>\[ ;]", line)[0].lower().replace("_", "-")
              for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    packaged = set(re.findall(r'"(\w+)"', re.search(r"packages = \[(.*?)\]",
                                                    (ROOT / "pyproject.toml").read_text()).group(1)))
    for name in CHAPTERS:
        for module in chapter_imports(SOURCES[name]):
            assert is_standard_library(module) or module in packaged or module in pinned, (
                f"{name} imports {module}, which Binder would not install")


def test_workflows_publish_the_build_and_keep_the_screenshots():
    workflows = ROOT / ".github" / "workflows"
    publish = (workflows / "publish.yml").read_text()
    assert "python3 tasks.py book" in publish  # -W --keep-going: a warning fails the build
    assert re.search(r"upload-pages-artifact@\S+\n\s+with:\n\s+path: _build/html", publish)
    assert "actions/deploy-pages@" in publish
    tests = (workflows / "tests.yml").read_text()
    assert ".ci/run" in tests
    assert f"path: {SCREENSHOTS.relative_to(ROOT)}" in tests


def plotting_code():
    for name in CHAPTERS:
        cells = json.loads(SOURCES[name].read_text(encoding="utf-8"))["cells"]
        yield name, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for path in sorted((ROOT / "attnlib").glob("*.py")):
        yield path.name, path.read_text(encoding="utf-8")


def test_plots_use_perceptually_uniform_colour_maps():
    from attnlib.plotting import ATTENTION_CMAP
    assert ATTENTION_CMAP in UNIFORM_COLOUR_MAPS
    named = 0
    for where, code in plotting_code():
        for cmap in re.findall(r'cmap\s*=\s*["\']([\w.]+)', code):
            named += 1
            assert cmap.removesuffix("_r") in UNIFORM_COLOUR_MAPS, f"{where}: colour map {cmap}"
        for bad in re.findall(r"\b(jet|rainbow|hsv|nipy_spectral|gist_rainbow|Spectral|RdYlGn)\b", code):
            pytest.fail(f"{where} uses the {bad} colour map, which colour-blind readers cannot read")
    assert named >= 3


def test_every_page_leaves_its_screenshots(visit, record_property):
    """Three screenshots per page; the time the suite took is printed in the summary (a
    timed assertion would fail on a busy machine, not on a slow suite)."""
    for name in PAGE_NAMES:
        visit(name)
    seconds = time.perf_counter() - STARTED["time"]
    shots = len(list(SCREENSHOTS.glob("*.png")))
    assert shots == 3 * len(PAGE_NAMES)
    record_property("summary", f"browser suite: {len(PAGE_NAMES)} pages, {shots} screenshots in "
                               f"{SCREENSHOTS.relative_to(ROOT)}/, {seconds:.0f} s (book build not included)")
