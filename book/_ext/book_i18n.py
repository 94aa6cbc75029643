"""The Chinese edition: what the gettext catalogues hold.

The Chinese edition is the English book translated with Sphinx's gettext
catalogues (``locales/zh_CN/LC_MESSAGES/``, one per page). Two fixes make the
catalogues hold the prose, and only the prose:

Display math is not prose. Sphinx offers every ``$$...$$`` block for
translation; a translator would have to copy each one unchanged. We mark them
untranslatable, so the formulas are single-sourced like the code.

Figure captions and alt texts are prose, but they live in a code cell's
metadata (``mystnb.figure.caption``, ``mystnb.image.alt``) and myst-nb writes
them into the page only around the figure the executed cell draws. The
catalogues are generated without executing the notebooks, so for the gettext
builder we add each caption and alt text of a cell without outputs as the
caption node and image node the executed build makes (same text, so the same
message, which the executed Chinese build then finds).

The language switch. ``python3 tasks.py book`` builds the English edition into
``_build/html/`` and the Chinese one (``language=zh_CN``) into
``_build/html/zh/``. Every page's header gets a link to the same page in the
other edition (``book/_templates/language-switch.html``), relative, so it works
wherever the site is published.

Translated outside the pages' text. The sidebar's part captions come from
_toc.yml through toctrees that sphinx-external-toc inserts after Sphinx has
translated the page, and the site title from _config.yml: both take their
translation from the root page's catalogue (book/intro.po), where the gettext
builder finds them.
"""
from os import path
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.util.i18n import docname_to_domain

TEMPLATES = Path(__file__).resolve().parent.parent / "_templates"
CHINESE = "zh_CN"
CHINESE_FOLDER = "zh"  # the Chinese edition's folder inside the English one


def _math_is_not_prose(app, doctree):
    for block in doctree.findall(nodes.math_block):
        block["translatable"] = False


def _is_code_cell(node):
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def _figure_texts_of_unexecuted_cells(app, doctree):
    if app.builder.name != "gettext":
        return
    for cell in doctree.findall(_is_code_cell):
        if next(iter(cell.findall(nodes.figure)), None) is not None:
            continue  # executed: myst-nb made the figure, with its caption and alt text
        mystnb = cell.get("cell_metadata", {}).get("mystnb", {})
        caption = mystnb.get("figure", {}).get("caption")
        alt = mystnb.get("image", {}).get("alt")
        if caption:
            node = nodes.caption(caption, caption)
            node.source, node.line = doctree["source"], cell.line
            cell += node
        if alt:
            image = nodes.image(uri="", alt=alt)
            image.source, image.line = doctree["source"], cell.line
            cell += image


def is_chinese(config):
    return (config.language or "").replace("-", "_") == CHINESE


def _language_switch_in_the_header(app, config):
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    buttons = config.html_theme_options.get("article_header_end", ["article-header-buttons.html"])
    if isinstance(buttons, str):
        buttons = [buttons]
    config.html_theme_options["article_header_end"] = ["language-switch.html", *buttons]


def other_edition_url(pagename, chinese):
    """The relative address of `pagename` in the other edition, from this page."""
    to_root = "../" * pagename.count("/")
    if chinese:
        return f"{to_root}../{pagename}.html"
    return f"{to_root}{CHINESE_FOLDER}/{pagename}.html"


_CATALOGUES = {}


def _catalogue(app, docname):
    """The translations of page `docname` (its .po in locale_dirs), as Sphinx loads them;
    loaded once (each load adds the catalogue to Sphinx's translator again)."""
    key = (id(app), docname)
    if key not in _CATALOGUES:
        dirs = [path.join(app.srcdir, directory) for directory in app.config.locale_dirs]
        _CATALOGUES[key], _ = init_locale(dirs, app.config.language,
                                          docname_to_domain(docname, app.config.gettext_compact))
    return _CATALOGUES[key]


def _translate_the_site_title(app, pagename, templatename, context, doctree):
    # Here, not earlier: Sphinx compiles the catalogues once the build has begun.
    if is_chinese(app.config) and context.get("docstitle"):
        context["docstitle"] = _catalogue(app, app.config.root_doc).gettext(context["docstitle"])


def _translate_the_part_captions(app, doctree):
    if not is_chinese(app.config):
        return
    catalogue = None
    for toctree in doctree.findall(addnodes.toctree):
        if toctree.get("caption"):
            catalogue = catalogue or _catalogue(app, app.env.docname)
            toctree["caption"] = catalogue.gettext(toctree["caption"])


def _link_the_other_edition(app, pagename, templatename, context, doctree):
    chinese = is_chinese(app.config)
    context["language_switch"] = {
        "url": other_edition_url(pagename, chinese),
        "lang": "en" if chinese else "zh-CN",
        "text": "English" if chinese else "中文",
        "title": "This page in English" if chinese else "本页的中文版",
    }


def setup(app):
    app.add_css_file("book-i18n.css")  # in book/_static, which book_extensions registers
    app.connect("config-inited", _language_switch_in_the_header)
    app.connect("html-page-context", _link_the_other_edition)
    app.connect("html-page-context", _translate_the_site_title)
    app.connect("doctree-read", _translate_the_part_captions)
    app.connect("doctree-read", _math_is_not_prose)
    app.connect("doctree-read", _figure_texts_of_unexecuted_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
