"""TeX math to inline SVG, for pages that must load nothing from elsewhere.

    math = Typesetter()
    body = math.html(r"\\frac{a}{b}") + math.html(r"x^2", display=True)
    page = ... + math.defs() + body     # defs() once per page: the shared glyph outlines

Why matplotlib's mathtext: the feedback pages a student receives are single HTML
files that fetch nothing (no MathJax, no web fonts, no TeX installation on the
grading machine), and matplotlib is already a dependency of the book. mathtext
draws each formula as glyph outlines; we embed them as SVG whose accessible name
(aria-label and <title>) is the TeX itself, and a page carries each glyph once.

What mathtext does not typeset (html() then returns the TeX as readable code,
never an error): environments (\\begin{bmatrix}, \\begin{aligned}, ...), line
breaks (\\\\), \\tag, \\color, \\xrightarrow, \\underbrace, \\pmatrix, \\bmod, \\&,
and formulas over MAX_TEX_CHARS. Some LaTeX it spells differently is rewritten
first (\\le, \\ge, \\iff, \\tfrac, \\lvert/\\rvert, \\lVert/\\rVert; the sizing
commands \\big..., \\displaystyle, \\limits are dropped), and "_" inside \\text{}
is set upright in math because mathtext's text font has no underscore.
"""
from __future__ import annotations

import functools
import html
import io
import re
import threading
import xml.etree.ElementTree as ElementTree

MATH_FONT_SIZE = 12.0  # points, the size mathtext typesets at
MATH_SCALE = 1.1  # Computer Modern looks smaller than the page's sans serif at the same size
MAX_TEX_CHARS = 400
_RENDER_LOCK = threading.Lock()  # matplotlib's text rendering is not thread-safe

# LaTeX that mathtext spells differently (or not at all: sizing commands it can do without).
_TEX_REWRITES = [
    (re.compile(r"\\(?:big|Big|bigg|Bigg)[lrm]?(?![A-Za-z])"), ""),
    (re.compile(r"\\(?:displaystyle|textstyle|limits|nolimits)(?![A-Za-z])"), ""),
    (re.compile(r"\\le(?![A-Za-z])"), r"\\leq"),
    (re.compile(r"\\ge(?![A-Za-z])"), r"\\geq"),
    (re.compile(r"\\iff(?![A-Za-z])"), r"\\Leftrightarrow"),
    (re.compile(r"\\[lr]Vert(?![A-Za-z])"), r"\\Vert"),
    (re.compile(r"\\[lr]vert(?![A-Za-z])"), "|"),
    (re.compile(r"\\tfrac(?![A-Za-z])"), r"\\frac"),
    (re.compile(r"\s+"), " "),
]

# (viewBox, CSS size and baseline, SVG content, {glyph id: glyph markup}) of one formula.
Typeset = tuple[str, str, str, dict[str, str]]


class Typesetter:
    """Typesets the math of one page and keeps the glyphs it needs."""

    def __init__(self) -> None:
        self.glyphs: dict[str, str] = {}

    def html(self, tex: str, display: bool = False) -> str:
        """One formula as inline SVG (display: a block, one SVG per line), or, when
        mathtext cannot typeset it, the TeX between its dollars as <code class="tex">."""
        label = html.escape(tex.strip())
        lines = [tex]
        if display:  # "\qquad" at a line end separates equations: one per line
            lines = [part for part in re.split(r"\\qquad\s*\n", tex) if part.strip()]
        pieces = []
        for line in lines:
            tex_line = _normalise_tex(line)
            if display:  # mathtext's \frac is text-style; displays want full-size fractions
                tex_line = re.sub(r"\\frac(?![A-Za-z])", r"\\dfrac", tex_line)
            typeset = _typeset(tex_line)
            if typeset is None:  # mathtext cannot typeset it: show the TeX itself
                delimiter = "$$" if display else "$"
                return f'<code class="tex" title="TeX">{delimiter}{label}{delimiter}</code>'
            view_box, style, body, glyphs = typeset
            self.glyphs.update(glyphs)
            pieces.append(f'<svg class="math" viewBox="{view_box}" style="{style}" '
                          f'fill="currentColor" role="img" aria-label="{html.escape(line.strip())}">'
                          f"<title>{html.escape(line.strip())}</title>{body}</svg>")
        if display:
            return '<span class="math-display">' + "".join(pieces) + "</span>"
        return pieces[0]

    def defs(self) -> str:
        """The hidden SVG holding every glyph the formulas so far refer to ("" if none)."""
        if not self.glyphs:
            return ""
        return ('<svg class="glyphs" width="0" height="0" aria-hidden="true" focusable="false">'
                "<defs>" + "".join(self.glyphs[key] for key in sorted(self.glyphs)) + "</defs></svg>")


