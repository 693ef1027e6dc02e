"""trafilatura's HTML parser with lxml's element classes looked up in C
(pipelines.extract.element_classes_in_c): the same classes, the same text;
and pages loaded as trafilatura loads them (pipelines.extract.parse_html)."""

from __future__ import annotations

import lxml.html
import trafilatura
from trafilatura.utils import HTML_PARSER

from pipelines.decoding import decode
from pipelines.extract import element_classes_in_c, parse_html

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

    ours = parse_html(decode(raw, html=True))
    theirs = trafilatura.load_html(raw.decode())

    assert lxml.html.tostring(ours) == lxml.html.tostring(theirs)
    assert b"four-hour" in lxml.html.tostring(ours)


def test_parse_html_keeps_trafilaturas_repairs():
    faulty = b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "/x.dtd"/>\n<html lang="en"/>\n<body><p>' + b"Text. " * 40 + b"</p></body></html>"

    assert lxml.html.tostring(parse_html(faulty.decode())) == lxml.html.tostring(trafilatura.load_html(faulty.decode()))
    fragment = "<p>not a page, only a sentence</p>"  # rejected: "not valid HTML"
    assert trafilatura.load_html(fragment) is None
    assert parse_html(fragment) is None
