"""trafilatura's author fallback (``trafilatura.metadata.extract_author``),
computed in one pass over the tree with Python tests instead of XPath.

When a page declares no author in its metadata, trafilatura copies the whole
tree, deletes the parts where a name is not a byline (comments, sidebars,
quotes, dates, figures...) and runs three XPath expressions with regular
expressions over it: about 5 ms a page on the benchmark pages, the most
expensive part of its metadata. :func:`extract_author` gives the same
answer without the copy: the same tests, on each element once, and the
text of a match read as it would be after the deletions. The expressions
are transcribed from trafilatura 2.3's ``AUTHOR_XPATHS`` and
``AUTHOR_DISCARD_XPATHS``; a test checks that trafilatura still has those,
and that both give the same answer on the benchmark's kind of pages.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from trafilatura.metadata import normalize_authors

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# AUTHOR_DISCARD_XPATHS, the first expression.
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_IDS = frozenset({"comments"})
_DISCARD_CLASSES = frozenset({"comments", "title", "date"})
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|article-(?:share|support)"
    r"|print|category|meta-date|meta-reviewer"
)
# ... and the second: //time|//figure.
_DISCARD_ANY = frozenset({"time", "figure"})

# AUTHOR_XPATHS, in order.
_FIRST_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_FIRST_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_SECOND_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_SECOND_CLASSES = frozenset({"byline", "username", "byl", "BBL"})
_SECOND_ID = re.compile(r"author|zuozhe|bianji|xiaobian")
_SECOND_CLASS = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_THIRD_ID = re.compile(r"[Aa]uthor")
_THIRD_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")

# Every class and id test above in one expression each (the exact ones are
# matched by these too: "author" by the class and id patterns).
_ANY_CLASS = re.compile("|".join(p.pattern for p in (_FIRST_CLASS, _SECOND_CLASS, _THIRD_CLASS)))
_ANY_ID = re.compile("|".join(p.pattern for p in (_SECOND_ID, _THIRD_ID)))

MAX_CHARS = 120


def _discarded(tag: str, attributes) -> bool:
    if tag in _DISCARD_ANY:
        return True
    if tag not in _DISCARD_TAGS or not attributes:
        return False
    get = attributes.get
    element_id, element_class = get("id"), get("class")
    return (
        element_id in _DISCARD_IDS
        or element_class in _DISCARD_CLASSES
        or _DISCARD_ID.search(element_id or "") is not None
        or _DISCARD_CLASS.search(element_class or "") is not None
        or "Figure" in (get("data-component") or "")
    )


def _expression(tag: str, attributes, element: HtmlElement, rel_me: set[HtmlElement]) -> int | None:
    """The first of AUTHOR_XPATHS that selects the element (0, 1, 2), if any."""
    if tag == "author":
        return 0
    if not attributes and element not in rel_me:
        return None
    get = attributes.get
    element_class, element_id = get("class"), get("id")
    # Most elements pass none of the tests: one search tells.
    if not (
        (element_class and (_ANY_CLASS.search(element_class) or element_class in _SECOND_CLASSES))
        or (element_id and _ANY_ID.search(element_id))
        or get("itemprop") or get("rel") or get("data-testid") or get("data-component")
        or element in rel_me
    ):
        return None
    if tag in _FIRST_TAGS and (
        get("rel") == "author"
        or element_id == "author"
        or element_class == "author"
        or get("itemprop") == "author name"
        or get("data-testid") in ("AuthorCard", "AuthorURL")
        or _FIRST_CLASS.search(element_class or "") is not None
        or element in rel_me
    ):
        return 0
    itemprop_author = "author" in (get("itemprop") or "")
    if tag in _SECOND_TAGS and (
        element_class in _SECOND_CLASSES
        or itemprop_author
        or _SECOND_ID.search(element_id or "") is not None
        or _SECOND_CLASS.search(element_class or "") is not None
    ):
        return 1
    if (
        "Byline" in (get("data-component") or "")
        or itemprop_author
        or _THIRD_ID.search(element_id or "") is not None
        or _THIRD_CLASS.search(element_class or "") is not None
    ):
        return 2
    return None


def _pruned_text(element: HtmlElement, discarded: set[HtmlElement]) -> str:
    """``" ".join(element.itertext())`` as it reads once the discarded
    elements are deleted: their text goes, and their tail joins the text
    before them (trafilatura's ``delete_element``)."""
    chunks: list[str | None] = []

    def walk(node: HtmlElement) -> None:
        chunks.append(node.text if isinstance(node.tag, str) else None)
        for child in node:
            if child in discarded:
                if child.tail:
                    chunks[-1] = (chunks[-1] or "") + child.tail
                continue
            walk(child)
            chunks.append(child.tail)

    walk(element)
    return " ".join(chunk for chunk in chunks if chunk is not None)


def extract_author(tree: HtmlElement) -> str | None:
    """What ``trafilatura.metadata.extract_author(tree)`` returns."""
    discarded: set[HtmlElement] = set()
    matches: tuple[list[HtmlElement], ...] = ([], [], [])
    # The first XPath says rel='me', not @rel='me': an element with a child
    # element <rel> whose text is "me".
    rel_me = {rel.getparent() for rel in tree.iter("rel") if rel.xpath("string()") == "me"}
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        attributes = element.attrib
        if _discarded(tag, attributes):
            discarded.add(element)
        expression = _expression(tag, attributes, element, rel_me)
        if expression is not None:
            matches[expression].append(element)
    for found in matches:
        for element in found:
            if element in discarded or any(ancestor in discarded for ancestor in element.iterancestors()):
                continue
            content = " ".join(_pruned_text(element, discarded).split())
            if 2 < len(content) < MAX_CHARS:
                return normalize_authors(None, content)
    return None
