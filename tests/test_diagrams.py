"""attnlib.diagrams draws what it is asked to, in one style, inside the figure."""
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from attnlib import diagrams  # noqa: E402
from attnlib.plotting import MAX_FIGURE_WIDTH  # noqa: E402


@pytest.fixture
def drawing():
    fig, ax = diagrams.canvas(5, 3)
    yield fig, ax
    plt.close(fig)


def texts(ax):
    return [t.get_text() for t in ax.texts]


def line_of(arrow):
    """The drawn arrow's line (start, control points, tip) in data coordinates, without its head."""
    arrow.figure.canvas.draw()
    path = arrow.get_path()  # in data coordinates: the line (a quadratic curve), then the head
    moves = np.flatnonzero(path.codes == path.MOVETO)
    return path.vertices[:moves[1]] if len(moves) > 1 else path.vertices


def test_canvas_coordinates_are_inches(drawing):
    fig, ax = drawing
    assert tuple(fig.get_size_inches()) == (5, 3)
    assert ax.get_xlim() == (0, 5) and ax.get_ylim() == (0, 3)
    assert not ax.axison, "diagrams hide the axes"
    # One data unit is one inch on screen in both directions.
    (x0, y0), (x1, y1) = ax.transData.transform([(0, 0), (1, 1)])
    assert x1 - x0 == pytest.approx(fig.dpi) and y1 - y0 == pytest.approx(fig.dpi)


@pytest.mark.parametrize("size", [(0, 2), (MAX_FIGURE_WIDTH + 0.1, 2), (3, -1)])
def test_canvas_refuses_sizes_that_do_not_fit_the_book(size):
    with pytest.raises(ValueError, match="must be in"):
        diagrams.canvas(*size)


def test_box_is_drawn_where_asked_with_its_label_and_colours(drawing):
    fig, ax = drawing
    patch = diagrams.box(ax, (2, 1.5), "$Q = X W_q$", width=1.6, height=0.6, kind="query")
    assert isinstance(patch, FancyBboxPatch) and patch in ax.patches
    assert diagrams._bounds(patch) == pytest.approx((1.2, 1.2, 2.8, 1.8))
    assert texts(ax) == ["$Q = X W_q$"]
    assert patch.label_text.get_position() == (2, 1.5)
    fill, outline = diagrams.KINDS["query"]
    assert patch.get_facecolor() == to_rgba(fill) and patch.get_edgecolor() == to_rgba(outline)
    assert patch.label_text.get_fontsize() >= diagrams.SMALL_SIZE


def test_box_refuses_an_unknown_kind_and_an_empty_size(drawing):
    _, ax = drawing
    with pytest.raises(ValueError, match="unknown kind 'keys'.*'key'"):
        diagrams.box(ax, (1, 1), "K", kind="keys")
    with pytest.raises(ValueError, match="positive width"):
        diagrams.box(ax, (1, 1), "K", width=0)
    assert len(ax.patches) == 0, "nothing is drawn for bad input"


def test_arrow_between_boxes_stops_at_their_outlines(drawing):
    fig, ax = drawing
    left = diagrams.box(ax, (1, 1.5), "a", width=1.0)
    right = diagrams.box(ax, (4, 1.5), "b", width=1.0)
    link = diagrams.arrow(ax, left, right)
    assert isinstance(link, FancyArrowPatch) and link in ax.patches
    fig.canvas.draw()
    xs = line_of(link)[:, 0]
    # From box a's right side (x = 1.5) to box b's left side (x = 3.5), not centre to centre.
    assert 1.5 <= xs.min() < 1.6 and 3.4 < xs.max() <= 3.5


def test_weighted_arrows_are_thicker_and_darker_and_labelled_in_the_middle(drawing):
    _, ax = drawing
    weak = diagrams.arrow(ax, (0.5, 0.5), (2.5, 0.5), weight=0.1, kind="attention", label="0.10")
    strong = diagrams.arrow(ax, (0.5, 2.5), (2.5, 2.5), weight=0.9, kind="attention", label="0.90")
    assert strong.get_linewidth() > 3 * weak.get_linewidth()
    assert strong.get_alpha() > weak.get_alpha()
    assert texts(ax) == ["0.10", "0.90"]
    assert weak.label_text.get_position() == pytest.approx((1.5, 0.5))
    with pytest.raises(ValueError, match=r"weight must be in \[0, 1\]"):
        diagrams.arrow(ax, (0, 0), (1, 1), weight=1.5)
    with pytest.raises(ValueError, match="unknown arrow kind"):
        diagrams.arrow(ax, (0, 0), (1, 1), kind="dotted")


def test_a_bent_arrows_label_sits_on_the_curve(drawing):
    fig, ax = drawing
    curve = diagrams.arrow(ax, (1, 1), (3, 1), bend=0.4, label="x", kind="skip", dashed=True)
    assert curve.get_linestyle() == "--"
    fig.canvas.draw()
    start, control, end = line_of(curve)
    # A positive bend curves to the right of travel: below the chord of a left-to-right arrow.
    # The label sits at the quadratic curve's middle point, 0.4 below the chord.
    middle = 0.25 * start + 0.5 * control + 0.25 * end
    assert middle == pytest.approx((2, 0.6), abs=0.03)
    assert curve.label_text.get_position() == pytest.approx((2, 0.6))


