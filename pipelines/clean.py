"""Cleaning stage: boilerplate paragraphs out, by rules about their shape and
place rather than by a list of known sentences.

Rules, in order:

1. **Patterns.** A paragraph that matches one of ``SIEVE_BOILERPLATE_PATTERNS``
   in full (case-insensitive) is removed wherever it stands (``pattern``).
2. **Menus, counters, copyright.** A short line made of three or more short
   pieces joined by ``|``, ``-``, ``·``, ``•``, ``»`` or ``/`` ("Home | News |
   Sport", "Share: Facebook - X - Email"), a counter ("12 comments") and a
   short copyright line are removed wherever they stand (``boilerplate``).
3. **Pointers to other pages.** A paragraph introduced by a label that
   points elsewhere ("Read more:", "Related:", "See also:", "You may also
   like...") is removed (``link``). In HTML, so is a paragraph that is, whole,
   the text of a link on the page (3+ words, no sentence mark: a related
   headline), and, in the second half of the article, one that starts with
   the text of a link (a headline and its teaser).
4. **Promotion** (HTML). In the last 30% of the article, a paragraph of
   under 30 words that asks the reader to sign up, subscribe, follow, click,
   download or share is removed (``promo``).
5. **Title.** In plain text the headline is the longest headline-shaped line
   (3 to 20 words, not ending in ``. : ; ,``, not a list item) before the first
   paragraph of running prose; it moves to the title and out of the text. In
   HTML the title comes from the page, and a first paragraph that repeats it
   is dropped (``title``).
6. **Edges** (plain text). Prose paragraphs (5+ words ending with a sentence
   mark, or more than 20 words) and lists of real items (3+ words per item
   on average) are the body. Short lines before the body ("Breaking News",
   "Advertisement", a byline) and after it ("No comments", "Share this:",
   "Read more") are boilerplate (``boilerplate``). Short lines between body
   paragraphs are kept: they are subheadings. Not in HTML: there, the
   lines trafilatura keeps at the edges are mostly credits, captions and
   datelines that belong to the article.
7. **Dangling headings.** A paragraph ending with a colon that is left with
   nothing after it ("Things that are NOT allowed:", "Related posts:") was
   the heading of something that is not there (``dangling-heading``).

Rules 2 to 4 and the HTML side of 5 were chosen, and their thresholds set,
by their effect on the article-extraction benchmark (``bench/extraction.py``),
one rule at a time; each holds for any page, none names a site.

An article with nothing left is skipped (``no-text``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crawler.errors import SettingError
from crawler.items import Article, Paragraph, Skipped
from pipelines.fingerprints import normalize
from pipelines.stage import DocumentStage, Stats

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

LIST_ITEM = re.compile(r"^(?:[-*•·‣▪◦–—]|\d{1,3}[.)])\s+\S")
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


def word_count(text: str) -> int:
    return len(text.split())


def is_list_item(text: str) -> bool:
    return LIST_ITEM.match(text) is not None


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
        self.patterns = []
        for pattern in patterns:
            try:
                self.patterns.append(re.compile(pattern, re.IGNORECASE))
            except re.error as exc:
                raise SettingError(f"SIEVE_BOILERPLATE_PATTERNS: {pattern!r} is not a regular expression ({exc})") from None

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
            while kept and kept[-1].text.rstrip().endswith(":"):
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
        return cls(stats, BoilerplateCleaner(settings.getlist("SIEVE_BOILERPLATE_PATTERNS")))

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
