"""Data-flow diagrams for the book, drawn with Matplotlib patches and arrows.

Every chapter draws its mechanism through these few functions, so all diagrams
share one style (fonts, colours, line widths) and stay readable on a phone.

Coordinates are inches. ``canvas(5, 3)`` makes a figure 5 inches wide and 3
high whose data coordinates run from (0, 0) at the bottom left to (5, 3) at the
top right, so a box of width 1 is one inch wide in every diagram and a 13 pt
label fits the same box everywhere.

The API (stable: the chapters depend on it)::

    fig, ax = canvas(width, height)            # a blank drawing area, axes hidden
    b = box(ax, (x, y), "label", width=1.2, height=0.5, kind="input")
                                               # rounded box centred at (x, y); text may be $math$
    n = node(ax, (x, y), "label", radius=0.25, kind="input")  # a circle, e.g. a graph's node
    arrow(ax, start, end, label=None, weight=None, kind="flow", bend=0.0, dashed=False, at=0.5,
          head=True)                           # start/end: a box, node, grid cell or (x, y) point;
                                               # the label sits at fraction `at` along the arrow;
                                               # head=False draws a plain line (an undirected edge)
    cells = grid(ax, (x, y), data, cell=0.35, kind="weights", row_labels=None,
                 col_labels=None, annotate=False, fmt="{:.2f}")
                                               # a matrix of cells, (x, y) its top-left corner;
                                               # cells[i, j] is the Rectangle of row i, column j
    text(ax, (x, y), "label", size=FONT_SIZE, color=INK, ha="center", va="center")
    frame(ax, (x0, y0), (x1, y1), "label")      # a dashed outline around a group ("x N layers"),
                                               # drawn behind everything, label at its top left
    span(ax, start, end, "label", side="left")  # a dimension line with end ticks ("n", "$d_k$")
    edge(patch, "top")                         # the middle of one side of a box or cell: (x, y)
    spread(count, centre, step)                # `count` positions `step` apart, centred on `centre`
    outside(fig)                               # artists drawn outside the figure: [] when all fit

``kind`` picks the colour of a box or grid from KINDS: "input", "query",
"key", "value", "weights", "state", "output", "op" (an operation such as
softmax or +) and "plain". Arrows take "flow" (black, the default),
"attention" (blue; `weight` in [0, 1] sets its width and opacity) and "skip"
(grey, for residual and forgetting paths). A grid's `data` is a 2-D array of
numbers (coloured with viridis from 0 to its maximum), a 2-D boolean array
(True cells filled with the kind's colour, False cells white), or a shape
``(rows, cols)`` (all cells filled).

Phones: a figure is shrunk to the screen's width (about 360 CSS pixels), so
keep diagrams at most about 6 inches wide and labels at the default 13 pt
(SMALL_SIZE, 11 pt, is the least `text` accepts). Every function returns what
it drew, so a chapter or a test can check it.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from attnlib.plotting import ATTENTION_CMAP, MAX_FIGURE_WIDTH

FONT_SIZE = 13  # points
SMALL_SIZE = 11  # the least any label may use: smaller is unreadable on a phone
INK = "#222222"
LINE_WIDTH = 1.4

# (fill, edge) per kind: light tints of the Okabe-Ito palette, which colour-blind
# readers can tell apart, with the full colour as the outline.
KINDS = {
    "input": ("#d6e9f8", "#0072b2"),
    "query": ("#fde3bd", "#e69f00"),
    "key": ("#cdeee0", "#009e73"),
    "value": ("#f3d9ea", "#cc79a7"),
    "weights": ("#e2ddf2", "#5e4fa2"),
    "state": ("#fff5c2", "#b8960c"),
    "output": ("#f9d3c0", "#d55e00"),
    "op": ("#ffffff", "#555555"),
    "plain": ("#ffffff", INK),
}
ARROW_COLOURS = {"flow": INK, "attention": "#0072b2", "skip": "#777777"}


def canvas(width, height):
    """A blank figure `width` x `height` inches whose data coordinates are inches.

    Returns (fig, ax); the axes fill the figure, are hidden and keep x and y on
    the same scale, so circles stay round and boxes keep their size.
    """
    if not 0 < width <= MAX_FIGURE_WIDTH:
        raise ValueError(f"width must be in (0, {MAX_FIGURE_WIDTH}] inches to fit the book; "
                         f"got {width}")
    if not 0 < height <= 2 * MAX_FIGURE_WIDTH:
        raise ValueError(f"height must be in (0, {2 * MAX_FIGURE_WIDTH}] inches; got {height}")
    fig = plt.figure(figsize=(width, height), facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _colours(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {sorted(KINDS)}")
    return KINDS[kind]


def box(ax, xy, label="", width=1.2, height=0.5, kind="plain", size=FONT_SIZE):
    """A rounded box centred at `xy` with `label` (plain text or $math$) in its middle.

    Returns the FancyBboxPatch; its label is the Text in `patch.label_text`.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"a box needs a positive width and height; got {width} x {height}")
    fill, outline = _colours(kind)
    x, y = xy
    pad = min(0.08, width / 4, height / 4)
    patch = FancyBboxPatch((x - width / 2 + pad, y - height / 2 + pad), width - 2 * pad,
                           height - 2 * pad, boxstyle=f"round,pad={pad}", facecolor=fill,
                           edgecolor=outline, linewidth=LINE_WIDTH, zorder=2)
    ax.add_patch(patch)
    patch.label_text = text(ax, xy, label, size=size, zorder=3) if label else None
    return patch


