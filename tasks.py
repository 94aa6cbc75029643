#!/usr/bin/env python3
"""The course's commands. Needs nothing but Python 3.11.

    python3 tasks.py book              create .venv if needed, build the book (HTML): English
                                       into _build/html/, Chinese into _build/html/zh/
    python3 tasks.py test              create .venv if needed, install the Debian packages
                                       the tests drive (chromium, bubblewrap, postgresql)
                                       when missing, run the whole test suite
    python3 tasks.py pdf               build the book as one PDF, _build/pdf/book.pdf (installs
                                       Debian's chromium when missing, to print it)
    python3 tasks.py catalogues [OUT]  update the Chinese edition's gettext catalogues in locales/
                                       from the book's English text (messages extracted into
                                       OUT/_build/gettext, default ./_build/gettext) and the
                                       exercises' prompts (locales/zh_CN/LC_MESSAGES/exercises/)
    python3 tasks.py release           regenerate exercises/ from solutions/ (with the Chinese
                                       twins exercises/ASSIGNMENT/zh/)
    python3 tasks.py clean-notebooks   strip outputs from the chapter notebooks
    python3 tasks.py install-cells     write each chapter's first code cell, which installs
                                       attnlib from the repository named in _config.yml

The virtual environment lives in .venv/ and is rebuilt whenever
requirements.txt changes.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".requirements-sha256"


def run(*command, **kwargs):
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], cwd=ROOT, **kwargs).returncode


def requirements_digest():
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def ensure_environment():
    """Create .venv and install the pinned requirements unless already up to date."""
    if sys.version_info[:2] != (3, 11):
        print(f"warning: the course is tested with Python 3.11; this is {sys.version.split()[0]}")
    if STAMP.exists() and STAMP.read_text() == requirements_digest() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating the virtual environment in {VENV.name}/", flush=True)
        venv.create(VENV, with_pip=True)
    steps = [
        (PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"),
        (PYTHON, "-m", "pip", "install", "--quiet", "-r", "requirements.txt"),
        (PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "-e", "."),
    ]
    for step in steps:
        if run(*step) != 0:
            sys.exit("installing the environment failed (see the pip output above)")
    STAMP.write_text(requirements_digest())


# Debian packages the tests drive: the browser suite and the PDF (chromium),
# the grading sandbox (bubblewrap), the team gradebook test (a throwaway
# PostgreSQL), the PDF's checks (pdftotext, pdfimages), axe-core's installer (npm),
# the Chinese edition's font in the browser (fonts-noto-cjk) and the check of its
# catalogues (msgfmt -c, from gettext).
SYSTEM_PACKAGES = {"chromium": "/usr/bin/chromium", "bubblewrap": "/usr/bin/bwrap",
                   "postgresql": "/usr/lib/postgresql", "poppler-utils": "/usr/bin/pdftotext",
                   "npm": "/usr/bin/npm",
                   "fonts-noto-cjk": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                   "gettext": "/usr/bin/msgfmt"}


def ensure_system_packages(names=tuple(SYSTEM_PACKAGES)):
    """Install these Debian packages when missing and when we may."""
    missing = [name for name in names if not Path(SYSTEM_PACKAGES[name]).exists()]
    if not missing:
        return
    if not Path("/usr/bin/apt-get").exists():
        sys.exit(f"the tests need the Debian packages {', '.join(missing)}; install them first")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update", "-q"],
                 ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]):
        if run(*sudo, *step, env=env) != 0:
            sys.exit(f"could not install {', '.join(missing)}: run as root, or install them with apt")


# axe-core, the accessibility checker the browser suite injects into every page,
# from the npm registry into a git-ignored folder of the repository.
AXE_VERSION = "4.14.1"
BROWSER_TOOLS = ROOT / ".browser-tools"
AXE_SCRIPT = BROWSER_TOOLS / "node_modules" / "axe-core" / "axe.min.js"


def ensure_axe():
    package = AXE_SCRIPT.parent / "package.json"
    if package.exists() and json.loads(package.read_text())["version"] == AXE_VERSION:
        return
    BROWSER_TOOLS.mkdir(exist_ok=True)
    if run("npm", "install", "--prefix", BROWSER_TOOLS, "--no-save", "--no-audit", "--no-fund",
           f"axe-core@{AXE_VERSION}") != 0:
        sys.exit(f"could not install axe-core {AXE_VERSION} with npm")


def tool_environment():
    """Environment for commands run from .venv: its bin/ first on PATH (nbgrader needs it)."""
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def build_book(output_dir=ROOT):
    """Both editions: English into _build/html/, Chinese into _build/html/zh/.

    The chapters run once, in the English build, which keeps their outputs in a
    jupyter-cache (execute_notebooks: cache in _config.yml); the Chinese build takes
    them from there. The cache is emptied first, so every build runs the code afresh.
    """
    build = Path(output_dir) / "_build"
    shutil.rmtree(build / ".jupyter_cache", ignore_errors=True)
    code = run(BIN / "jupyter-book", "build", ".", "-W", "--keep-going",
               "--path-output", output_dir, env=tool_environment())
    if code == 0:
        code = build_chinese_edition(build)
    index = build / "html" / "index.html"
    if code == 0 and index.exists():
        print(f"\nThe book is built: {index} (Chinese: {build / 'html' / 'zh' / 'index.html'})")
    return code


def build_chinese_edition(build):
    """The Chinese edition into BUILD/html/zh/, with the chapters' outputs of the English build."""
    build = Path(build)
    # Sphinx compiles each .po into a .mo beside it: compile a copy, not the repository.
    locales = build / "locales"
    shutil.rmtree(locales, ignore_errors=True)
    shutil.copytree(LOCALES, locales, ignore=shutil.ignore_patterns("*.mo"))
    return run(PYTHON, "-c", "import sys, tasks; sys.exit(tasks.sphinx_build(*sys.argv[1:]))",
               "html", build / "html" / "zh", build / ".doctrees-zh", f"language={LANGUAGE}",
               f"locale_dirs={locales}", "nb_execution_mode=cache",
               f"nb_execution_cache_path={build / '.jupyter_cache'}", env=tool_environment())


