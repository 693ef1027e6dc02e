"""Cleaning stage: boilerplate paragraphs out, by rules about their shape and
place rather than by a list of known sentences. The rules, as users see
them, are listed in docs/cleaning.md; keep that list in step with the code.

Order: first the rules that judge one paragraph at a time (patterns,
menus/counters/copyright, pointers, promotion; the first that matches gives
the reason), then the title is taken (plain text) or dropped (HTML), then
edges (plain text) and dangling headings are trimmed again and again until
nothing changes.

Rules 2 to 4 and the HTML side of 5 were chosen, and their thresholds (the
constants below) set, one at a time by their effect on the
article-extraction benchmark (``bench/extraction.py``); none names a site.
An article with nothing left becomes ``Skipped`` (``no-text``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crawler.items import Article, Paragraph, Skipped
from crawler.sieve_settings import patterns_setting
from pipelines.fingerprints import normalize
from pipelines.stage import DocumentStage, Stats
from pipelines.text import is_list_item, word_count

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

# A sentence mark at the end, possibly inside closing quotes or brackets.
SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
NOT_A_HEADLINE_END = re.compile(r"[.:;,][\"'”’»)\]]*$")
MENU_SEPARATORS = re.compile(r"\s[|»›>·•/–-]\s")
MENU_MAX_WORDS = 12
MENU_MIN_PIECES = 3
MENU_PIECE_MAX_WORDS = 3

POINTER = re.compile(
    r"^\W*(read more|read also|also read|related( posts?| articles?| stories| content| reading)?|see more|see also"
    r"|more|also|also on [\w.]+|don'?t miss|recommended( for you)?|you (may|might) also like|more from [\w .]+"
    r"|further reading|watch|listen)\s*(?P<sep>:|\.\.\.|…|\]|\|)",
    re.IGNORECASE,
)
COUNTER = re.compile(r"^\W*\d*\s*(comments?|replies|shares?)\W*$", re.IGNORECASE)
COPYRIGHT = re.compile(r"(©|\(c\)|\bcopyright\b|all rights reserved)", re.IGNORECASE)
COPYRIGHT_MAX_WORDS = 25
PROMOTION = re.compile(
    r"(sign(ing)? up|subscribe|newsletter|follow (us|@|[\w ]+ on (twitter|facebook|instagram))|click here"
    r"|download (the|our) app|tell us what you think|share (it|this))",
    re.IGNORECASE,
)
PROMOTION_MAX_WORDS = 30
PROMOTION_FROM = 0.7
LINK_MIN_WORDS = 3
TEASER_FROM = 0.5
TEASER_MIN_SHARE = 0.2

PROSE_MIN_WORDS = 5
PROSE_ALWAYS_WORDS = 21
HEADLINE_WORDS = range(3, 21)
LIST_ITEM_MIN_MEAN_WORDS = 3


def is_prose(text: str) -> bool:
    words = word_count(text)
    return words >= PROSE_ALWAYS_WORDS or (words >= PROSE_MIN_WORDS and SENTENCE_END.search(text) is not None)


def is_headline(text: str) -> bool:
    return (
        word_count(text) in HEADLINE_WORDS
        and not NOT_A_HEADLINE_END.search(text)
        and not is_list_item(text)
        and not MENU_SEPARATORS.search(text)
        and any(c.isalpha() for c in text)
    )


def is_menu(text: str) -> bool:
    if word_count(text) > MENU_MAX_WORDS:
        return False
    pieces = MENU_SEPARATORS.split(text.split(":", 1)[-1])
    return len(pieces) >= MENU_MIN_PIECES and all(word_count(p) <= MENU_PIECE_MAX_WORDS for p in pieces)


def is_counter_or_copyright(text: str) -> bool:
    return COUNTER.match(text) is not None or (
        word_count(text) <= COPYRIGHT_MAX_WORDS and COPYRIGHT.search(text) is not None
    )


def link_prefix_share(text: str, link_texts: frozenset[str]) -> float:
    """How much of a paragraph (list marker aside) is taken by the text of a
    link it starts with (of 3+ words)."""
    body = text[2:] if text.startswith("- ") else text
    words = body.split()
    longest = 0
    for n in range(LINK_MIN_WORDS, len(words) + 1):
        prefix = " ".join(words[:n])
        if prefix.casefold() in link_texts:
            longest = len(prefix)
    return longest / len(body) if body else 0.0


def _body_flags(paragraphs: list[Paragraph]) -> list[bool]:
    """Which paragraphs are body: prose, or items of a list of real items."""
    flags = [is_prose(p.text) for p in paragraphs]
    i = 0
    while i < len(paragraphs):
        if not is_list_item(paragraphs[i].text):
            i += 1
            continue
        j = i
        while j < len(paragraphs) and is_list_item(paragraphs[j].text):
            j += 1
        mean_words = sum(word_count(p.text) - 1 for p in paragraphs[i:j]) / (j - i)
        if mean_words >= LIST_ITEM_MIN_MEAN_WORDS:
            flags[i:j] = [True] * (j - i)
        i = j
    return flags


def _repeats_title(text: str, title: str) -> bool:
    """Whether a paragraph is the title again (page titles often carry a
    " | Site name" tail the headline in the body does not)."""
    text, title = normalize(text), normalize(title)
    return bool(text) and (text == title or (title.startswith(text) and word_count(text) >= 3))


class BoilerplateCleaner:
    """The rules above, as a function of an article; holds no state between
    articles."""

    def __init__(self, patterns: Iterable[str] = ()):
        # Checked as a setting already (crawler.sieve_settings.patterns_setting).
        self.patterns = [re.compile(pattern, re.IGNORECASE) for pattern in patterns]

    def clean(self, article: Article, *, plain_text: bool) -> None:
        kept = []
        count = len(article.paragraphs)
        for n, p in enumerate(article.paragraphs):
            reason = self._line_reason(p.text, n / count, article.link_texts, plain_text)
            if reason:
                article.remove(p, reason)
            else:
                kept.append(p)
        if plain_text:
            kept = self._take_title(article, kept)
        elif kept and article.title and _repeats_title(kept[0].text, article.title):
            article.remove(kept.pop(0), "title")
        # Removing a dangling heading can expose a short line at the new end,
        # and trimming can expose a heading: repeat until nothing changes.
        while True:
            before = len(kept)
            if plain_text:
                kept = self._trim_edges(article, kept)
            # Prose ending with a colon (a lead-in to a video, a chart) is
            # the article's, not a heading.
            while kept and kept[-1].text.rstrip().endswith(":") and word_count(kept[-1].text) < PROSE_ALWAYS_WORDS:
                article.remove(kept.pop(), "dangling-heading")
            if len(kept) == before:
                break
        article.paragraphs = kept
        article.removed.sort(key=lambda r: r.position)

    def _line_reason(self, text: str, place: float, link_texts: frozenset[str], plain_text: bool) -> str | None:
        """Why a paragraph, standing at ``place`` (0 first, 1 last) in the
        article, is boilerplate whatever its neighbours; None if it is not."""
        if any(rx.fullmatch(text) for rx in self.patterns):
            return "pattern"
        if is_menu(text) or is_counter_or_copyright(text):
            return "boilerplate"
        if (pointer := POINTER.match(text)) and (text[pointer.end() :].strip() or pointer["sep"] in ("...", "…")):
            # A bare "Related posts:" is left to the dangling-heading rule.
            return "link"
        if plain_text:
            return None
        words = word_count(text)
        if words >= LINK_MIN_WORDS and text.casefold() in link_texts and not SENTENCE_END.search(text):
            return "link"
        if place >= TEASER_FROM and link_prefix_share(text, link_texts) >= TEASER_MIN_SHARE:
            return "link"
        if place >= PROMOTION_FROM and words < PROMOTION_MAX_WORDS and PROMOTION.search(text):
            return "promo"
        return None

    def _take_title(self, article: Article, paragraphs: list[Paragraph]) -> list[Paragraph]:
        best: Paragraph | None = None
        for p in paragraphs:
            if is_list_item(p.text) or (is_prose(p.text) and not is_headline(p.text)):
                break
            if is_headline(p.text) and (best is None or word_count(p.text) > word_count(best.text)):
                best = p
        if best is None:
            return paragraphs
        if article.title is None:
            article.title = best.text
        return [p for p in paragraphs if p is not best]

    def _trim_edges(self, article: Article, paragraphs: list[Paragraph]) -> list[Paragraph]:
        body = _body_flags(paragraphs)
        if not any(body):
            first, last = len(paragraphs), len(paragraphs)
        else:
            first = body.index(True)
            last = len(body) - body[::-1].index(True)
        for p in paragraphs[:first]:
            article.remove(p, "boilerplate")
        for p in paragraphs[last:]:
            reason = "dangling-heading" if p.text.rstrip().endswith(":") else "boilerplate"
            article.remove(p, reason)
        return paragraphs[first:last]


class CleanPipeline(DocumentStage):
    def __init__(self, stats: Stats, cleaner: BoilerplateCleaner):
        self.stats = stats
        self.cleaner = cleaner

    @classmethod
    def build(cls, settings: BaseSettings, stats: Stats) -> Self:
        return cls(stats, BoilerplateCleaner(patterns_setting(settings)))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        before = len(item.removed)
        self.cleaner.clean(item, plain_text=item.kind == "text")
        item.link_texts = frozenset()
        self.stats.inc_value("sieve/clean/paragraphs_removed", len(item.removed) - before)
        if not item.paragraphs:
            return Skipped(item.url, "no-text", "nothing was left after removing boilerplate", item.fetch)
        return item
