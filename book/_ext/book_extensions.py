"""Small Sphinx fixes for this book.

Figures. The chapters are executed during the build by kernels that inherit
this process's environment. ``tasks.py`` and the tests export
``MPLBACKEND=Agg`` so that scripts never try to open a window; a kernel that
inherits it draws with Agg, ``plt.show()`` does nothing, and the book is
published without a single figure. We drop the variable before any notebook
runs, so the kernels fall back to their own inline backend.

Sharp figures. The inline backend draws PNGs at 100 dpi, which look blurred on
the high-resolution screens of phones and most laptops. We give the build's
kernels an IPython profile (a fresh ``IPYTHONDIR`` inside the build's doctree
folder) that sets ``InlineBackend.figure_formats = {"retina"}``: every figure
of every chapter is then a PNG at twice the resolution, with its display size
in the output's metadata, which myst-nb writes into the page as the image's
width and height. PNG rather than SVG keeps heatmaps crisp cell by cell and
works for every output format of the book. We keep only the width: a page
narrower than the figure (a phone) shrinks the width to fit, and a fixed
height would then squash the figure.

Scripts. Sphinx 7 registers every inline script (``add_js_file(None, body=...)``)
twice: once under the filename ``None`` and once under ``''``, so the two copies
do not compare equal and both are written into every page. The browser then logs
"Identifier 'THEBE_JS_URL' has already been declared". We normalise the
filename and drop the duplicates when each page is rendered.

Static files. ``book/_static`` holds the favicon (without one the browser asks
the server for ``/favicon.ico`` and logs a 404 on every site), ``book.css``
(narrow screens and code cells, visible focus, dark-mode search highlights,
print) and ``book.js`` (accessible names, keyboard access to wide equations). jupyter-book only picks up a ``_static``
folder at the book root, so we register ours here.

Exercise launch links. The theme's launch buttons open the page's own
notebook. A chapter's Exercises section names its exercise notebook with
``{exercise-launch}`exercises/NAME/NAME.ipynb` ``, which renders links that open
that notebook on Colab and on Binder, built like the theme's buttons from
_config.yml (repository.url, repository.branch, launch_buttons).

The PDF edition. ``{pdf-edition}`text` `` links ``book.pdf`` on the published
site, GitHub Pages of repository.url (https://OWNER.github.io/REPO/), where the
publish workflow puts the PDF that ``python3 tasks.py pdf`` prints.
"""
import os
from pathlib import Path
from urllib.parse import urlsplit

from docutils import nodes

STATIC = Path(__file__).resolve().parent.parent / "_static"


def _use_the_kernels_inline_backend(app, config):
    os.environ.pop("MPLBACKEND", None)


def _draw_figures_at_twice_the_resolution(app, config):
    profile = Path(app.doctreedir) / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(
        'c.InlineBackend.figure_formats = {"retina"}\n', encoding="utf-8")
    os.environ["IPYTHONDIR"] = str(profile.parent)


def _keep_figure_proportions(app, doctree):
    for image in doctree.findall(nodes.image):
        if "width" in image and "height" in image:
            del image["height"]


def _one_search_box(app, config):
    """pydata-sphinx-theme 0.17 puts a search field into a header bar of its own
    unless navbar_persistent is set; sphinx-book-theme has one in the sidebar."""
    config.html_theme_options.setdefault("navbar_persistent", [])


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


def _bibliography_entries_are_list_items(app, pagename, templatename, context, doctree):
    """Docutils writes the bibliography as role="list" holding role="doc-biblioentry"
    entries, a role ARIA 1.2 deprecated, so the list has no list items (axe-core:
    aria-required-children, critical). Each entry becomes a list item."""
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def exercise_launch_urls(theme_options, path):
    """{service: URL} that open the repository's notebook `path` (like the theme's buttons)."""
    repository = theme_options["repository_url"].rstrip("/")
    owner, name = urlsplit(repository).path.strip("/").split("/")[:2]
    branch = theme_options.get("repository_branch") or "main"
    launch = theme_options.get("launch_buttons", {})
    interface = "lab/tree" if launch.get("notebook_interface") == "jupyterlab" else "tree"
    urls = {}
    if launch.get("colab_url"):
        urls["Colab"] = f"{launch['colab_url'].rstrip('/')}/github/{owner}/{name}/blob/{branch}/{path}"
    if launch.get("binderhub_url"):
        urls["Binder"] = (f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{owner}/{name}/{branch}"
                          f"?urlpath={interface}/{path}")
    return urls


def _exercise_launch_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    env = inliner.document.settings.env
    path = text.strip()
    root = Path(env.srcdir)
    if not (root / path).is_file():
        message = inliner.reporter.error(f"exercise-launch: no notebook {path}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    links = []
    for service, url in exercise_launch_urls(env.config.html_theme_options, path).items():
        if links:
            links.append(nodes.Text(", "))
        links.append(nodes.reference("", f"open it in {service}", refuri=url,
                                     classes=["exercise-launch", service.lower()]))
    return links, []


def published_pdf_url(theme_options):
    owner, name = urlsplit(theme_options["repository_url"]).path.strip("/").split("/")[:2]
    return f"https://{owner.lower()}.github.io/{name}/book.pdf"


def _pdf_edition_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    url = published_pdf_url(inliner.document.settings.env.config.html_theme_options)
    return [nodes.reference("", text, refuri=url, classes=["pdf-edition"])], []


def _alt_text_from_the_output():
    """Let a figure's output carry its alt text, so that alt text quoting a result is
    built from the computed value: a cell shows its figure with
    ``display(fig, metadata={"image/png": {"alt": f"... {accuracy:.1%} ..."}})``.
    myst-nb reads only width and height from output metadata; this adds alt,
    which wins over the cell's static mystnb.image.alt."""
    from myst_nb.core.render import NbElementRenderer

    render_image = NbElementRenderer.render_image
    if getattr(render_image, "reads_output_alt", False):
        return

    def render_image_with_output_alt(self, data):
        images = render_image(self, data)
        alt = data.output_metadata.get(data.mime_type, {}).get("alt")
        if alt:
            for image in images:
                image["alt"] = str(alt)
        return images

    render_image_with_output_alt.reads_output_alt = True
    NbElementRenderer.render_image = render_image_with_output_alt


def setup(app):
    _alt_text_from_the_output()
    app.add_role("exercise-launch", _exercise_launch_role)
    app.add_role("pdf-edition", _pdf_edition_role)
    app.connect("config-inited", _use_the_kernels_inline_backend)
    app.connect("config-inited", _draw_figures_at_twice_the_resolution)
    app.connect("doctree-read", _keep_figure_proportions)
    app.connect("config-inited", _add_static_files)
    app.connect("config-inited", _one_search_box)
    app.add_css_file("book.css")
    app.add_js_file("book.js", loading_method="defer")
    app.connect("html-page-context", _bibliography_entries_are_list_items)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
