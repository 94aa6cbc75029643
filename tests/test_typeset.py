"""autograder.typeset: TeX to inline SVG with matplotlib's mathtext, TeX kept where it cannot."""
import re

from autograder.typeset import MAX_TEX_CHARS, Typesetter


def test_a_formula_becomes_svg_named_by_its_tex_and_its_glyphs_are_in_defs():
    math = Typesetter()
    svg = math.html(r"\alpha_{ij} \le 1")
    assert svg.startswith('<svg class="math"') and 'role="img"' in svg
    assert 'aria-label="\\alpha_{ij} \\le 1"' in svg and "<title>\\alpha_{ij} \\le 1</title>" in svg
    used = set(re.findall(r'href="#(g-[^"]+)"', svg))
    defined = set(re.findall(r'id="(g-[^"]+)"', math.defs()))
    assert used and used <= defined


def test_no_formula_no_defs():
    assert Typesetter().defs() == ""


def test_display_math_sets_one_svg_per_line_split_at_qquad():
    svg = Typesetter().html("a = 1 \\qquad\nb = \\frac{1}{2}", display=True)
    assert svg.startswith('<span class="math-display">') and svg.count('<svg class="math"') == 2


def test_tex_mathtext_cannot_set_is_shown_as_escaped_tex():
    math = Typesetter()
    assert (math.html(r"\begin{bmatrix} a & b \end{bmatrix}")
            == '<code class="tex" title="TeX">$\\begin{bmatrix} a &amp; b \\end{bmatrix}$</code>')
    assert math.html("x" * (MAX_TEX_CHARS + 1), display=True).startswith('<code class="tex" title="TeX">$$')
    assert math.defs() == ""


def test_latex_mathtext_spells_otherwise_is_rewritten_before_typesetting():
    from autograder.typeset import _normalise_tex

    assert _normalise_tex(r"\bigl( a \le b \bigr)") == r"( a \leq b )"
    assert _normalise_tex(r"\lvert x \rvert \iff \tfrac{1}{2}") == r"| x | \Leftrightarrow \frac{1}{2}"
    # mathtext's \text font has no underscore: it is set upright in math instead
    assert _normalise_tex(r"\text{d_model}") == r"\text{d}\mathrm{\_}\text{model}"
