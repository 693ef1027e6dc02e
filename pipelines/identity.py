"""Identity stage: which stored row an article is, before dedup and storage
look it up.

An article is stored under the URL it was fetched from (after redirects,
without tracking parameters), with two exceptions:

- a page that declares a canonical URL, fetched from a URL whose download
  gave an article last time (``article_urls``), is that article again:
  rows do not move between runs;
- a page that declares a canonical URL (``<link rel="canonical">``, else
  ``og:url``) is stored under it when the canonical URL is on the page's
  own site, is not the site's home page, and holds no row yet or a row with
  the same story: the same text, or a near-duplicate by Sieve's own rule
  (:class:`~pipelines.cross_dedup.NearDuplicateRule`). So an AMP edition, a
  print view or a URL with extra parameters updates one row.

A canonical URL whose row holds another story is misdeclared: a section
page that a template names on every article, pagination that names page
one, a page claiming another's URL. The article is then stored under the
URL it was fetched from and keeps the declaration in ``canonical_url``; the
conflict is counted (``sieve/identity/canonical_conflicts``) and logged.

A URL's own page comes first: when the page at a URL arrives after another
page took that URL as its canonical one, and the two are not one story,
the other's row moves to the URL it was fetched from (with the next
``change_seq``; counted as ``sieve/identity/rows_moved``) and this page
gets its URL. Nothing is overwritten by what a page says about itself,
whichever page comes first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import NotConfigured

from crawler.items import Article
from crawler.storage import reads, writes
from crawler.storage.corpus import CorpusIndex
from crawler.storage.database import Database
from crawler.web_urls import key_url, same_site
from pipelines.cross_dedup import NearDuplicateRule
from pipelines.fingerprints import MinhashConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


def may_stand_for(canonical: str, url: str) -> bool:
    """Whether a declared canonical URL may be the key of the page at
    ``url``: on the same site, and not the site's home page (which some
    templates declare for every page)."""
    return same_site(canonical, url) and urlsplit(canonical).path not in ("", "/")


class ArticleIdentityPipeline:
    def __init__(self, database: Database, rule: NearDuplicateRule, tracking_parameters: list[str], stats: Any):
        self.database = database
        self.rule = rule
        self.tracking_parameters = tracking_parameters
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        database = crawler.get_extension(Database)
        if database is None:
            raise NotConfigured("no database (SIEVE_DB is empty)")
        settings = crawler.settings
        rule = NearDuplicateRule.from_settings(settings, MinhashConfig.from_settings(settings))
        return cls(database, rule, settings.getlist("SIEVE_TRACKING_PARAMETERS"), crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article) or item.fetched_url is None:
            return item
        if not item.canonical_url or item.canonical_url == item.fetched_url:
            self._take_back_own_url(item)
            return item
        canonical = item.canonical_url = key_url(item.canonical_url, self.tracking_parameters)
        fetched = item.fetched_url or item.url
        if (known := reads.article_url_led_to_by(self.database.open(), fetched)) is not None:
            item.url = known
        elif canonical != item.url and may_stand_for(canonical, fetched):
            if self._same_story_or_free(item, canonical):
                item.url = canonical
            else:
                self.stats.inc_value("sieve/identity/canonical_conflicts")
                logger.info(
                    "%s declares the canonical URL %s, stored with another story: stored under its own URL",
                    fetched, canonical,
                )  # fmt: skip
        return item

    def _same_story_or_free(self, item: Article, canonical: str) -> bool:
        stored = reads.stored_article(self.database.open(), canonical)
        return stored is None or stored.content_hash == item.text_hash() or self._same_story(item, stored.id)

    def _same_story(self, item: Article, article_id: int) -> bool:
        ours = self.rule.shingles(p.text for p in item.paragraphs)
        text = CorpusIndex(self.database.open(), self.rule.config).text_of(article_id)
        return self.rule.link(ours, text, article_id)[0] is not None

    def _take_back_own_url(self, item: Article) -> None:
        stored = reads.stored_article(self.database.open(), item.url)
        if stored is None or stored.content_hash == item.text_hash():
            return
        borrower = reads.borrower_of(self.database.open(), stored.id, item.url)
        if borrower is None or reads.stored_article(self.database.open(), borrower) is not None or self._same_story(item, stored.id):
            return
        db = self.database.begin()
        writes.move_article(db, stored.id, borrower)
        self.database.count("sieve/identity/rows_moved")
        logger.info("%s took back its URL from the page fetched at %s, which declared it canonical: moved there", item.url, borrower)
