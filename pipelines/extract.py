"""Extraction stage: a fetched :class:`~crawler.items.Page` becomes an
:class:`~crawler.items.Article` (paragraphs plus metadata), or a
:class:`~crawler.items.Skipped` saying why it could not.

HTML goes through trafilatura's ``bare_extraction`` with comments left out
and its ``deduplicate`` off: that option counts texts in one process-wide LRU
cache, so results would depend on what was extracted before and in which
process. Repeats are Sieve's own later stage. Plain text is split into
paragraphs here; finding its title and boilerplate is the cleaning stage's.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from crawler.bodies import Unreadable, document_bytes
from crawler.items import Article, KnownMetadata, Page, Paragraph, Skipped
from crawler.web_urls import host_of, is_web_url
from pipelines.declared import Declarations, author_names, declarations, declared_canonical, publication, url_day
from pipelines.decoding import decode
from pipelines.listing_page import OG_TYPE_PROSE_SHARE, link_density, looks_like_menus
from pipelines.stage import DocumentStage, Stats
from pipelines.text import collapse, four_grams, html_lines, split_paragraphs
from pipelines.trafilatura_patches import load_html

if TYPE_CHECKING:
    from lxml.html import HtmlElement
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

# trafilatura, htmldate and the language model are imported where they are
# used: the crawl's own process builds this stage to check its settings and,
# with worker processes, extracts nothing, and would only start later for
# importing them. The workers' fork server imports them (ExtractPipeline.preload).

logger = logging.getLogger(__name__)
# trafilatura warns "discarding data" for every page it finds no text in;
# Sieve records those pages as skipped, with the reason, itself.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

# Language detection on less text than this is mostly noise; more than the
# sample costs time (linear in the text) and adds no certainty.
DETECT_LANGUAGE_MIN_CHARS = 100
DETECT_LANGUAGE_SAMPLE_CHARS = 2000


def web_url(page_url: str, declared: str | None) -> str | None:
    """A URL a page declares (its image), resolved against the page's: an
    http(s) URL or none."""
    try:
        url = urljoin(page_url, declared.strip()) if declared else None
    except ValueError:
        return None
    return url if url and is_web_url(url) else None


def detect_language(identify: Callable[[str], str], text: str, declared: str | None = None) -> str | None:
    if len(text) >= DETECT_LANGUAGE_MIN_CHARS:
        return identify(text[:DETECT_LANGUAGE_SAMPLE_CHARS])
    return declared


def identify_language(text: str) -> str:
    """The language of ``text`` by py3langid's model (:mod:`pipelines.language_model`)."""
    from pipelines import language_model

    return language_model.identifier().classify(text)[0]


TITLE_OPEN = re.compile(r"<title\b[^>]*>", re.IGNORECASE)
TITLE_CLOSE = re.compile(r"</title\s*>", re.IGNORECASE)


def close_unclosed_title(html: str) -> str:
    """``html`` with its ``<title>`` closed where the next tag begins, when
    nothing closes it: a parser reads all that follows an unclosed title as
    its text, and the page's body is lost (damaged copies, broken
    templates)."""
    opened = TITLE_OPEN.search(html)
    if opened is None or TITLE_CLOSE.search(html, opened.end()):
        return html
    end = html.find("<", opened.end())
    end = len(html) if end < 0 else end
    return f"{html[:end]}</title>{html[end:]}"


#: Readability's block is the article's (:func:`prefers_block`) when at
#: least this share of its 4-grams are in trafilatura's text...
BLOCK_INSIDE = 0.7
#: ...which has more besides: less than this share of it is in the block...
BLOCK_COVERS_AT_MOST = 0.95
#: ...but not so much more that the block is only a fragment of the article.
BLOCK_COVERS_AT_LEAST = 0.3
#: The two took different parts of the page (:func:`disagree`) when less
#: than this share of each is in the other.
DISAGREE_BELOW = 0.1


def readability_lines(tree: HtmlElement) -> list[str]:
    """The lines of readability's main block (trafilatura's port of it, run
    on a copy: it cuts the tree it is given)."""
    import lxml.html
    from trafilatura.external import try_readability

    block = try_readability(copy.deepcopy(tree))
    return html_lines(lxml.html.tostring(block, encoding="unicode")) if len(block) else []


def block_overlap(lines: list[str], block: list[str]) -> tuple[float, float]:
    """How far trafilatura's lines and readability's block are the same
    text: the share of the block's 4-grams that are in the lines (inside),
    and the share of the lines' 4-grams that are in the block (covers)."""
    ours, theirs = four_grams("\n".join(lines)), four_grams("\n".join(block))
    shared = sum((ours & theirs).values())
    return shared / max(1, sum(theirs.values())), shared / max(1, sum(ours.values()))