def _text_underscores(match: re.Match) -> str:
    """mathtext's \\text takes "_" from a font without one: set it upright in math."""
    pieces = re.split(r"\\?_", match.group(1))
    return "".join(r"\text{%s}" % piece if piece else "" for piece in pieces[:1]) + "".join(
        r"\mathrm{\_}" + (r"\text{%s}" % piece if piece else "") for piece in pieces[1:])


def _normalise_tex(tex: str) -> str:
    for pattern, replacement in _TEX_REWRITES:
        tex = pattern.sub(replacement, tex)
    return re.sub(r"\\text\{([^{}]*_[^{}]*)\}", _text_underscores, tex).strip()


def _local(name: str) -> str:
    """A tag or attribute name without its XML namespace."""
    return name.rsplit("}", 1)[-1]


def _serialise_attributes(element: ElementTree.Element, out: list[str]) -> None:
    for key, value in element.attrib.items():
        if _local(key) != "id":  # ids would repeat with every formula on the page
            out.append(f' {_local(key)}="{html.escape(" ".join(value.split()))}"')


def _serialise(element: ElementTree.Element, out: list[str]) -> None:
    """SVG element as HTML-embeddable markup (no namespaces, href for xlink:href)."""
    tag = _local(element.tag)
    out.append(f"<{tag}")
    _serialise_attributes(element, out)
    children = list(element)
    if not children:
        out.append("/>")
        return
    out.append(">")
    for child in children:
        _serialise(child, out)
    out.append(f"</{tag}>")


@functools.lru_cache(maxsize=4096)
def _typeset(tex: str) -> Typeset | None:
    """(viewBox, CSS size and baseline, SVG content, {glyph id: glyph markup}) of
    one formula, or None when mathtext cannot typeset it. The content refers to
    glyphs as #g-ID, so the page must carry them (see Typesetter.defs)."""
    if not tex or len(tex) > MAX_TEX_CHARS:
        return None
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    formula = f"${tex}$"
    prop = FontProperties(size=MATH_FONT_SIZE, math_fontfamily="cm")
    dpi = 720.0  # parse finely so the box and the baseline are exact
    buffer = io.StringIO()
    try:
        with _RENDER_LOCK:
            width, height, depth, *_ = MathTextParser("path").parse(formula, dpi=dpi, prop=prop)
            if width <= 0 or height <= 0:
                return None
            figure = Figure(figsize=(width / dpi, height / dpi))
            figure.text(0, depth / height, formula, fontproperties=prop)
            figure.savefig(buffer, format="svg", transparent=True,
                           metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    except Exception:  # mathtext raises ValueError and pyparsing errors for TeX it lacks
        return None
    root = ElementTree.fromstring(buffer.getvalue())
    glyphs = {}
    for parent in list(root.iter()):
        for child in list(parent):
            if _local(child.tag) == "defs":  # glyph outlines: shared by the whole page
                for glyph in child:
                    if glyph.get("id"):
                        glyph_id = glyph.attrib.pop("id")
                        out = [f'<{_local(glyph.tag)} id="g-{html.escape(glyph_id)}"']
                        _serialise_attributes(glyph, out)
                        glyphs[glyph_id] = "".join(out) + "/>"
                parent.remove(child)
            elif child.get("id", "").startswith("patch"):  # the (invisible) figure background
                parent.remove(child)
    for element in root.iter():
        for key, value in element.attrib.items():
            if _local(key) == "href":  # glyphs live in the page's shared defs
                element.set(key, "#g-" + value.lstrip("#"))
    em = 72.0 / dpi / MATH_FONT_SIZE * MATH_SCALE  # device pixels -> em of the text around
    out = []
    for child in root:
        _serialise(child, out)
    body = "".join(out)
    style = (f"width:{width * em:.3f}em;height:{height * em:.3f}em;"
             f"vertical-align:{-depth * em:.3f}em")
    return root.get("viewBox", ""), style, body, glyphs
