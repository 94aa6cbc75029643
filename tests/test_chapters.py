"""Every chapter notebook follows the book's rules (CONTRIBUTING.md).

Whether a chapter runs is checked twice elsewhere: nbval executes each one as a
plain notebook, and the book build executes it again with -W.
"""
import json

import pytest

from autograder.course import COURSE_ROOT

CHAPTERS = sorted((COURSE_ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_fifteen_chapters():
    assert len(CHAPTERS) == 15


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_committed_without_outputs(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_claims_summary_and_exercises(path):
    notebook = load(path)
    claims = [c for c in notebook["cells"] if "claim" in c.get("metadata", {}).get("tags", [])]
    assert claims, f"{path.name}: no cell tagged 'claim'"
    for cell in claims:
        assert "assert" in "".join(cell["source"]), f"{path.name}: a claim cell asserts nothing"
    headings = [line.strip() for c in notebook["cells"] if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines() if line.startswith("#")]
    assert headings[0].startswith("# "), f"{path.name}: first heading must be the title"
    assert "## Summary" in headings and "## Exercises" in headings, path.name


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_cell_has_alt_text_and_caption(path):
    for cell in load(path)["cells"]:
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        if "plt.show()" in source or "show_heatmaps(" in source:
            options = cell["metadata"].get("mystnb", {})
            assert options.get("image", {}).get("alt"), f"{path.name}: figure without alt text"
            assert options.get("figure", {}).get("caption"), f"{path.name}: figure without caption"
