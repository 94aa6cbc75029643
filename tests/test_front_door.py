"""What a student meets first: the README, the book's introduction, the launch links.

The introduction's assignment table is checked against the notebooks (points)
and the chapters (which chapter links which exercise), so it cannot drift; the
chapters' exercise links (Colab, Binder) are checked in the built pages; the
JupyterHub button only exists for a real hub.
"""
import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import yaml

from autograder.course import COURSE_ROOT as ROOT
from autograder.course import assignments
from browser_support import LaunchSettings

INTRO = ROOT / "book" / "intro.md"
# The chapters the book publishes (_toc.yml), not drafts lying in book/.
CHAPTERS = [ROOT / f"{entry['file']}.ipynb"
            for part in yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["parts"]
            for entry in part["chapters"] if re.match(r"book/\d\d_", entry["file"])]
LAUNCH_ROLE = re.compile(r"\{exercise-launch\}`exercises/(\w+)/(\w+)\.ipynb`")


def chapter_number(path):
    return int(path.name[:2])


def exercises_section(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    texts = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    found = [text[text.index("## Exercises"):] for text in texts if "## Exercises" in text]
    assert len(found) == 1, f"{path.name}: one Exercises section"
    return found[0]


def assignment_table():
    rows = {}
    for line in INTRO.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \| ([\d, ]+) \| (.+?) \| (\d+) \| (\d+-\d+ min) \|$", line)
        if match:
            name, chapters, _topic, points, _time = match.groups()
            rows[name] = ({int(c) for c in chapters.split(",")}, int(points))
    return rows


def notebook_points(assignment):
    total = 0
    for path in (ROOT / "solutions" / assignment).glob("*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        total += sum(cell["metadata"].get("nbgrader", {}).get("points", 0) for cell in cells)
    return total


def test_readme_keeps_the_two_commands_and_sends_each_reader_on():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 tasks.py book" in readme and "python3 tasks.py test" in readme
    assert "book/intro.md" in readme, "students are sent to the book's introduction"
    assert "(INSTRUCTORS.md)" in readme and (ROOT / "INSTRUCTORS.md").is_file()
    assert "python -m autograder --course DIR grade" in (ROOT / "INSTRUCTORS.md").read_text()


def test_intro_lists_every_assignment_with_its_points_and_chapters():
    table = assignment_table()
    assert sorted(table) == assignments(), "one row per assignment in solutions/"
    linked = {name: set() for name in assignments()}
    for chapter in CHAPTERS:
        for folder, name in LAUNCH_ROLE.findall(exercises_section(chapter)):
            assert folder == name and name in linked, f"{chapter.name}: no assignment {name}"
            linked[name].add(chapter_number(chapter))
    for name, (chapters, points) in table.items():
        assert points == notebook_points(name), f"{name}: the notebook's questions sum differently"
        assert chapters <= linked[name], f"{name}: chapters {chapters - linked[name]} do not link it"


def test_intro_names_the_chapters_without_a_graded_notebook_of_their_own():
    own = set().union(*(chapters for chapters, _ in assignment_table().values()))
    without = sorted(chapter_number(c) for c in CHAPTERS if chapter_number(c) not in own)
    text = " ".join(INTRO.read_text(encoding="utf-8").split())
    match = re.search(r"chapters ([\d, and]+) have no graded notebook of their own", text)
    assert match, "the introduction says which chapters have no graded notebook"
    named = sorted(int(n) for n in re.findall(r"\d+", match.group(1)))
    assert named == without


def test_every_chapter_with_an_assignment_links_it_online():
    for chapter in CHAPTERS:
        section = exercises_section(chapter)
        for name in re.findall(r"<\.\./exercises/\w+/(\w+)\.ipynb>", section):
            assert f"{{exercise-launch}}`exercises/{name}/{name}.ipynb`" in section, chapter.name


def test_jupyterhub_button_only_for_a_real_hub():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    hub = config["launch_buttons"].get("jupyterhub_url") or ""
    if hub:
        host = urlsplit(hub).hostname or ""
        placeholder = re.search(r"(^|\.)(example|invalid|test|localhost)(\.[a-z]+)?$", host)
        assert urlsplit(hub).scheme == "https" and host and not placeholder, hub


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append((attrs.get("class") or "", attrs["href"]))


def links_in(page):
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.links


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_built_chapter_opens_its_exercise_on_colab_and_binder(book_build, chapter):
    _, html_dir = book_build
    settings = LaunchSettings.read(ROOT)
    names = {name for _, name in LAUNCH_ROLE.findall(exercises_section(chapter))}
    links = [(cls, href) for cls, href in links_in(html_dir / "book" / f"{chapter.stem}.html")
             if "exercise-launch" in cls]
    expected = set()
    for name in names:
        path = f"exercises/{name}/{name}.ipynb"
        assert (ROOT / path).is_file()
        expected |= {f"{settings.colab_url}/github/{settings.owner}/{settings.name}/blob/"
                     f"{settings.branch}/{path}",
                     f"{settings.binderhub_url}/v2/gh/{settings.owner}/{settings.name}/"
                     f"{settings.branch}?urlpath={settings.interface_path}/{path}"}
    assert {href for _, href in links} == expected


def test_introduction_links_the_pdf_edition(book_build):
    _, html_dir = book_build
    settings = LaunchSettings.read(ROOT)
    pdfs = [href for cls, href in links_in(html_dir / "book" / "intro.html") if "pdf-edition" in cls]
    assert pdfs == [f"https://{settings.owner.lower()}.github.io/{settings.name}/book.pdf"]
