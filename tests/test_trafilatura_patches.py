"""pipelines.trafilatura_patches: each patch does what it says, leaves
trafilatura as it was once done, and has a guard that fails when the
library changes under it."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import lxml.html
import pytest
import trafilatura
import trafilatura.metadata
from trafilatura import main_extractor, utils
from trafilatura.utils import HTML_PARSER

from pipelines import trafilatura_patches
from pipelines.decoding import decode
from pipelines.trafilatura_patches import TARGETS, element_classes_in_c, load_html
from tests.test_extract import extract, page_with_a_paragraph_printed


@pytest.mark.parametrize("package", TARGETS)
def test_installed_version_is_the_one_the_patches_target(package):
    assert version(package).startswith(TARGETS[package])


def calls(function) -> str:
    return inspect.getsource(function)


# --- lean_metadata ---------------------------------------------------------------------


def test_guard_trafilatura_still_looks_for_categories_tags_licence_and_author_by_these_functions():
    source = calls(trafilatura.metadata.extract_metadata)
    assert all(f"{name}(" in source for name in ("extract_catstags", "extract_license", "extract_author"))


def test_metadata_functions_are_trafilaturas_again_after_an_extraction():
    before = trafilatura.metadata.extract_catstags, trafilatura.metadata.extract_license, trafilatura.metadata.extract_author
    extract(page_with_a_paragraph_printed(2))
    after = trafilatura.metadata.extract_catstags, trafilatura.metadata.extract_license, trafilatura.metadata.extract_author
    assert after == before


# --- every_copy_kept -------------------------------------------------------------------


def test_guard_trafilatura_still_drops_consecutive_copies_itself():
    text = trafilatura.extract(page_with_a_paragraph_printed(95).decode(), fast=True, deduplicate=False, include_comments=False)
    assert text.count("three gears") == 2  # one of the 95, and the page's own copy further down
    assert main_extractor.MIN_DUPLICATE_LENGTH == 50
    readers = [
        name
        for name, function in inspect.getmembers(main_extractor, inspect.isfunction)
        if function.__module__ == main_extractor.__name__ and "MIN_DUPLICATE_LENGTH" in calls(function)
    ]
    assert readers == ["extract_content", "recover_wild_text"]


def test_duplicate_limit_and_recovery_are_trafilaturas_again_after_an_extraction():
    extract(page_with_a_paragraph_printed(95))
    assert main_extractor.MIN_DUPLICATE_LENGTH == 50
    assert main_extractor.recover_wild_text.__module__ == main_extractor.__name__


# --- load_html -------------------------------------------------------------------------


def test_guard_trafilatura_removes_invalid_xml_characters_only_through_INVALID_XML_CHARS():  # noqa: N802
    assert "INVALID_XML_CHARS.sub(" in calls(utils.repair_faulty_html)
    assert "repair_faulty_html(" in calls(utils.load_html)


# --- element_classes_in_c -----------------------------------------------------------------


def test_guard_lxml_still_has_its_table_of_html_element_classes():
    table = lxml.html.HtmlElementClassLookup._default_element_classes
    assert table["form"] is lxml.html.FormElement and table["input"] is lxml.html.InputElement


def test_install_is_what_extraction_needs_for_the_whole_process(monkeypatch):
    installed = []
    monkeypatch.setattr(trafilatura_patches, "element_classes_in_c", lambda: installed.append(True))
    trafilatura_patches.install()
    assert installed == [True]

PAGE = b"""<!DOCTYPE html><html lang="en"><head><title>Budget passed</title></head><body>
<!-- a comment --><nav><a href="/">Home</a></nav>
<article><h1>Council passes the budget</h1>
<p>The city council approved a budget on Tuesday night after a four-hour meeting that ran past midnight.</p>
<p>Residents who spoke asked for more money for libraries, parks and the bus service on the east side.</p>
<form action="/subscribe"><label for="e">E-mail</label><input id="e" name="e"><select name="s"><option>daily</option></select>
<textarea name="t"></textarea></form></article></body></html>"""


def classes_and_text(parser) -> tuple[list[type], str | None]:
    tree = lxml.html.fromstring(PAGE, parser=parser)
    return [type(element) for element in tree.iter()], trafilatura.extract(PAGE)


def test_c_lookup_gives_lxml_htmls_classes_and_the_same_extraction():
    python_lookup = lxml.html.HtmlElementClassLookup()
    HTML_PARSER.set_element_class_lookup(python_lookup)
    before = classes_and_text(HTML_PARSER)
    element_classes_in_c.cache_clear()
    element_classes_in_c()
    after = classes_and_text(HTML_PARSER)

    assert after == before
    assert {cls.__name__ for cls in after[0]} >= {"HtmlElement", "FormElement", "InputElement", "SelectElement", "TextareaElement", "LabelElement"}
    assert "approved a budget" in after[1]


def test_decoded_page_parses_as_trafilatura_parses_the_raw_one():
    # Characters that trafilatura removes before parsing, where they break markup.
    raw = PAGE.replace(b"<h1>", b"<h1>\x0b").replace(b"budget on", "budget\x0c\ufffe on\uffff".encode())
    raw = raw.replace(b"four-hour", b"four\x0b-hour").replace(b"<title>", b"<title>\x0c")

    ours = load_html(decode(raw, html=True))
    theirs = trafilatura.load_html(raw.decode())

    assert lxml.html.tostring(ours) == lxml.html.tostring(theirs)
    assert b"four-hour" in lxml.html.tostring(ours)


def test_load_html_keeps_trafilaturas_repairs():
    faulty = b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "/x.dtd"/>\n<html lang="en"/>\n<body><p>' + b"Text. " * 40 + b"</p></body></html>"

    assert lxml.html.tostring(load_html(faulty.decode())) == lxml.html.tostring(trafilatura.load_html(faulty.decode()))
    fragment = "<p>not a page, only a sentence</p>"  # rejected: "not valid HTML"
    assert trafilatura.load_html(fragment) is None
    assert load_html(fragment) is None
