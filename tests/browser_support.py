"""Serve the built book on 127.0.0.1 and look at it with Debian's chromium (Playwright).

Used by test_browser.py. Nothing here downloads a browser: Playwright drives
/usr/bin/chromium, which `python3 tasks.py test` installs with apt.
"""
import ast
import functools
import json
import re
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1366, "height": 768}  # a common laptop screen
PHONE = {"width": 390, "height": 844}  # a current phone, in CSS pixels


# --- the book's pages and configuration --------------------------------------

def toc_pages(root):
    """Every page of _toc.yml as (name, source file), in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]] + [chapter["file"] for part in toc.get("parts", [])
                             for chapter in part["chapters"]]
    pages = []
    for name in names:
        sources = [root / f"{name}{suffix}" for suffix in (".ipynb", ".md")]
        pages.append((name, next(path for path in sources if path.exists())))
    return pages


def markdown_text(source):
    """The prose of a page: markdown cells of a notebook, or a MyST file without code blocks."""
    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.sub(r"^(```|~~~).*?^\1", "", source.read_text(encoding="utf-8"), flags=re.M | re.S)


def has_math(source):
    """Whether a page's prose contains $...$, $$...$$ or a {math} role or directive."""
    text = markdown_text(source).replace(r"\$", "")
    text = re.sub(r"``?[^`]*``?", "", text)  # inline code may show a dollar sign
    return bool(re.search(r"\$\$|\$[^\s$][^$\n]*\$|\{math\}", text))


def figure_cells(source):
    """How many figures a chapter draws: its cells with figure metadata (caption and alt text)."""
    if source.suffix != ".ipynb":
        return 0
    cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" and c["metadata"].get("mystnb", {}).get("figure"))


def chapter_imports(source):
    """Top-level modules a notebook imports (IPython magics and shell lines skipped)."""
    cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
    code = "\n".join(line for c in cells if c["cell_type"] == "code"
                     for line in "".join(c["source"]).splitlines()
                     if not line.lstrip().startswith(("%", "!")))
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def is_standard_library(module):
    return module in sys.stdlib_module_names


@dataclass
class LaunchSettings:
    """What _config.yml says the launch buttons point at."""
    repository_url: str
    owner: str
    name: str
    branch: str
    binderhub_url: str
    jupyterhub_url: str
    colab_url: str
    interface_path: str  # "lab/tree" for JupyterLab, "tree" for the classic interface

    @classmethod
    def read(cls, root):
        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
        repository, launch = config["repository"], config["launch_buttons"]
        url = repository["url"].rstrip("/")
        owner, name = urlsplit(url).path.strip("/").split("/")[:2]
        interface = launch.get("notebook_interface", "classic")
        return cls(url, owner, name, repository.get("branch", "main"),
                   launch["binderhub_url"].rstrip("/"), (launch.get("jupyterhub_url") or "").rstrip("/"),
                   launch["colab_url"].rstrip("/"),
                   "lab/tree" if interface == "jupyterlab" else "tree")


# --- a local web server ----------------------------------------------------------

class _RecordingHandler(SimpleHTTPRequestHandler):
    """Serves a folder and remembers (path, status) of every request, quietly."""

    def log_request(self, code="-", size="-"):
        self.server.requests.append((self.path, int(code) if str(code).isdigit() else code))

    def log_message(self, format, *args):
        pass


@contextmanager
def serve(directory):
    """A Python http.server for `directory` on 127.0.0.1, on a free port, in a thread."""
    handler = functools.partial(_RecordingHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the browser -------------------------------------------------------------------

def launch_chromium(playwright):
    if not CHROMIUM.exists():
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM} is missing). "
                    "`python3 tasks.py test` installs it; or run `apt-get install chromium`. "
                    "Never `playwright install`: the tests drive the system browser.", pytrace=False)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


@dataclass
class Watcher:
    """Everything a page does wrong while we look at it."""
    base: str
    problems: list = field(default_factory=list)

    def attach(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        # Block, and report, every request that leaves the local server.
        page.route(lambda url: not url.startswith(self.base + "/"), self._elsewhere)

    def _console(self, message):
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} ({where})")

    def _failed(self, request):
        if request.url.startswith(self.base + "/"):
            self.problems.append(f"failed request: {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _elsewhere(self, route):
        self.problems.append(f"request to another host: {route.request.url}")
        route.abort()


# Wait until the page is as a reader sees it: MathJax has typeset, fonts and images are in.
SETTLE = """async () => {
  if (document.querySelector('.math')) {
    const start = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - start < 15000) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  await document.fonts.ready;
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); })));
}"""

# What a desktop reader gets: images, math, links, code blocks, the header's buttons.
DESKTOP_FACTS = """() => {
  const images = [...document.images].map(img => {
    const figure = img.closest('figure');
    const caption = figure && figure.querySelector('figcaption');
    return {src: img.currentSrc || img.src, loaded: img.complete && img.naturalWidth > 0,
            natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
            naturalHeight: img.naturalHeight, shownHeight: img.getBoundingClientRect().height,
            // The width the figure is drawn for: myst-nb writes a 2x PNG's display width into
            // its style; any other image is drawn for its natural width.
            drawn: parseFloat(img.style.width) || img.naturalWidth,
            alt: (img.getAttribute('alt') || '').trim(),
            caption: caption ? caption.textContent.trim() : '', inFigure: !!figure};
  });
  const math = [...document.querySelectorAll('.math')];
  const code = [...document.querySelectorAll('.bd-article pre')];
  const longest = pre => pre.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '');
  return {
    title: document.title,
    icon: (document.querySelector('link[rel~="icon"]') || {}).href || null,
    images,
    math: math.length,
    mathTypeset: math.filter(m => m.querySelector('mjx-container')).length,
    mathErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    codeBlocks: code.length,
    scrollingCode: code.filter(pre => pre.scrollWidth > pre.clientWidth + 1).map(longest),
    downloads: [...document.querySelectorAll('.dropdown-download-buttons a')].map(a => a.href),
    launches: [...document.querySelectorAll('.dropdown-launch-buttons a')].map(
      a => ({text: a.textContent.trim(), href: a.href})),
  };
}"""

# What a phone reader gets: does anything make the page wider than the screen?
PHONE_FACTS = """() => {
  const width = document.documentElement.clientWidth;
  return {
    width, pageWidth: document.documentElement.scrollWidth,
    figures: [...document.querySelectorAll('figure img')].map(img => {
      const box = img.getBoundingClientRect();
      return {src: img.src, left: box.left, right: box.right, shown: box.width, natural: img.naturalWidth,
              shownHeight: box.height, naturalHeight: img.naturalHeight};
    }),
  };
}"""


# --- accessibility: axe-core, injected into the page ---------------------------------

# Installed from the npm registry by `python3 tasks.py test` (tasks.ensure_axe).
AXE_SCRIPT = Path(__file__).resolve().parent.parent / ".browser-tools/node_modules/axe-core/axe.min.js"

# WCAG 2.1 A and AA rules; what fails them critically or seriously, with the first elements.
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    resultTypes: ['violations']});
  return result.violations.filter(v => ['critical', 'serious'].includes(v.impact)).map(v => ({
    rule: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' | ' + n.failureSummary.replace(/\\s+/g, ' '))}));
}"""


@functools.lru_cache(maxsize=1)
def axe_source():
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core is not installed ({AXE_SCRIPT}); `python3 tasks.py test` installs it "
                    "with npm", pytrace=False)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(page):
    """The page's critical and serious WCAG 2.1 AA violations, as axe-core reports them."""
    page.add_script_tag(content=axe_source())
    return page.evaluate(AXE_RUN)
