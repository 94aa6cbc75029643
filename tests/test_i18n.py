"""The Chinese edition: its gettext catalogues and its build.

locales/zh_CN/LC_MESSAGES/ holds one catalogue per page of _toc.yml. They must
hold exactly the messages of the current English book (extracted again here,
without executing a notebook, as `python3 tasks.py catalogues` does), each one
translated, none fuzzy, none obsolete, with the translation keeping the
message's references and math; `msgfmt -c` must accept them. A change to the
English prose without its translation therefore fails this module, listing
the messages. The Chinese edition builds with -W, and every page of each
edition links to the same page of the other.
"""
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from autograder.course import COURSE_ROOT
from browser_support import toc_pages

ROOT = COURSE_ROOT
CATALOGUES = ROOT / "locales" / "zh_CN" / "LC_MESSAGES"
PAGE_NAMES = [name for name, _ in toc_pages(ROOT)]
SHOW = 12  # messages listed per failure


def catalogue_path(name):
    return CATALOGUES / f"{name}.po"


def read_catalogue(name):
    with open(catalogue_path(name), "rb") as handle:
        return read_po(handle, locale="zh_CN")


def entries(catalogue):
    """The messages of a catalogue, without its header entry."""
    return [message for message in catalogue if message.id]


def listing(messages):
    shown = [f"  {str(message)[:160]!r}" for message in messages[:SHOW]]
    more = len(messages) - SHOW
    return "\n".join(shown + ([f"  ... and {more} more"] if more > 0 else []))


