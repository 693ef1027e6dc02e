"""What spiders hand to the pipelines, and what the pipelines pass along.

A spider yields a :class:`Page` (raw bytes, as fetched) or a :class:`Skipped`
(why a document could not be used). Extraction turns a Page into an
:class:`Article`, or into a Skipped; the later stages pass Skipped items
through untouched so that the store stage records every document one way or
the other. What leaves the pipeline (to Scrapy's feed exports, ``-o``) is an
:class:`ArticleRecord` per stored article, the record ``scrapy export``
writes too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: The values of each MinHash signature an article carries: the dedup
#: scheme's permutations (pipelines.fingerprints.MinhashConfig.num_perm).
SIGNATURE_VALUES = 128


def content_hash(text: str) -> str:
    """The hash stored with an article's text (``articles.content_hash``)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Fetch:
    """What identifies the version of a document that was fetched, for
    conditional requests next time."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    #: When it was downloaded, if not just now (an archive's WARC-Date).
    fetched_at: str | None = None


@dataclass
class ArchiveRecord:
    """Where in a web archive a page was read: the WARC file, the offset of
    its record in that file, and the record's ``WARC-Record-ID``."""

    file: str
    offset: int
    record_id: str | None


@dataclass
class KnownMetadata:
    """What a spider knows about a page better than the page says
    (:mod:`crawler.spider_items`): it replaces what extraction finds."""

    title: str | None = None
    #: ISO 8601, as the spider gave it.
    published: str | None = None
    authors: list[str] = field(default_factory=list)


@dataclass(repr=False)
class Page:
    url: str
    body: bytes
    #: "html" or "text": how the body is to be read.
    kind: str
    #: The HTTP Content-Type header, when there was one (it may name a charset).
    content_type: str | None = None
    #: Where the page came from when it declares no canonical URL: the host for
    #: web pages, the parent folder for local files.
    source: str = ""
    #: Set by spiders that also meet index and listing pages (site crawls,
    #: sitemaps): the page is stored only if it reads as an article.
    require_article: bool = False
    fetch: Fetch | None = None
    #: Other URLs that led to this page: those that redirected to it, and the
    #: URL as a list or link named it, when tracking parameters were left out.
    requested_urls: list[str] = field(default_factory=list)
    archive_record: ArchiveRecord | None = None
    known: KnownMetadata | None = None

    def __repr__(self) -> str:
        # Scrapy logs an item that fails with its repr: not the whole body.
        return f"Page(url={self.url!r}, kind={self.kind!r}, body=<{len(self.body)} bytes>)"


@dataclass
class Unchanged:
    """A document known not to have changed since it was last stored: only
    the time it was last seen moves."""

    url: str
    #: ``not-modified`` (HTTP 304), ``same-body``, ``same-file`` (size and
    #: modification time), ``listed-unchanged`` (sitemap or feed date),
    #: ``same-text`` (the page changed, its article did not).
    reason: str
    #: The new validators, when the document was downloaded again.
    fetch: Fetch | None = None
    #: The URL downloaded, when the article is stored under another one...
    fetched_url: str | None = None
    #: ...and those that led to it (see :attr:`Page.requested_urls`).
    requested_urls: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    url: str
    #: A short, stable code (``too-large``, ``binary``, ``http-404``...), used
    #: in stats names and in the ``skipped`` table.
    reason: str
    #: A sentence for humans: what exactly was wrong.
    detail: str = ""
    fetch: Fetch | None = None


@dataclass
class Paragraph:
    #: Index of the paragraph in the document as extracted, before anything
    #: was removed; removals refer to the same numbering.
    position: int
    text: str


@dataclass
class Removal:
    position: int
    text: str
    #: ``boilerplate``, ``dangling-heading``, ``pattern``, ``repeat``...
    reason: str
    #: For repeats and site boilerplate: the position of the paragraph this
    #: one matched (in ``match_article`` for site boilerplate).
    match_position: int | None = None
    #: For site boilerplate: the id of another article holding the paragraph.
    match_article: int | None = None


@dataclass
class Holder:
    """A stored article's paragraph, as found in the dedup index."""

    article_id: int
    position: int
    text: str


@dataclass
class NewBoilerplate:
    """A paragraph that has just reached the site-boilerplate count: to be
    recorded, and removed from the stored articles that hold it."""

    text: str
    keys: list[int]
    holders: list[Holder]
    #: Where it stands in the new article...
    position: int
    #: ...and in the earliest stored non-duplicate article holding it.
    first_article: int
    first_position: int


