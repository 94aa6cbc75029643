"""Small Sphinx fixes for this book.

Figures. The chapters are executed during the build by kernels that inherit
this process's environment. ``tasks.py`` and the tests export
``MPLBACKEND=Agg`` so that scripts never try to open a window; a kernel that
inherits it draws with Agg, ``plt.show()`` does nothing, and the book is
published without a single figure. We drop the variable before any notebook
runs, so the kernels fall back to their own inline backend.

Scripts. Sphinx 7 registers every inline script (``add_js_file(None, body=...)``)
twice: once under the filename ``None`` and once under ``''``, so the two copies
do not compare equal and both are written into every page. The browser then logs
"Identifier 'THEBE_JS_URL' has already been declared". We normalise the
filename and drop the duplicates when each page is rendered.

Static files. ``book/_static`` holds the favicon (without one the browser asks
the server for ``/favicon.ico`` and logs a 404 on every site) and ``book.css``
(narrow screens and code cells). jupyter-book only picks up a ``_static``
folder at the book root, so we register ours here.
"""
import os
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "_static"


def _use_the_kernels_inline_backend(app, config):
    os.environ.pop("MPLBACKEND", None)


def _add_static_files(app, config):
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    config.html_favicon = str(STATIC / "favicon.svg")


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        filename = getattr(script, "filename", None) or ""
        attributes = getattr(script, "attributes", {})
        key = (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("config-inited", _use_the_kernels_inline_backend)
    app.connect("config-inited", _add_static_files)
    app.add_css_file("book.css")
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