def node(ax, xy, label="", radius=0.25, kind="input", size=FONT_SIZE):
    """A circle of `radius` inches centred at `xy` with `label` in its middle (a graph's node).

    Returns the Circle; its label is the Text in `patch.label_text`.
    """
    if radius <= 0:
        raise ValueError(f"a node needs a positive radius; got {radius}")
    fill, outline = _colours(kind)
    patch = Circle(xy, radius, facecolor=fill, edgecolor=outline, linewidth=LINE_WIDTH, zorder=2)
    ax.add_patch(patch)
    patch.label_text = text(ax, xy, label, size=size, zorder=3) if label else None
    return patch


def _bounds(patch):
    """(x0, y0, x1, y1) of a box, node or grid cell in data coordinates (inches)."""
    if isinstance(patch, Circle):
        (x, y), r = patch.center, patch.radius
        return (x - r, y - r, x + r, y + r)
    if isinstance(patch, FancyBboxPatch):
        pad = patch.get_boxstyle().pad
        return (patch.get_x() - pad, patch.get_y() - pad,
                patch.get_x() + patch.get_width() + pad, patch.get_y() + patch.get_height() + pad)
    if isinstance(patch, Rectangle):
        return (patch.get_x(), patch.get_y(),
                patch.get_x() + patch.get_width(), patch.get_y() + patch.get_height())
    raise TypeError(f"expected a box, a node or a grid cell; got {type(patch).__name__}")


def edge(patch, side):
    """The middle of one side ("top", "bottom", "left", "right") or the "centre" of a box,
    node or cell (for a node, the points of its bounding square)."""
    x0, y0, x1, y1 = _bounds(patch)
    points = {"top": ((x0 + x1) / 2, y1), "bottom": ((x0 + x1) / 2, y0),
              "left": (x0, (y0 + y1) / 2), "right": (x1, (y0 + y1) / 2),
              "centre": ((x0 + x1) / 2, (y0 + y1) / 2)}
    if side not in points:
        raise ValueError(f"side must be one of {sorted(points)}; got {side!r}")
    return points[side]