@pytest.fixture(scope="module")
def current_messages(tmp_path_factory):
    """{page: set of msgids} extracted from the book as it is now (no notebook is executed)."""
    output = tmp_path_factory.mktemp("gettext") / "pot"
    process = subprocess.run([sys.executable, "-c", "import sys, tasks; sys.exit(tasks.extract_messages(sys.argv[1]))",
                              str(output)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, "extracting the messages failed:\n" + (process.stdout + process.stderr)[-3000:]
    messages = {}
    for name in PAGE_NAMES:
        with open(output / f"{name}.pot", "rb") as handle:
            messages[name] = {message.id for message in read_po(handle) if message.id}
    return messages


def test_every_page_has_one_catalogue_and_no_catalogue_is_left_over():
    expected = {catalogue_path(name) for name in PAGE_NAMES}
    # exercises/ holds the exercises' catalogues (tests/test_exercises_zh.py checks them).
    present = {path for path in CATALOGUES.rglob("*.po") if path.relative_to(CATALOGUES).parts[0] != "exercises"}
    assert not expected - present, f"pages without a catalogue: {sorted(map(str, expected - present))}"
    assert not present - expected, f"catalogues of no page in _toc.yml: {sorted(map(str, present - expected))}"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_catalogue_holds_the_messages_of_the_current_book(current_messages, name):
    held = {message.id for message in entries(read_catalogue(name))}
    missing = sorted(current_messages[name] - held)
    stale = sorted(held - current_messages[name])
    assert not missing and not stale, (
        f"{catalogue_path(name).relative_to(ROOT)} is not up to date with the English of {name}; "
        f"run `python3 tasks.py catalogues` and translate.\n"
        f"{len(missing)} messages of the book missing from the catalogue:\n{listing(missing)}\n"
        f"{len(stale)} messages in the catalogue that the book no longer has:\n{listing(stale)}")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_every_message_is_translated(name):
    untranslated = [message.id for message in entries(read_catalogue(name)) if not message.string]
    assert not untranslated, (f"{len(untranslated)} messages of {catalogue_path(name).relative_to(ROOT)} "
                              f"have no translation:\n{listing(untranslated)}")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_no_message_is_fuzzy_or_obsolete(name):
    catalogue = read_catalogue(name)
    fuzzy = [message.id for message in entries(catalogue) if message.fuzzy]
    obsolete = [message.id for message in catalogue.obsolete.values()]
    assert not fuzzy, (f"{len(fuzzy)} fuzzy messages (the English changed: check the translation, "
                       f"drop the flag):\n{listing(fuzzy)}")
    assert not obsolete, f"{len(obsolete)} obsolete messages (#~), delete them:\n{listing(obsolete)}"


# What a translation keeps exactly: roles with their target ({doc}, {cite:p}, {download}, ...),
# inline math and inline code.
ROLE = re.compile(r"\{([\w:-]+)\}`(?:[^`<]*<)?([^`>]*)>?`")
MATH = re.compile(r"(?<!\\)\$[^$]+(?<!\\)\$")
CODE = re.compile(r"(?<!\})``?([^`]+)``?")
CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"\b[A-Za-z]{2,}\b")


# Roles whose content is only the link's text (book/_ext/book_extensions.py): translated.
TEXT_ROLES = {"pdf-edition"}


def kept_markup(text):
    """The roles (as many as in the English: Sphinx links them in order), and the set of
    formulas and code (a translation may name one twice, or in another order)."""
    roles = Counter((role, "" if role in TEXT_ROLES else target) for role, target in ROLE.findall(text))
    bare = ROLE.sub(" ", text)
    return roles, set(MATH.findall(bare)), set(CODE.findall(MATH.sub(" ", bare)))


def prose_words(text):
    return LATIN_WORD.findall(CODE.sub(" ", MATH.sub(" ", ROLE.sub(" ", text))))


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_translations_keep_references_math_and_code(name):
    broken = []
    for message in entries(read_catalogue(name)):
        if message.string and kept_markup(message.id) != kept_markup(message.string):
            broken.append(f"{message.id[:100]!r}\n    -> {message.string[:100]!r}")
    assert not broken, (f"{len(broken)} translations change a role, its target, inline math or code "
                        f"(keep them character for character):\n" + "\n".join(broken[:SHOW]))


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_no_sentence_is_left_in_english(name):
    """A message of eight or more English words is translated, not copied (a term or
    a name may be copied unchanged)."""
    copied = [message.id for message in entries(read_catalogue(name))
              if message.string and len(prose_words(message.id)) >= 8 and not CJK.search(message.string)]
    assert not copied, f"{len(copied)} messages have an English 'translation':\n{listing(copied)}"


def test_msgfmt_accepts_every_catalogue():
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt is missing (Debian's gettext); `python3 tasks.py test` installs it", pytrace=False)
    failures = []
    for name in PAGE_NAMES:
        process = subprocess.run([msgfmt, "-c", "-o", "/dev/null", str(catalogue_path(name))],
                                 capture_output=True, text=True)
        if process.returncode != 0:
            failures.append(process.stderr.strip())
    assert not failures, "\n".join(failures)


# --- the two editions ----------------------------------------------------------------

@pytest.fixture(scope="module")
def chinese_html(chinese_book_build):
    process, html = chinese_book_build
    if process.returncode != 0 or not (html / "index.html").is_file():
        pytest.fail("the Chinese edition did not build with -W:\n" + (process.stdout + process.stderr)[-4000:],
                    pytrace=False)
    return html


SWITCH = re.compile(r'<a class="btn btn-sm language-switch" href="([^"]+)" hreflang="([^"]+)"')


def language_switch(page):
    found = SWITCH.findall(page.read_text(encoding="utf-8"))
    assert len(found) == 1, f"{page}: {len(found)} language switches"
    return found[0]


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_each_page_links_the_same_page_in_the_other_edition(book_build, chinese_html, name):
    english = book_build[1] / f"{name}.html"
    chinese = chinese_html / f"{name}.html"
    assert '<html lang="zh-CN"' in chinese.read_text(encoding="utf-8")
    assert '<html lang="en"' in english.read_text(encoding="utf-8")
    href, lang = language_switch(english)
    assert lang == "zh-CN" and (english.parent / href).resolve() == chinese.resolve()
    href, lang = language_switch(chinese)
    assert lang == "en" and (chinese.parent / href).resolve() == english.resolve()


def page_title(page):
    """The text of a built page's <h1>, without its chapter number."""
    html = page.read_text(encoding="utf-8")
    title = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert title, f"{page}: no <h1>"
    text = re.sub(r'<span class="section-number">.*?</span>|<a class="headerlink".*?</a>', "", title.group(1))
    return re.sub(r"<[^>]+>", "", text).strip()


def test_chinese_pages_show_their_translated_titles(book_build, chinese_html):
    """A page whose title is translated has it as its Chinese <h1> (the build reads the catalogues)."""
    translated = {}
    for name in PAGE_NAMES:
        title = read_catalogue(name).get(page_title(book_build[1] / f"{name}.html"))
        assert title is not None, f"{name}: its English title is not a message of its catalogue"
        if title.string:
            translated[name] = (page_title(chinese_html / f"{name}.html"), title.string)
    assert translated, "no page title is translated yet"
    wrong = {name: shown for name, (shown, expected) in translated.items() if shown != expected}
    assert not wrong, f"Chinese pages that do not show their translated title: {wrong}"


def test_build_times_are_recorded(book_build, chinese_book_build, record_property):
    english, chinese = book_build[0], chinese_book_build[0]
    record_property("summary", f"book build: English {english.seconds:.0f} s (runs the chapters), "
                               f"Chinese {chinese.seconds:.0f} s (reuses their outputs)")
    # The Chinese build must not run the chapters again: it takes their outputs from the cache.
    assert "Executing notebook" not in chinese.stdout + chinese.stderr
