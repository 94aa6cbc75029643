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
"""
from docutils import nodes


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


def setup(app):
    app.connect("doctree-read", _math_is_not_prose)
    app.connect("doctree-read", _figure_texts_of_unexecuted_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
