"""Whether extracted text reads as a listing page rather than an article:
menus and link lists, or headlines that are each the text of a link."""

from __future__ import annotations

# A page whose og:type names no article, and that declares no publication
# time, is an article only if its text is prose, with at most this share of
# the link text SIEVE_MAX_LINK_DENSITY allows: teasers under headlines are
# seldom so little of a listing page.
OG_TYPE_PROSE_SHARE = 0.2
MENU_DUMP_MIN_LINES = 30
MENU_DUMP_SHORT_SHARE = 0.5


def looks_like_menus(lines: list[str]) -> bool:
    """Whether extracted text is a page's worth of menus and link lists:
    many lines, most of them a few words long."""
    if len(lines) < MENU_DUMP_MIN_LINES:
        return False
    short = sum(1 for line in lines if len(line.split()) < 5)
    return short > MENU_DUMP_SHORT_SHARE * len(lines)


def link_density(lines: list[str], anchor_texts: frozenset[str]) -> float:
    """Share of the extracted characters that are in lines which are, whole,
    the text of a link: high on listing pages, whose "text" is headlines."""
    total = sum(len(line) for line in lines)
    linked = sum(len(line) for line in lines if line.casefold() in anchor_texts)
    return linked / total if total else 0.0