# The Chinese edition: gettext catalogues, one per page, in locales/zh_CN/LC_MESSAGES/
# (locales/README.md is the translators' guide).
LOCALES = ROOT / "locales"
LANGUAGE = "zh_CN"


def sphinx_build(builder, output, doctrees, *overrides):
    """jupyter-book's Sphinx build of the book with -W --keep-going and Sphinx settings
    overridden ("name=value"); runs in .venv. Returns the exit code."""
    from jupyter_book.sphinx import build_sphinx

    config = {"external_toc_path": (ROOT / "_toc.yml").as_posix(), "latex_individualpages": False}
    config.update(override.split("=", 1) for override in overrides)
    result = build_sphinx(ROOT, Path(output), doctreedir=Path(doctrees), noconfig=True,
                          path_config=str(ROOT / "_config.yml"), confoverrides=config,
                          builder=builder, warningiserror=True, keep_going=True, freshenv=True)
    return 1 if isinstance(result, Exception) else result


def extract_messages(output):
    """The book's messages as .pot files in `output`, without executing a notebook."""
    return run(PYTHON, "-c", "import sys, tasks; sys.exit(tasks.sphinx_build(*sys.argv[1:]))",
               "gettext", output, Path(output).parent / ".doctrees-gettext", "nb_execution_mode=off",
               env=tool_environment())


def cmd_catalogues():
    """Bring locales/zh_CN/LC_MESSAGES/*.po up to date with the book's English text."""
    ensure_environment()
    pot = ROOT / "_build" / "gettext"
    if len(sys.argv) > 2:
        pot = Path(sys.argv[2]).resolve() / "_build" / "gettext"
    code = extract_messages(pot)
    if code == 0:
        code = run(BIN / "sphinx-intl", "update", "--pot-dir", pot, "--locale-dir", LOCALES,
                   "--language", LANGUAGE, env=tool_environment())
    if code == 0:
        for catalogue in sorted(LOCALES.glob(f"{LANGUAGE}/LC_MESSAGES/**/*.po")):
            drop_format_flags(catalogue)
    if code == 0:  # the exercises' prompts: one catalogue per assignment, from solutions/
        code = run(PYTHON, "-c", "from autograder.exercise_i18n import update_all_catalogues as u; u()",
                   env=tool_environment())
    return code


def drop_format_flags(catalogue):
    """Babel flags a message python-format when it reads "95 % right" as a "% r" directive;
    `msgfmt -c` would then demand the directive in the translation. Our messages are
    Markdown, never format strings: the flag is always wrong here."""
    text = catalogue.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#,"):
            flags = [flag.strip() for flag in line[2:].split(",")]
            flags = [flag for flag in flags if flag and not flag.endswith("python-format")]
            if not flags:
                continue
            line = "#, " + ", ".join(flags) + "\n"
        lines.append(line)
    if "".join(lines) != text:
        catalogue.write_text("".join(lines), encoding="utf-8")


def cmd_book():
    ensure_environment()
    return build_book()