@dataclass
class DuplicateLink:
    """How an article nearly duplicates another (``articles.duplicate_rule``
    and ``duplicate_similarity``)."""

    article_id: int
    #: ``resemblance`` (Jaccard similarity) or ``containment`` (the share of
    #: the shorter text's shingles found in the other).
    rule: str
    similarity: float


@dataclass
class Fingerprints:
    """What the repeat stage gives cross-document dedup: the MinHash
    signature of each kept paragraph that has shingles, of the whole
    article, and the LSH keys of each kept paragraph, by position; the
    article's own LSH keys, where the worker computed them with its
    signature (None: not computed yet)."""

    signatures: dict[int, Any]
    signature: Any
    paragraph_keys: dict[int, list[int]]
    article_keys: list[int] | None = None


@dataclass
class DedupVerdict:
    """What cross-document dedup gives the store stage."""

    #: The stored article this one nearly duplicates, and how...
    original: DuplicateLink | None = None
    #: ...or the stored group representatives that are shorter copies of
    #: this one: the store stage points them at it...
    replaces: list[DuplicateLink] = field(default_factory=list)
    #: ...and the paragraphs it has shown to be site boilerplate.
    new_boilerplate: list[NewBoilerplate] = field(default_factory=list)


@dataclass(repr=False)
class Article:
    url: str
    kind: str
    source: str
    paragraphs: list[Paragraph]
    removed: list[Removal] = field(default_factory=list)
    canonical_url: str | None = None
    title: str | None = None
    #: ``authors`` joined by "; ".
    author: str | None = None
    #: UTC, ``YYYY-MM-DDTHH:MM:SSZ``, or the day alone (see
    #: :class:`pipelines.declared.Published`)...
    published: str | None = None
    #: ...and as the page gives it, with its own UTC offset.
    published_local: str | None = None
    language: str | None = None
    sitename: str | None = None
    authors: list[str] = field(default_factory=list)
    description: str | None = None
    #: The URL of the page's main image, as it declares it.
    image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    #: The texts of the page's links (lower case), for the cleaning stage,
    #: which empties it once done.
    link_texts: frozenset[str] = frozenset()
    #: The repeat stage's result, for cross-document dedup (None: it did not run).
    fingerprints: Fingerprints | None = None
    #: Cross-document dedup's result, for the store stage.
    dedup: DedupVerdict = field(default_factory=DedupVerdict)
    fetch: Fetch | None = None
    #: The URL downloaded (or the file read): ``url`` too, unless the identity
    #: stage stores the article under the canonical URL the page declares.
    fetched_url: str | None = None
    #: From the page: the other URLs that led to it, and where it was archived.
    requested_urls: list[str] = field(default_factory=list)
    archive_record: ArchiveRecord | None = None
    _hashed: tuple[str, str] | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        # As Page's: a failing article is logged by its URL, not its text.
        return (
            f"Article(url={self.url!r}, kind={self.kind!r}, paragraphs=<{len(self.paragraphs)}>, "
            f"removed=<{len(self.removed)}>)"
        )

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)

    def text_hash(self) -> str:
        """``content_hash`` of the text, computed once for each text it has."""
        text = self.text
        if self._hashed is None or self._hashed[0] != text:
            self._hashed = (text, content_hash(text))
        return self._hashed[1]

    def remove(
        self, paragraph: Paragraph, reason: str, match_position: int | None = None, match_article: int | None = None
    ) -> None:
        self.removed.append(Removal(paragraph.position, paragraph.text, reason, match_position, match_article))


@dataclass
class ArticleRecord:
    """A stored article as readers get it (``scrapy export``, ``-o``)."""

    id: int
    url: str
    canonical_url: str | None
    source: str
    sitename: str | None
    title: str | None
    author: str | None
    authors: list[str]
    published: str | None
    published_local: str | None
    language: str | None
    description: str | None
    image: str | None
    section: str | None
    tags: list[str]
    text: str
    paragraphs: list[str]
    duplicate_of: int | None
    #: ``resemblance`` or ``containment``, when ``duplicate_of`` is set...
    duplicate_rule: str | None
    #: ...and the value of that measure that linked it.
    duplicate_similarity: float | None
    run_id: int | None
    first_seen: str
    changed_at: str
    #: Grows with every change a reader can see (see ``scrapy export --after``).
    change_seq: int
    #: Every URL that led to the article (``article_urls``), in order.
    urls: list[str]
