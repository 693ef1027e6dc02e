"""pipelines.author_fallback: trafilatura's author fallback without XPath,
the same answers."""

from __future__ import annotations

import lxml.html
import pytest
import trafilatura.metadata
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from pipelines.author_fallback import extract_author

# The expressions pipelines/author_fallback.py transcribes (trafilatura 2.3).
TRANSCRIBED = [
    "//*[self::a or self::address or self::div or self::link or self::p or self::span or self::strong][ "
    "@rel='author' or @id='author' or @class='author' or @itemprop='author name' or rel='me' or "
    "@data-testid='AuthorCard' or @data-testid='AuthorURL' or "
    "re:test(@class, 'author-?name|AuthorName|authorName')]|//author",
    "//*[self::a or self::div or self::h3 or self::h4 or self::p or self::span][ "
    "@class='byline' or @class='username' or @class='byl' or @class='BBL' or "
    "contains(@itemprop, 'author') or re:test(@id, 'author|zuozhe|bianji|xiaobian') or "
    "re:test(@class, 'author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name')]",
    "//*[ contains(@data-component, 'Byline') or contains(@itemprop, 'author') or "
    "re:test(@id, '[Aa]uthor') or re:test(@class, '[Aa]uthor|screenname|writer|[Bb]yline')]",
    ".//*[self::a or self::div or self::section or self::span][ "
    "@id='comments' or @class='comments' or @class='title' or @class='date' or "
    "re:test(@id, '^comments|comment-?list|ProductReviews') or "
    "re:test(@class, '^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    "article-(?:share|support)|print|category|meta-date|meta-reviewer') or contains(@data-component, 'Figure')]",
    "//time|//figure",
]

PAGES = {
    "class author": '<p class="author">Jane Doe</p>',
    "rel author link": '<a rel="author" href="/jane">Jane Doe</a>',
    "itemprop": '<span itemprop="author">By Jane Doe</span>',
    "byline with a date inside": '<div class="byline">By Jane Doe <time>12 May</time> in Riverton</div>',
    "byline with a discarded span and tails": '<div class="byline">By <span class="date">May</span>Jane<span class="date">x</span> Doe</div>',
    "discarded span joins the text around it": '<div class="byline">Jane<span class="date">x</span>Doe</div>',
    "discarded time joins the text around it": '<p class="author">Mary<time>today</time>Ann Lee</p>',
    "first child discarded": '<span class="author-name"><span class="date">May</span>Jane Doe</span>',
    "author only in the comments": '<div id="comments"><p class="author">Commenter</p></div><p class="writer">Jane Doe</p>',
    "author inside a figure": '<figure><span class="author">Photographer</span></figure><div data-component="Byline">Jane Doe</div>',
    "too long": '<p class="author">' + "word " * 40 + '</p><p class="byline">Jane Doe</p>',
    "too short": '<p class="author">JD</p><h4 id="author-box">Jane Doe</h4>',
    "author element": "<author>Jane Doe</author>",
    "rel me child": "<div><rel>me</rel>Jane Doe</div>",
    "nothing": "<p>No byline on this page at all.</p>",
    "second expression before third": '<span class="posted-by">Jane Doe</span><p class="screenname">Someone Else</p>',
}


def test_transcribed_expressions_are_still_trafilaturas():
    current = [" ".join(x.path.split()) for x in [*AUTHOR_XPATHS, *AUTHOR_DISCARD_XPATHS]]
    assert current == [" ".join(x.split()) for x in TRANSCRIBED]


@pytest.mark.parametrize("body", PAGES.values(), ids=PAGES.keys())
def test_same_author_as_trafilatura(body):
    html = f"<html><head><title>t</title></head><body><article><p>Story text.</p>{body}</article></body></html>"
    tree = lxml.html.fromstring(html)
    assert extract_author(tree) == trafilatura.metadata.extract_author(tree)