def test_grid_of_numbers_is_read_like_a_matrix(drawing):
    _, ax = drawing
    values = np.array([[0.0, 1.0, 0.5], [0.25, 0.75, 0.0]])
    cells = diagrams.grid(ax, (1, 2.5), values, cell=0.4, row_labels=["q1", "q2"],
                          col_labels=["k1", "k2", "k3"], annotate=True)
    assert cells.shape == (2, 3)
    assert all(isinstance(c, Rectangle) and c in ax.patches for c in cells.flat)
    # Row 0 at the top, column 0 at the left, as a matrix is read.
    assert (cells[0, 0].get_x(), cells[0, 0].get_y()) == pytest.approx((1, 2.1))
    assert (cells[1, 2].get_x(), cells[1, 2].get_y()) == pytest.approx((1.8, 1.7))
    viridis = matplotlib.colormaps["viridis"]
    assert cells[0, 1].get_facecolor() == pytest.approx(viridis(1.0))
    assert cells[0, 0].get_facecolor() == pytest.approx(viridis(0.0))
    assert {"q1", "q2", "k1", "k2", "k3", "0.50", "0.25"} <= set(texts(ax))


def test_boolean_grid_fills_true_cells_only(drawing):
    _, ax = drawing
    causal = np.tril(np.ones((3, 3), dtype=bool))
    cells = diagrams.grid(ax, (0.5, 2.5), causal, kind="key")
    fill = to_rgba(diagrams.KINDS["key"][0])
    for (i, j), cell in np.ndenumerate(cells):
        assert cell.get_facecolor() == (fill if j <= i else to_rgba("white"))


def test_grid_refuses_mismatched_labels(drawing):
    _, ax = drawing
    with pytest.raises(ValueError, match="2 row labels for 3 rows"):
        diagrams.grid(ax, (0, 3), (3, 3), row_labels=["a", "b"])
    with pytest.raises(ValueError, match="2-D"):
        diagrams.grid(ax, (0, 3), np.zeros(4))


def test_arrow_can_point_at_one_grid_cell(drawing):
    fig, ax = drawing
    cells = diagrams.grid(ax, (3, 2.5), (3, 3), cell=0.5)
    pointer = diagrams.arrow(ax, (0.5, 0.5), cells[2, 0])
    fig.canvas.draw()
    x0, y0, x1, y1 = diagrams._bounds(cells[2, 0])
    tip = line_of(pointer)[-1]
    assert x0 - 0.08 <= tip[0] <= x0 and y0 <= tip[1] <= y1  # stops just short of the cell


def test_text_and_span(drawing):
    _, ax = drawing
    line, label = diagrams.span(ax, (1, 0.5), (1, 2.5), "$n$", side="left")
    assert list(line.get_xdata()) == [1, 1] and label.get_text() == "$n$"
    assert label.get_position()[0] < 1 and label.get_horizontalalignment() == "right"
    with pytest.raises(ValueError, match="unreadable on a phone"):
        diagrams.text(ax, (1, 1), "tiny", size=7)
    with pytest.raises(ValueError, match="side must be one of"):
        diagrams.span(ax, (0, 0), (1, 0), "d", side="up")


def test_edge_points():
    fig, ax = diagrams.canvas(3, 3)
    patch = diagrams.box(ax, (1.5, 1.5), "x", width=1.0, height=0.6)
    assert diagrams.edge(patch, "top") == pytest.approx((1.5, 1.8))
    assert diagrams.edge(patch, "left") == pytest.approx((1.0, 1.5))
    with pytest.raises(ValueError):
        diagrams.edge(patch, "north")
    plt.close(fig)


def test_spread_centres_positions():
    assert list(diagrams.spread(3, 2.0, 0.5)) == [1.5, 2.0, 2.5]
    assert list(diagrams.spread(2, 0.0, 1.0)) == [-0.5, 0.5]
    with pytest.raises(ValueError):
        diagrams.spread(0, 1, 1)


def test_outside_finds_what_sticks_out(drawing):
    fig, ax = drawing
    diagrams.box(ax, (2.5, 1.5), "inside")
    assert diagrams.outside(fig) == []
    late = diagrams.box(ax, (4.9, 1.5), "half out", width=1.0)
    label = diagrams.text(ax, (2.5, 2.98), "a label above the top")
    found = diagrams.outside(fig)
    assert late in found and late.label_text in found and label in found