def arrow(ax, start, end, label=None, weight=None, kind="flow", bend=0.0, dashed=False,
          size=SMALL_SIZE, at=0.5, head=True):
    """An arrow from `start` to `end`: each a box, node or grid cell (the arrow stops at
    its outline) or an (x, y) point.

    label: text written on a white patch on the arrow (e.g. a weight "0.71"), at the
    fraction `at` of the way from start to end (0.5: the middle).
    weight: a number in [0, 1]; the line gets thicker and darker with it, so a figure
    shows how much each arrow carries. bend: 0 for straight; positive curves to the
    right of the direction of travel (Matplotlib's arc3 radius; 0.3 is a gentle curve).
    head: False draws a line without an arrowhead, e.g. an undirected edge of a graph.
    Returns the FancyArrowPatch; its label is the Text in `patch.label_text`.
    """
    if kind not in ARROW_COLOURS:
        raise ValueError(f"unknown arrow kind {kind!r}; use one of {sorted(ARROW_COLOURS)}")
    if not 0 <= at <= 1:
        raise ValueError(f"at must be in [0, 1]; got {at}")
    width, alpha = LINE_WIDTH, 1.0
    if weight is not None:
        if not 0 <= weight <= 1:
            raise ValueError(f"an arrow's weight must be in [0, 1]; got {weight}")
        width, alpha = 0.6 + 4.4 * weight, 0.35 + 0.65 * weight
    ends = []
    for point in (start, end):
        is_patch = isinstance(point, Patch)
        ends.append((edge(point, "centre"), point) if is_patch else (tuple(point), None))
    (a, patch_a), (b, patch_b) = ends
    patch = FancyArrowPatch(a, b, patchA=patch_a, patchB=patch_b, shrinkA=2, shrinkB=2,
                            arrowstyle="-|>" if head else "-", mutation_scale=14,
                            connectionstyle=f"arc3,rad={bend}",
                            color=ARROW_COLOURS[kind], linewidth=width, alpha=alpha,
                            linestyle="--" if dashed else "-", zorder=1)
    ax.add_patch(patch)
    patch.label_text = None
    if label is not None:
        # arc3 draws a quadratic Bezier curve whose control point is the chord's midpoint
        # moved by `bend` times (dy, -dx); the label goes to the curve's point at t = at.
        (x1, y1), (x2, y2) = a, b
        control = np.array([(x1 + x2) / 2 + bend * (y2 - y1), (y1 + y2) / 2 - bend * (x2 - x1)])
        place = (1 - at) ** 2 * np.array(a) + 2 * at * (1 - at) * control + at ** 2 * np.array(b)
        patch.label_text = text(ax, tuple(place), label, size=size, zorder=4,
                                bbox=dict(boxstyle="round,pad=0.15", facecolor="white",
                                          edgecolor="none"))
    return patch


def grid(ax, xy, data, cell=0.35, kind="weights", row_labels=None, col_labels=None,
         annotate=False, fmt="{:.2f}", vmax=None, size=SMALL_SIZE):
    """A matrix of square cells of side `cell` inches whose top-left corner is at `xy`.

    data: numbers (coloured with the book's viridis from 0 to `vmax`, default the
    maximum), booleans (True filled with the kind's colour, False white), or a
    shape (rows, cols) with every cell filled. Row i is drawn i cells below the top,
    as a matrix is read (queries down the side, keys along the top).
    row_labels / col_labels: text to the left of each row / above each column.
    annotate: write each number in its cell with `fmt`.
    Returns an array of the Rectangles, cells[i, j] for row i and column j.
    """
    if isinstance(data, tuple):
        data = np.ones(data, dtype=bool)
    data = np.asarray(data)
    if data.ndim != 2 or 0 in data.shape:
        raise ValueError("grid data must be a non-empty 2-D array or (rows, cols); "
                         f"got shape {data.shape}")
    rows, cols = data.shape
    for labels, count, what in ((row_labels, rows, "row"), (col_labels, cols, "column")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"{len(labels)} {what} labels for {count} {what}s")
    fill, outline = _colours(kind)
    if data.dtype == bool:
        colours = np.where(data[..., None], np.array(to_rgba(fill)), np.array(to_rgba("white")))
    else:
        values = data.astype(float)
        top = values.max() if vmax is None else vmax
        colours = colormaps[ATTENTION_CMAP](values / top if top > 0 else values)
    x0, y0 = xy
    cells = np.empty((rows, cols), dtype=object)
    for i in range(rows):
        for j in range(cols):
            rect = Rectangle((x0 + j * cell, y0 - (i + 1) * cell), cell, cell,
                             facecolor=colours[i, j], edgecolor=outline, linewidth=0.8, zorder=2)
            ax.add_patch(rect)
            cells[i, j] = rect
            if annotate and data.dtype != bool:
                # Light text on the dark end of viridis, dark text on the light end.
                light = np.mean(colours[i, j][:3]) < 0.5
                text(ax, (x0 + (j + 0.5) * cell, y0 - (i + 0.5) * cell), fmt.format(data[i, j]),
                     size=size, color="white" if light else INK, zorder=3)
    for i, label in enumerate(row_labels or []):
        text(ax, (x0 - 0.08, y0 - (i + 0.5) * cell), label, size=size, ha="right")
    for j, label in enumerate(col_labels or []):
        text(ax, (x0 + (j + 0.5) * cell, y0 + 0.08), label, size=size, va="bottom")
    return cells


