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

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import py3langid
import trafilatura

from crawler.items import Article, Page, Paragraph, Skipped
from pipelines.clean import is_list_item
from pipelines.decoding import GZIP_MAGIC, Unreadable, decode, gunzip

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")
HTML_LANG = re.compile(r"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3})\b""", re.IGNORECASE)
# Language detection on less text than this is mostly noise.
DETECT_LANGUAGE_MIN_CHARS = 100


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def collapse(text: str) -> str:
    return " ".join(text.split())


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a plain-text document.

    Blank lines separate paragraphs; the lines inside a block are joined,
    except list items, which stay paragraphs of their own. A document with no
    blank lines at all has one paragraph per line.
    """
    if not BLANK_LINE.search(text.strip()):
        return [collapse(line) for line in text.split("\n") if line.strip()]
    paragraphs: list[str] = []
    for block in BLANK_LINE.split(text):
        current: list[str] = []
        for line in block.split("\n"):
            if not line.strip():
                continue
            if is_list_item(line.strip()) and current:
                paragraphs.append(collapse(" ".join(current)))
                current = []
            current.append(line)
        if current:
            paragraphs.append(collapse(" ".join(current)))
    return paragraphs


def detect_language(text: str, declared: str | None = None) -> str | None:
    if len(text) >= DETECT_LANGUAGE_MIN_CHARS:
        language, _ = py3langid.classify(text)
        return language
    return declared


class Extractor:
    """Page in, Article out; raises :class:`Unreadable` for what cannot be read."""

    def __init__(self, max_bytes: int, favor_precision: bool = False):
        self.max_bytes = max_bytes
        self.favor_precision = favor_precision

    def extract(self, page: Page) -> Article:
        body = page.body
        if body.startswith(GZIP_MAGIC):
            body = gunzip(body, self.max_bytes)
        elif len(body) > self.max_bytes:
            raise Unreadable("too-large", f"{len(body)} bytes is more than SIEVE_MAX_BYTES ({self.max_bytes})")
        text = decode(body, html=page.kind == "html", content_type=page.content_type)
        if page.kind == "html":
            return self._from_html(page, text)
        paragraphs = split_paragraphs(text)
        article = Article(
            url=page.url,
            kind="text",
            source=page.source,
            paragraphs=[Paragraph(i, p) for i, p in enumerate(paragraphs)],
        )
        article.language = detect_language(article.text)
        return article

    def _from_html(self, page: Page, html: str) -> Article:
        document = trafilatura.bare_extraction(
            html,
            url=page.url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,
            favor_precision=self.favor_precision,
        )
        lines = [collapse(line) for line in (document.text or "").split("\n")] if document else []
        lines = [line for line in lines if line]
        if not lines:
            raise Unreadable("no-text", "trafilatura found no article text in the page")
        # trafilatura falls back to the URL it was given when the page declares none.
        canonical = document.url if document.url and document.url != page.url else None
        article = Article(
            url=page.url,
            kind="html",
            source=host_of(canonical) if canonical else page.source,
            paragraphs=[Paragraph(i, line) for i, line in enumerate(lines)],
            canonical_url=canonical,
            title=document.title or None,
            author=document.author or None,
            published=document.date or None,
            sitename=document.sitename or None,
        )
        declared = HTML_LANG.search(html[:20000])
        article.language = detect_language(article.text, declared.group(1).lower() if declared else None)
        return article


class ExtractPipeline:
    def __init__(self, stats: StatsCollector, extractor: Extractor):
        self.stats = stats
        self.extractor = extractor

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        extractor = Extractor(
            max_bytes=settings.getint("SIEVE_MAX_BYTES"),
            favor_precision=settings.getbool("SIEVE_FAVOR_PRECISION"),
        )
        return cls(crawler.stats, extractor)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        try:
            article = self.extractor.extract(item)
        except Unreadable as exc:
            return Skipped(item.url, exc.reason, exc.detail)
        except Exception as exc:
            # A parser bug on one odd page must not end the crawl.
            logger.warning("Extraction failed on %s", item.url, exc_info=True)
            return Skipped(item.url, "extraction-error", f"{type(exc).__name__}: {exc}")
        self.stats.inc_value(f"sieve/extract/{item.kind}")
        return article