def test_node_is_a_labelled_circle_that_arrows_stop_at(drawing):
    fig, ax = drawing
    centre = diagrams.node(ax, (1, 1.5), "1", radius=0.3, kind="key")
    other = diagrams.node(ax, (4, 1.5), "2", radius=0.3)
    link = diagrams.arrow(ax, other, centre)
    assert centre.radius == 0.3 and tuple(centre.center) == (1, 1.5)
    assert diagrams.edge(centre, "right") == pytest.approx((1.3, 1.5))
    xs = line_of(link)[:, 0]
    assert 1.3 <= xs.min() < 1.4 and 3.6 < xs.max() <= 3.7  # from circle to circle
    assert texts(ax) == ["1", "2"]
    with pytest.raises(ValueError, match="positive radius"):
        diagrams.node(ax, (1, 1), "x", radius=0)


def test_label_at_a_fraction_of_the_arrow(drawing):
    _, ax = drawing
    near_start = diagrams.arrow(ax, (0, 0), (4, 2), label="a", at=0.25)
    assert near_start.label_text.get_position() == pytest.approx((1, 0.5))
    with pytest.raises(ValueError, match=r"at must be in \[0, 1\]"):
        diagrams.arrow(ax, (0, 0), (1, 1), label="b", at=1.5)
    assert len(ax.patches) == 1, "a refused arrow is not drawn"


def test_an_arrow_without_a_head_is_a_plain_line(drawing):
    _, ax = drawing
    edge_line = diagrams.arrow(ax, (0, 0), (2, 0), head=False)
    pointed = diagrams.arrow(ax, (0, 1), (2, 1))
    assert len(line_of(edge_line)) == 3  # the quadratic curve's start, control point, end
    # A head adds the points of its triangle after the line; a plain line has none.
    assert len(pointed.get_path().vertices) > len(edge_line.get_path().vertices)


def test_frame_groups_part_of_a_diagram_behind_it(drawing):
    _, ax = drawing
    inner = diagrams.box(ax, (2, 1.5), "layer")
    group = diagrams.frame(ax, (3.2, 0.5), (0.8, 2.6), "$\\times N$")
    assert diagrams._bounds(group) == pytest.approx((0.8, 0.5, 3.2, 2.6))
    assert group.get_zorder() < inner.get_zorder() and group.get_facecolor()[3] == 0, "see-through"
    assert group.get_linestyle() == "--" and group.label_text.get_text() == "$\\times N$"
    x, y = group.label_text.get_position()
    assert 0.8 < x < 1.2 and 2.3 < y < 2.6, "label inside the top-left corner"
    with pytest.raises(ValueError, match="two corners apart"):
        diagrams.frame(ax, (1, 1), (1, 2))


# --- every chapter has a data-flow diagram (issue: a diagram in every chapter) -------------

from autograder.course import COURSE_ROOT  # noqa: E402

CHAPTERS = sorted((COURSE_ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
# A phone 390 CSS px wide leaves the book's column about 350 px; the book shows a figure
# at 100 px per inch (its width attribute) and shrinks wider ones to fit the column.
PHONE_COLUMN = 350  # CSS px
SMALLEST_ON_PHONE = 8  # CSS px: the least height of a label a reader can still read


def diagram_cells(path):
    """(prose before it, the cell) for every cell of a chapter that draws with attnlib.diagrams."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(cells[i - 1], cell) for i, cell in enumerate(cells)
            if cell["cell_type"] == "code" and "diagrams.canvas(" in "".join(cell["source"])]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_a_diagram_with_caption_alt_text_and_folded_code(path):
    found = diagram_cells(path)
    assert found, f"{path.name}: no data-flow diagram drawn with attnlib.diagrams"
    for prose, cell in found:
        options = cell["metadata"].get("mystnb", {})
        assert len(options.get("image", {}).get("alt", "")) > 80, "alt text that describes it"
        assert options.get("figure", {}).get("caption") and options["figure"].get("name")
        assert "hide-input" in cell["metadata"].get("tags", []), "drawing code folded"
        words = "".join(prose["source"]).lower()
        assert prose["cell_type"] == "markdown" and ("diagram" in words or "figure" in words), (
            "the prose points at the diagram")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_diagrams_fit_a_phone_and_draw_nothing_outside(path):
    for _, cell in diagram_cells(path):
        before = set(plt.get_fignums())
        namespace = {"np": np, "plt": plt, "diagrams": diagrams}  # what chapters import first
        shown = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
            exec("".join(cell["source"]), namespace)  # the chapter's own cell, on its own
        assert len(shown) == 1, "one figure per diagram cell"
        fig = shown[0]
        try:
            assert diagrams.outside(fig) == []
            sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts]
            assert sizes and min(sizes) >= diagrams.SMALL_SIZE
            # The page shows the figure cropped to its content (bbox_inches="tight").
            drawn_px = fig.get_tightbbox(fig.canvas.get_renderer()).width * 100
            smallest_px = min(sizes) * 100 / 72 * min(1.0, PHONE_COLUMN / drawn_px)
            assert smallest_px >= SMALLEST_ON_PHONE, (
                f"labels {smallest_px:.1f} px tall on a phone: draw narrower or larger")
            assert len(fig.axes[0].patches) >= 5, "a diagram: boxes, cells and arrows"
        finally:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)