# Chromium's switches for a headless run that asks nothing of the network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def build_pdf(output_dir=ROOT):
    """The book as one PDF: a single-page HTML build printed by Debian's chromium.

    The single page shares the HTML build's doctrees (same --path-output), so
    after `tasks.py book` the notebooks are not executed again.
    Returns (exit code, path of the PDF).
    """
    build = Path(output_dir) / "_build"
    pdf = build / "pdf" / "book.pdf"
    code = run(BIN / "jupyter-book", "build", ".", "-W", "--keep-going", "--builder", "singlehtml",
               "--path-output", output_dir, env=tool_environment())
    if code == 0:
        # The single page is written as book/intro.html with links relative to the
        # output's root: put it at the root, where they resolve.
        single = build / "singlehtml"
        (single / "book.html").write_bytes((single / "book" / "intro.html").read_bytes())
        code = run(PYTHON, "-c", "import sys, tasks; tasks.print_pdf(*sys.argv[1:])",
                   single / "book.html", pdf, env=tool_environment())
    if code == 0:
        print(f"\nThe PDF is built: {pdf}")
    return code, pdf


def print_pdf(html, pdf):
    """Print the page `html`, served on 127.0.0.1, once MathJax has typeset every formula."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    html = Path(html)
    handler = functools.partial(Quiet, directory=html.parent)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Path(pdf).parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{html.name}", wait_until="load",
                      timeout=120_000)
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=120_000)
            page.evaluate("() => MathJax.startup.promise")
            page.pdf(path=str(pdf), format="A4", print_background=True, outline=True, tagged=True,
                     margin={"top": "15mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                     '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
            browser.close()
    finally:
        server.shutdown()


def cmd_pdf():
    ensure_environment()
    ensure_system_packages(["chromium"])
    return build_pdf()[0]


def cmd_test():
    ensure_environment()
    ensure_system_packages()
    ensure_axe()
    return run(PYTHON, "-m", "pytest", *sys.argv[2:], env=tool_environment())


def cmd_release():
    ensure_environment()
    return run(PYTHON, "-m", "autograder", "release", "--exercises-only", *sys.argv[2:], env=tool_environment())


def clean_notebook(path):
    """Clear outputs and execution counts, written the way nbformat writes notebooks."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    text = json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def cmd_clean_notebooks():
    for path in sorted(ROOT.glob("book/*.ipynb")):
        clean_notebook(path)
        print(f"cleaned {path.relative_to(ROOT)}")
    return 0


# The first code cell of every chapter. A chapter opened on its own (a download,
# Colab, a fresh JupyterHub) has NumPy and Matplotlib but not attnlib: the cell
# installs attnlib alone (attnlib/pyproject.toml), never the grader. The
# address comes from _config.yml (repository.url); `install-cells` writes it
# and tests/test_notebooks_anywhere.py fails when a chapter disagrees.
INSTALL_CELL_TAG = "hide-input"
INSTALL_CELL = '''\
# Run this cell first. Outside the course's repository (a download, Colab, a
# fresh JupyterHub) it installs the course's helper package attnlib with pip.
import importlib
import importlib.util
import os
import subprocess
import sys

COURSE_REPOSITORY = "{url}"

if importlib.util.find_spec("attnlib") is None:
    source = os.environ.get("ATTNLIB_SOURCE", f"git+{{COURSE_REPOSITORY}}#subdirectory=attnlib")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    importlib.invalidate_caches()'''


def repository_url():
    """repository.url from _config.yml, the one place that names the repository."""
    import yaml  # in .venv (the book's own dependency), not in a bare python3

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def install_cell_source(url):
    return INSTALL_CELL.format(url=url)


def is_install_cell(cell):
    return cell["cell_type"] == "code" and INSTALL_CELL_TAG in cell.get("metadata", {}).get("tags", []) \
        and "ATTNLIB_SOURCE" in "".join(cell["source"])


def write_install_cell(path, url):
    """Make the notebook's first code cell the install cell (replacing an older one)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [cell for cell in notebook["cells"] if not is_install_cell(cell)]
    first_code = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")
    source = install_cell_source(url)
    # A fixed id: nbformat 4.5 wants one on every cell, and a stable one keeps diffs quiet.
    cell = {"cell_type": "code", "execution_count": None, "id": "install-attnlib", "outputs": [],
            "metadata": {"tags": [INSTALL_CELL_TAG]},
            "source": source.splitlines(keepends=True)}
    cells.insert(first_code, cell)
    if cells == notebook["cells"]:
        return False
    notebook["cells"] = cells
    text = json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return True


def chapter_notebooks():
    return sorted(ROOT.glob("book/[0-9][0-9]_*.ipynb"))


def cmd_install_cells():
    try:
        url = repository_url()
    except ImportError:  # a bare python3: run again with the environment's Python
        ensure_environment()
        return run(PYTHON, Path(__file__).name, "install-cells")
    for path in chapter_notebooks():
        if write_install_cell(path, url):
            print(f"wrote the install cell of {path.relative_to(ROOT)}")
    return 0


COMMANDS = {"book": cmd_book, "catalogues": cmd_catalogues, "pdf": cmd_pdf, "test": cmd_test, "release": cmd_release,
            "clean-notebooks": cmd_clean_notebooks, "install-cells": cmd_install_cells}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]]())