def prefers_block(inside: float, covers: float) -> bool:
    """Whether readability's block should replace trafilatura's fast-mode
    lines: the lines hold nearly all of the block and more besides (a
    related story, a sidebar, a promotion taken in with the article), and
    the block is not a mere fragment of them. Readability scores the page's
    blocks of text and keeps the article's own."""
    return inside >= BLOCK_INSIDE and BLOCK_COVERS_AT_LEAST <= covers < BLOCK_COVERS_AT_MOST


def disagree(inside: float, covers: float) -> bool:
    """Whether trafilatura's fast mode and readability took different parts
    of the page (a related story or a widget against the article): then
    trafilatura's full extraction, which weighs its own text against
    readability's and jusText's, decides."""
    return inside < DISAGREE_BELOW and covers < DISAGREE_BELOW


class Extractor:
    """Page in, Article out; raises :class:`Unreadable` for what cannot be read.

    A page that must be an article (site crawls, sitemaps) is one where all of
    these hold; anything else is an index or listing page (``not-an-article``):

    - trafilatura extracts at least ``min_article_chars`` characters from it;
    - at most ``max_link_density`` of those characters are in lines that are
      the text of a link on the page;
    - if its ``og:type`` names something else than an article (``website``,
      ``video.other``: templates set these on reviews and video pages too),
      it shows an article otherwise: it declares when it was published, or
      at most ``OG_TYPE_PROSE_SHARE`` of ``max_link_density`` of its text
      is link text. With ``check_og_type`` off, og:type is not read.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        favor_precision: bool,
        min_article_chars: int,
        max_link_density: float,
        check_og_type: bool = True,
        identify_language: Callable[[str], str] = identify_language,
    ):
        self.identify_language = identify_language
        self.max_bytes = max_bytes
        self.favor_precision = favor_precision
        self.min_article_chars = min_article_chars
        self.max_link_density = max_link_density
        self.check_og_type = check_og_type

    def extract(self, page: Page, stats: Stats) -> Article:
        body = document_bytes(page.body, self.max_bytes)
        text = decode(body, html=page.kind == "html", content_type=page.content_type)
        if page.kind == "html":
            return self._from_html(page, text, stats)
        paragraphs = split_paragraphs(text)
        article = Article(
            url=page.url,
            kind="text",
            source=page.source,
            paragraphs=[Paragraph(i, p) for i, p in enumerate(paragraphs)],
        )
        article.language = detect_language(self.identify_language, article.text)
        return article

    def _trafilatura(self, tree: HtmlElement, url: str, *, fast: bool, favor_precision: bool = False) -> tuple[Any, list[str]]:
        import trafilatura
        from trafilatura.settings import set_date_params

        from pipelines import trafilatura_patches

        # bare_extraction works on a copy of the tree it is given.
        with trafilatura_patches.extraction():
            document = trafilatura.bare_extraction(
                tree,
                url=url,
                fast=fast,
                with_metadata=True,
                include_comments=False,
                include_tables=True,
                deduplicate=False,
                favor_precision=favor_precision or self.favor_precision,
                # htmldate's quick search (what the page declares, its URL):
                # the whole-text search runs below only if that finds nothing.
                date_extraction_params=set_date_params(extensive=False),
            )
        lines = [collapse(line) for line in (document.text or "").split("\n")] if document else []
        return document, [line for line in lines if line]

    def _from_html(self, page: Page, html: str, stats: Stats) -> Article:
        import htmldate

        tree = load_html(close_unclosed_title(html))
        if tree is None:
            raise Unreadable("no-text", "the HTML could not be parsed")
        declared_language = (tree.xpath("string(/html/@lang)") or "").strip()[:2].lower() or None
        link_texts = frozenset(collapse(a.text_content()).casefold() for a in tree.iter("a"))
        # Fast mode skips trafilatura's second opinions (readability, jusText):
        # on the article-extraction benchmark it is both faster and closer to
        # the truth than the default. When it finds nothing, or takes in a
        # whole page of menus, the full mode gets a second chance; otherwise
        # readability's block is asked only whether the text took in more
        # than the article (prefers_block) or another part of the page
        # (disagree): the full mode's arbitration is too slow for every page.
        document, lines = self._trafilatura(tree, page.url, fast=True)
        if not lines or looks_like_menus(lines):
            fuller, fuller_lines = self._trafilatura(tree, page.url, fast=False)
            if fuller_lines:
                document, lines = fuller, fuller_lines
                stats.inc_value("sieve/extract/full_mode")
        elif block := readability_lines(tree):
            inside, covers = block_overlap(lines, block)
            if prefers_block(inside, covers):
                lines = block
                stats.inc_value("sieve/extract/readability_block")
            elif disagree(inside, covers):
                lines = self._trafilatura(tree, page.url, fast=False, favor_precision=True)[1] or lines
                stats.inc_value("sieve/extract/disagreement")
        declared = declarations(tree)
        if page.require_article:
            self._check_article(tree, lines, link_texts, declared)
        if not lines:
            raise Unreadable("no-text", "trafilatura found no article text in the page")
        canonical = declared_canonical(tree, page.url)
        if canonical == page.url:
            canonical = None
        # What the page declares first, then trafilatura's day (htmldate's
        # quick search); htmldate's whole-text search, for the original date
        # and then any, only for a page where those found nothing.
        published = publication(declared.published, document.date, url_day(page.url, canonical))
        for original_date in (True, False):
            if published is None:
                found = htmldate.find_date(
                    tree, url=document.url or page.url, original_date=original_date, extensive_search=True, outputformat="%Y-%m-%d"
                )
                published = publication([], found)
        authors = author_names(document.author)
        article = Article(
            url=page.url,
            kind="html",
            # A web page is its host's, whatever it declares; a local file
            # (a saved page) is the site its canonical URL names, if any.
            source=page.source if is_web_url(page.url) or not canonical else host_of(canonical),
            paragraphs=[Paragraph(i, line) for i, line in enumerate(lines)],
            canonical_url=canonical,
            title=document.title or None,
            author="; ".join(authors) or None,
            authors=authors,
            published=published.sortable if published else None,
            published_local=published.local if published else None,
            sitename=document.sitename or None,
            description=document.description or None,
            image=web_url(page.url, document.image),
            section=declared.section,
            tags=declared.tags,
            link_texts=link_texts,
        )
        article.language = detect_language(self.identify_language, article.text, declared_language)
        return article

    def _check_article(
        self, tree: HtmlElement, lines: list[str], anchor_texts: frozenset[str], declared: Declarations
    ) -> None:
        chars = sum(len(line) for line in lines)
        if chars < self.min_article_chars:
            raise Unreadable("not-an-article", f"only {chars} characters of text (fewer than {self.min_article_chars})")
        density = link_density(lines, anchor_texts)
        if density > self.max_link_density:
            raise Unreadable("not-an-article", f"{density:.0%} of its text is link text")
        if not self.check_og_type:
            return
        og_type = (tree.xpath("string(//meta[@property='og:type']/@content)") or "").strip().lower()
        if og_type and "article" not in og_type and density > self.max_link_density * OG_TYPE_PROSE_SHARE:
            if not declared.published:
                raise Unreadable(
                    "not-an-article",
                    f"its og:type is {og_type!r}, it declares no publication time, and {density:.0%} of its text is link text",
                )


def take_known(article: Article, known: KnownMetadata) -> None:
    """What the spider knows (:class:`~crawler.items.KnownMetadata`) over
    what extraction found; a date outside the plausible range is not taken."""
    if known.title:
        article.title = known.title
    if known.authors:
        article.authors = known.authors
        article.author = "; ".join(known.authors)
    if known.published and (published := publication([known.published], None)):
        article.published, article.published_local = published.sortable, published.local


class ExtractPipeline(DocumentStage):
    # The language model first: the kernel reads its files in meanwhile.
    preload = ("pipelines.language_model", "trafilatura", "htmldate", "pipelines.author_fallback")

    def __init__(self, stats: Stats, extractor: Extractor):
        self.stats = stats
        self.extractor = extractor

    @classmethod
    def build(cls, settings: BaseSettings, stats: Stats) -> Self:
        extractor = Extractor(
            max_bytes=settings.getint("SIEVE_MAX_BYTES"),
            favor_precision=settings.getbool("SIEVE_FAVOR_PRECISION"),
            min_article_chars=settings.getint("SIEVE_MIN_ARTICLE_CHARS"),
            max_link_density=settings.getfloat("SIEVE_MAX_LINK_DENSITY"),
            check_og_type=settings.getbool("SIEVE_CHECK_OG_TYPE"),
        )
        return cls(stats, extractor)

    def start(self) -> None:
        from pipelines import language_model, trafilatura_patches

        trafilatura_patches.install()
        language_model.identifier()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        try:
            article = self.extractor.extract(item, self.stats)
        except Unreadable as exc:
            return Skipped(item.url, exc.reason, exc.detail, item.fetch)
        except Exception as exc:
            # A parser bug on one odd page must not end the crawl.
            logger.warning("Extraction failed on %s", item.url, exc_info=True)
            return Skipped(item.url, "extraction-error", f"{type(exc).__name__}: {exc}")
        if item.known is not None:
            take_known(article, item.known)
        article.fetch = item.fetch
        article.fetched_url = item.url
        article.requested_urls = item.requested_urls
        article.archive_record = item.archive_record
        self.stats.inc_value(f"sieve/extract/{item.kind}")
        return article
