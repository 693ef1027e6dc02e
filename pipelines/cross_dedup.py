"""Cross-document dedup stage: each article against everything stored, in
this run and earlier ones.

1. **Known site boilerplate.** A paragraph near-identical to one already
   found to be boilerplate of the article's source is removed
   (``site-boilerplate``, naming the article it was first found in).
2. **Near-duplicate articles.** LSH on MinHash signatures of the articles'
   shingles (the union of their kept paragraphs') finds stored candidates;
   those whose signatures estimate a Jaccard similarity below
   ``CANDIDATE_FLOOR`` are dropped unread, and the exact shingles of the two
   texts decide for the rest, by one of two rules:

   - *resemblance*: a Jaccard similarity of at least
     ``SIEVE_NEAR_DUP_THRESHOLD``;
   - *containment*: at least ``SIEVE_NEAR_DUP_CONTAINMENT`` of the shorter
     text's shingles are in the other, and the shorter text has at least
     ``SIEVE_NEAR_DUP_MIN_WORDS`` words (a quote or a paragraph two stories
     share is a small part of either; a brief, or a page of site
     boilerplate, is too short).

   The shorter text is the copy. This article gets ``duplicate_of`` set to
   a stored one it matches and is not ``LONGER`` than (the most similar,
   resemblance first), with the rule and value (``duplicate_rule``,
   ``duplicate_similarity``). Otherwise the stored group representatives
   (``duplicate_of IS NULL``) it matches and is longer than are its copies:
   the store stage points them at it (``replaces``); their members keep
   pointing at them, so a chain leads to this article. ``duplicate_of IS
   NULL`` still selects one article of each group.
3. **New site boilerplate.** A paragraph of a non-duplicate article that is
   near-identical (``SIEVE_SITE_BOILERPLATE_SIMILARITY``) to paragraphs of at
   least ``SIEVE_SITE_BOILERPLATE_MIN`` - 1 other non-duplicate articles of
   the same source is site boilerplate: it is removed from this article, and
   the store stage removes it from the stored articles holding it, so the
   result does not depend on the order pages arrive. Duplicates never count
   towards the minimum: a page published twice would otherwise turn its
   own paragraphs into boilerplate.

An article whose text is the one stored is ``same-text`` (asked of
:class:`crawler.incremental.Incremental`) and goes no further. This stage
only reads the database; the store stage writes, inside the same transaction
(see :class:`crawler.storage.database.Database`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from crawler.incremental import Incremental
from crawler.items import Article, DedupVerdict, DuplicateLink, Fingerprints, Holder, NewBoilerplate, Paragraph, Skipped
from crawler.storage import reads
from crawler.storage.corpus import CorpusIndex, open_index
from crawler.storage.database import Database
from pipelines import fingerprints
from pipelines.fingerprints import MinhashConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Candidates whose signatures estimate a lower Jaccard similarity are not
#: read. The copies LSH finds (Jaccard 0.5 and up, see MinhashConfig) are over
#: four standard errors of the estimate (0.045 at most) above it; unrelated
#: articles (median 0.08) nearly all below. With the containment rule off,
#: the resemblance threshold less 0.15 (three standard errors).
CANDIDATE_FLOOR = 0.3
RESEMBLANCE_MARGIN = 0.15
#: A new article with this many times the shingles of a stored one it
#: matches is the fuller text: it takes the stored one's place as its
#: group's representative. Closer in length, the one stored first stays (a
#: copy with a few added or edited lines does not take over its original).
LONGER = 1.15


@dataclass
class NearDuplicateRule:
    """Whether two texts are one story: the resemblance and containment
    rules above, on their exact shingles."""

    config: MinhashConfig
    threshold: float
    #: 0: the containment rule is off.
    containment: float
    min_words: int

    @classmethod
    def from_settings(cls, settings: BaseSettings, config: MinhashConfig) -> NearDuplicateRule:
        return cls(
            config,
            threshold=settings.getfloat("SIEVE_NEAR_DUP_THRESHOLD"),
            containment=settings.getfloat("SIEVE_NEAR_DUP_CONTAINMENT"),
            min_words=settings.getint("SIEVE_NEAR_DUP_MIN_WORDS"),
        )

    def shingles(self, paragraphs: Iterable[str]) -> tuple[set[bytes], int]:
        """What :meth:`link` compares of one side: its shingles and words."""
        paragraphs = list(paragraphs)
        return self.config.text_shingles(paragraphs), sum(fingerprints.normalized_word_count(p) for p in paragraphs)

    def link(self, ours: tuple[set[bytes], int], text: str, article_id: int) -> tuple[DuplicateLink | None, int]:
        """How the text with ``ours`` (from :meth:`shingles`) nearly
        duplicates stored ``text`` (article ``article_id``), if it does;
        and how many shingles ``text`` has."""
        our_shingles, our_words = ours
        theirs = self.config.text_shingles(text.split("\n\n"))
        shared = len(our_shingles & theirs)
        union = len(our_shingles | theirs)
        resemblance = shared / union if union else 1.0
        if resemblance >= self.threshold:
            return DuplicateLink(article_id, "resemblance", resemblance), len(theirs)
        if self.containment and theirs and min(our_words, fingerprints.normalized_word_count(text)) >= self.min_words:
            link = DuplicateLink(article_id, "containment", shared / min(len(our_shingles), len(theirs)))
            if link.similarity >= self.containment:
                return link, len(theirs)
        return None, len(theirs)


class CrossDedupPipeline:
    def __init__(
        self,
        database: Database,
        incremental: Incremental,
        rule: NearDuplicateRule,
        boilerplate_min: int,
        boilerplate_similarity: float,
    ):
        self.database = database
        self.incremental = incremental
        self.rule = rule
        self.config = rule.config
        self.candidate_floor = CANDIDATE_FLOOR if rule.containment else rule.threshold - RESEMBLANCE_MARGIN
        self.boilerplate_min = boilerplate_min
        self.boilerplate_similarity = boilerplate_similarity

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("SIEVE_CROSS_DEDUP_ENABLED"):
            raise NotConfigured("SIEVE_CROSS_DEDUP_ENABLED is off")
        database = crawler.get_extension(Database)
        if database is None:
            raise NotConfigured("no database (SIEVE_DB is empty)")
        config = MinhashConfig.from_settings(settings)
        open_index(database, config)
        return cls(
            database,
            Incremental.of(crawler),
            NearDuplicateRule.from_settings(settings, config),
            boilerplate_min=settings.getint("SIEVE_SITE_BOILERPLATE_MIN"),
            boilerplate_similarity=settings.getfloat("SIEVE_SITE_BOILERPLATE_SIMILARITY"),
        )

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        stored = reads.stored_article(self.database.open(), item.url)
        if unchanged := self.incremental.unchanged_text(item, stored):
            return unchanged
        index = CorpusIndex(self.database.begin(), self.config)
        own_id = stored.id if stored else None
        if item.fingerprints is None:  # the repeat stage did not run
            item.fingerprints = Fingerprints({}, None, {})
        if not item.fingerprints.paragraph_keys:
            keys = {p.position: self.config.paragraph_keys(p.text, item.source) for p in item.paragraphs}
            item.fingerprints.paragraph_keys = keys
        if self._remove_known_boilerplate(item, index) or item.fingerprints.signature is None:
            self._update_signature(item)
        elif item.fingerprints.article_keys is None:  # a stream entry carries none
            item.fingerprints.article_keys = self.config.article_keys(item.fingerprints.signature)
        if not item.paragraphs:
            return Skipped(item.url, "no-text", "nothing was left after removing site boilerplate", item.fetch)
        verdict = item.dedup = DedupVerdict()
        verdict.original, verdict.replaces = self._find_original(item, index, own_id)
        if (original := verdict.original) is not None:
            self.database.count("sieve/dedup/near_duplicates")
            self.database.count(
                "sieve/dedup/linked_by_resemblance" if original.rule == "resemblance" else "sieve/dedup/linked_by_containment"
            )
        elif self._find_new_boilerplate(item, index, own_id, {link.article_id for link in verdict.replaces}):
            if not item.paragraphs:
                return Skipped(item.url, "no-text", "nothing was left after removing site boilerplate", item.fetch)
            self._update_signature(item)
        return item

    def _update_signature(self, item: Article) -> None:
        found = item.fingerprints
        found.signature = self.config.article_signature(
            [p.text for p in item.paragraphs], [found.signatures.get(p.position) for p in item.paragraphs]
        )
        found.article_keys = self.config.article_keys(found.signature)

    def similar(self, a: str, b: str) -> bool:
        """Whether two paragraphs are near-identical (short ones: identical
        once normalised)."""
        na, nb = fingerprints.normalize(a), fingerprints.normalize(b)
        if self.config.is_short(na) or self.config.is_short(nb):
            return na == nb
        similarity = fingerprints.jaccard(self.config.paragraph_shingles(a), self.config.paragraph_shingles(b))
        return similarity >= self.boilerplate_similarity

    def _remove_known_boilerplate(self, item: Article, index: CorpusIndex) -> bool:
        """Take out paragraphs already known to be site boilerplate; whether there were any."""
        paragraph_keys = item.fingerprints.paragraph_keys
        all_keys = [key for keys in paragraph_keys.values() for key in keys]
        known = defaultdict(list)
        for key, _, text, first_article, first_position in index.known_boilerplate(all_keys):
            known[key].append((text, first_article, first_position))
        kept: list[Paragraph] = []
        for p in item.paragraphs:
            match = next(
                (m for key in paragraph_keys[p.position] for m in known.get(key, ()) if self.similar(p.text, m[0])),
                None,
            )
            if match is None:
                kept.append(p)
            else:
                item.remove(p, "site-boilerplate", match_position=match[2], match_article=match[1])
        found = len(kept) < len(item.paragraphs)
        item.paragraphs = kept
        return found

    def _find_original(self, item: Article, index: CorpusIndex, own_id: int | None) -> tuple[DuplicateLink | None, list[DuplicateLink]]:
        """The stored article this one is a copy of, if any; else the stored
        group representatives that are copies of this one."""
        signature = item.fingerprints.signature
        if signature is None:
            return None, []
        ours: tuple[set[bytes], int] | None = None
        originals: list[DuplicateLink] = []
        copies: list[DuplicateLink] = []
        for article_id, duplicate_of, text_hash, their_signature in index.similar_articles(
            item.fingerprints.article_keys, exclude=own_id
        ):
            if own_id is not None and duplicate_of == own_id:
                continue  # a copy of this very article, seen before it changed
            if text_hash == item.text_hash():
                # The same text: the same shingles, no need to read them.
                originals.append(DuplicateLink(article_id, "resemblance", 1.0))
                continue
            if their_signature is not None and fingerprints.estimated_jaccard(signature, their_signature) < self.candidate_floor:
                continue
            if ours is None:
                ours = self.rule.shingles(p.text for p in item.paragraphs)
            link, their_size = self.rule.link(ours, index.text_of(article_id), article_id)
            if link is None:
                continue
            if len(ours[0]) <= LONGER * their_size:
                originals.append(link)
            elif duplicate_of is None:
                copies.append(link)
        if originals:
            return max(originals, key=lambda link: (link.rule == "resemblance", link.similarity)), []
        return None, copies

    def _find_new_boilerplate(self, item: Article, index: CorpusIndex, own_id: int | None, copies: set[int]) -> bool:
        """Take out the paragraphs that this article makes site boilerplate;
        whether there were any. ``copies`` are about to become duplicates of
        it, and count as such."""
        by_key = defaultdict(list)
        paragraph_keys = item.fingerprints.paragraph_keys
        all_keys = [key for p in item.paragraphs for key in paragraph_keys[p.position]]
        for key, article_id, position, text, duplicate_of in index.paragraph_candidates(all_keys, exclude=own_id):
            by_key[key].append((article_id, position, text, duplicate_of))
        kept: list[Paragraph] = []
        for p in item.paragraphs:
            candidates = {(c[0], c[1]): c for key in paragraph_keys[p.position] for c in by_key.get(key, ())}
            holders = [c for c in candidates.values() if self.similar(p.text, c[2])]
            originals = sorted((c[0], c[1]) for c in holders if c[3] is None and c[0] not in copies)
            if len({article_id for article_id, _ in originals}) + 1 < self.boilerplate_min:
                kept.append(p)
                continue
            first_article, first_position = originals[0]
            item.dedup.new_boilerplate.append(
                NewBoilerplate(
                    text=p.text,
                    keys=paragraph_keys[p.position],
                    holders=[Holder(c[0], c[1], c[2]) for c in holders],
                    position=p.position,
                    first_article=first_article,
                    first_position=first_position,
                )
            )
            item.remove(p, "site-boilerplate", match_position=first_position, match_article=first_article)
            self.database.count("sieve/dedup/site_boilerplate_found")
        found = len(kept) < len(item.paragraphs)
        item.paragraphs = kept
        return found