def text(ax, xy, label, size=FONT_SIZE, color=INK, ha="center", va="center", **options):
    """A label at `xy` in the diagrams' font; `size` at least SMALL_SIZE points.

    Extra keyword arguments go to Matplotlib's ax.text (e.g. rotation, bbox).
    Returns the Text.
    """
    if size < SMALL_SIZE:
        raise ValueError(f"text smaller than {SMALL_SIZE} pt is unreadable on a phone; got {size}")
    options.setdefault("zorder", 3)
    return ax.text(*xy, label, fontsize=size, color=color, ha=ha, va=va, **options)


def frame(ax, corner, opposite, label=None, size=SMALL_SIZE):
    """A dashed rounded outline between two opposite corners, behind everything else,
    to group part of a diagram (a repeated block: "x N layers"). The label, if any, is
    written inside its top-left corner.

    Returns the FancyBboxPatch; its label is the Text in `patch.label_text`.
    """
    (x0, y0), (x1, y1) = corner, opposite
    left, bottom, width, height = min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)
    if width == 0 or height == 0:
        raise ValueError(f"a frame needs two corners apart in x and y; got {corner}, {opposite}")
    patch = FancyBboxPatch((left, bottom), width, height, boxstyle="round,pad=0,rounding_size=0.12",
                           facecolor="none", edgecolor=KINDS["op"][1], linewidth=1.0,
                           linestyle="--", zorder=0)
    ax.add_patch(patch)
    patch.label_text = None
    if label:
        patch.label_text = text(ax, (left + 0.1, bottom + height - 0.08), label, size=size,
                                ha="left", va="top", zorder=0)
    return patch


def span(ax, start, end, label, side="left", size=SMALL_SIZE):
    """A dimension line from `start` to `end` with end ticks and `label` beside it
    (side: "left", "right", "above" or "below"), e.g. the n rows of a matrix.

    Returns (the Line2D, the Text).
    """
    offsets = {"left": (-0.1, 0, "right", "center"), "right": (0.1, 0, "left", "center"),
               "above": (0, 0.1, "center", "bottom"), "below": (0, -0.1, "center", "top")}
    if side not in offsets:
        raise ValueError(f"side must be one of {sorted(offsets)}; got {side!r}")
    (x1, y1), (x2, y2) = start, end
    (line,) = ax.plot([x1, x2], [y1, y2], color=INK, linewidth=1.0, marker="|" if y1 == y2 else "_",
                      markersize=8, zorder=2)
    dx, dy, ha, va = offsets[side]
    label_text = text(ax, ((x1 + x2) / 2 + dx, (y1 + y2) / 2 + dy), label, size=size, ha=ha, va=va)
    return line, label_text


def spread(count, centre, step):
    """`count` positions `step` apart and centred on `centre` (a row or column layout)."""
    if count < 1:
        raise ValueError(f"count must be at least 1; got {count}")
    return centre + step * (np.arange(count) - (count - 1) / 2)


def outside(fig, tolerance=1.0):
    """The artists of `fig` drawn (partly) outside the figure: [] when everything fits.

    tolerance: pixels an artist may overhang (anti-aliasing, line caps).
    """
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    frame = fig.bbox
    sticking_out = []
    for ax in fig.axes:
        for artist in [*ax.patches, *ax.texts, *ax.lines, *ax.collections]:
            if not artist.get_visible() or (hasattr(artist, "get_text") and not artist.get_text()):
                continue
            box_ = artist.get_window_extent(renderer)
            if (box_.x0 < frame.x0 - tolerance or box_.y0 < frame.y0 - tolerance
                    or box_.x1 > frame.x1 + tolerance or box_.y1 > frame.y1 + tolerance):
                sticking_out.append(artist)
    return sticking_out
