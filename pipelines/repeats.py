"""Repeat stage: a paragraph the article prints again by accident is
removed; the first occurrence keeps its place. The stage also leaves on the
article the MinHash signatures and LSH keys that cross-document dedup needs,
so that they are computed here, in a worker process, rather than in the
crawl's process.

Two paragraphs are the same text when the MinHash estimate of the Jaccard
similarity of their normalised character shingles reaches
``SIEVE_REPEAT_THRESHOLD``. A short paragraph (under
``SIEVE_REPEAT_MIN_WORDS`` words) has too few shingles for an estimate to
mean much, so it is the same as another only when their normalised texts are
identical.

Not every repeat is an accident. Scrapers and CMS templates print a
paragraph, or a run of paragraphs, a second time; but an interview asks each
guest the same question, a meal plan gives each day the same labels, a
product list gives two models the same features. What tells them apart
(measured on the extraction benchmarks, see ``docs/dedup.md``):

- how often: an artefact is the text printed once more, twice in all.
  Something printed three times or more is the article's layout, a slot
  filled in each section, unless the copies follow each other: a passage
  printed again at once is an artefact however often;
- how much: an artefact copies a passage, a long paragraph or a run of
  paragraphs repeating consecutive ones in the same order, of at least
  :data:`ARTEFACT_MIN_WORDS` words. A short line printed twice, with other
  paragraphs around each copy, is a label or a question, not a passage.

Finding repeats costs memory and time linear in the article: candidates come
from LSH bands of the signatures, chosen so that no pair at the threshold
can be missed, and from exact normalised texts, never from comparing all
pairs; a paragraph is compared with at most ``MAX_CANDIDATES_PER_BAND``
earlier ones for each band it shares.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from crawler.items import Article, Fingerprints, Paragraph
from pipelines import fingerprints
from pipelines.fingerprints import MinhashConfig
from pipelines.stage import DocumentStage, Stats

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: The fewest words (runs of non-space characters) of a passage printed twice
#: for the copy to be an artefact: more than a sentence, longer than the
#: labels, questions and list items articles print twice on purpose. The
#: benchmarks barely move between 15 and 35 (docs/dedup.md); the seeds'
#: shortest copied paragraph has 33.
ARTEFACT_MIN_WORDS = 25
#: A paragraph longer than this (normalised characters) that repeats the one
#: before it is an artefact however often it is printed: the length under
#: which trafilatura kept such copies itself (pipelines.trafilatura_patches.every_copy_kept).
IN_A_ROW_MIN_CHARS = 50
#: The most earlier paragraphs sharing one LSH band that a paragraph is
#: compared with, the nearest first: time stays linear in the article even
#: when thousands of lines are alike (a table, a log, a hostile page); an
#: article's paragraphs rarely share a band with more than a few.
MAX_CANDIDATES_PER_BAND = 16


class RepeatFinder:
    def __init__(self, threshold: float, config: MinhashConfig, min_words: int = ARTEFACT_MIN_WORDS):
        self.threshold = threshold
        self.config = config
        self.min_words = min_words

    def signatures(self, normalized: Sequence[str]) -> dict[int, np.ndarray]:
        """The MinHash signature of every paragraph that has shingles, by
        index (later stages build the article's from them)."""
        size = self.config.shingle_chars
        with_shingles = [i for i, text in enumerate(normalized) if len(text.encode("utf-8")) >= size]
        rows = self.config.signatures_of_normalized([normalized[i] for i in with_shingles])
        return dict(zip(with_shingles, rows))

    def find(
        self, paragraphs: list[Paragraph], normalized: list[str] | None = None
    ) -> tuple[dict[int, int], dict[int, np.ndarray]]:
        """Map the index of each paragraph to remove to the index of the
        paragraph it repeats; also return the signatures (:meth:`signatures`)."""
        if normalized is None:
            normalized = [fingerprints.normalize(p.text) for p in paragraphs]
        signature = self.signatures(normalized)
        repeats = self.repeats(normalized, signature)
        artefacts = self.artefacts(repeats, [len(p.text.split()) for p in paragraphs])
        artefacts.update(self.copies_in_a_row(repeats, normalized))
        return artefacts, signature

    def repeats(self, normalized: Sequence[str], signature: dict[int, np.ndarray]) -> dict[int, int]:
        """Map the index of every paragraph that is the same text as an
        earlier one to the index of its first occurrence."""
        found: dict[int, int] = {}
        first_exact: dict[str, int] = {}
        compared: list[int] = []
        for i, text in enumerate(normalized):
            if i in signature and not self.config.is_short(text):
                compared.append(i)
            elif text in first_exact:
                found[i] = first_exact[text]
            else:
                first_exact[text] = i
        if compared:
            rows = np.vstack([signature[i] for i in compared])
            found.update((compared[j], compared[k]) for j, k in self._similar_rows(rows).items())
        return found

    def _bands(self) -> tuple[int, int]:
        """LSH bands x rows with which two signatures that agree on enough
        values to reach the threshold always share a band: if d values
        differ, at most d bands differ, so with more than d bands one is
        whole. A candidate found this way is then checked, as every pair
        used to be, so the result is the one all pairs would give."""
        values = self.config.num_perm
        agreeing = next(n for n in range(values + 1) if n / values >= self.threshold)
        rows = values // (values - agreeing + 1)
        return values // rows, rows

    def _similar_rows(self, rows: np.ndarray) -> dict[int, int]:
        """Map each signature row that reaches the threshold with an earlier
        first occurrence to the earliest such row."""
        count, values = rows.shape
        bands, width = self._bands()
        # Each band's values hashed to one number, then numbered, the numbers
        # unique across bands: rows with the same number are candidates.
        # Hashes that collide only add a candidate to check. One band at a
        # time, so that nothing wider than the signatures is ever made.
        mixers = np.arange(1, 2 * width, 2, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        groups = np.empty((bands, count), dtype=np.int32)
        for band in range(bands):
            hashed = (rows[:, band * width : (band + 1) * width].astype(np.uint64) * mixers).sum(axis=1, dtype=np.uint64)
            groups[band] = np.unique(hashed, return_inverse=True)[1].reshape(-1) + band * count
        # The first occurrences in each group, newest first, as linked lists
        # through two arrays: their size is fixed by the number of rows.
        newest = np.full(bands * count, -1, dtype=np.int32)
        previous = np.full((bands, count), -1, dtype=np.int32)
        found: dict[int, int] = {}
        for j in range(count):
            own = groups[:, j].tolist()
            candidates: set[int] = set()
            for band, group in enumerate(own):
                k = int(newest[group])
                for _ in range(MAX_CANDIDATES_PER_BAND):
                    if k < 0:
                        break
                    candidates.add(k)
                    k = int(previous[band, k])
            if candidates:
                earlier = np.fromiter(sorted(candidates), dtype=np.intp, count=len(candidates))
                passing = earlier[np.count_nonzero(rows[earlier] == rows[j], axis=1) / values >= self.threshold]
                if len(passing):
                    found[j] = int(passing[0])
                    continue
            for band, group in enumerate(own):
                previous[band, j] = newest[group]
                newest[group] = j
        return found

    @staticmethod
    def copies_in_a_row(repeats: dict[int, int], normalized: Sequence[str]) -> dict[int, int]:
        """The repeats that come right after their original or another copy
        of it, longer than :data:`IN_A_ROW_MIN_CHARS`: however many, no
        layout prints a passage again at once."""
        return {
            i: first
            for i, first in repeats.items()
            if (first == i - 1 or repeats.get(i - 1) == first) and len(normalized[i]) > IN_A_ROW_MIN_CHARS
        }

    def artefacts(self, repeats: dict[int, int], words: Sequence[int]) -> dict[int, int]:
        """The repeats that are duplication artefacts: copies of a text
        printed twice in all, that copy a passage of at least ``min_words``
        words (a run of consecutive copies of consecutive paragraphs)."""
        copies = Counter(repeats.values())
        twice = [i for i in sorted(repeats) if copies[repeats[i]] == 1]
        passages: list[list[int]] = []
        for i in twice:
            if passages and passages[-1][-1] == i - 1 and repeats[i - 1] == repeats[i] - 1:
                passages[-1].append(i)
            else:
                passages.append([i])
        return {
            i: repeats[i]
            for passage in passages
            if sum(words[i] for i in passage) >= self.min_words
            for i in passage
        }


class RepeatPipeline(DocumentStage):
    def __init__(self, stats: Stats, finder: RepeatFinder, enabled: bool = True):
        self.stats = stats
        self.finder = finder
        self.enabled = enabled

    @classmethod
    def build(cls, settings: BaseSettings, stats: Stats) -> Self:
        finder = RepeatFinder(settings.getfloat("SIEVE_REPEAT_THRESHOLD"), MinhashConfig.from_settings(settings))
        return cls(stats, finder, settings.getbool("SIEVE_REPEATS_ENABLED"))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        normalized = {p.position: fingerprints.normalize(p.text) for p in item.paragraphs}
        in_order = [normalized[p.position] for p in item.paragraphs]
        if self.enabled:
            repeats, signatures = self.finder.find(item.paragraphs, in_order)
        else:
            # Dedup still needs the signatures and keys.
            repeats, signatures = {}, self.finder.signatures(in_order)
        kept_signatures = {item.paragraphs[i].position: sig for i, sig in signatures.items() if i not in repeats}
        if repeats:
            for index, match in repeats.items():
                item.remove(item.paragraphs[index], "repeat", item.paragraphs[match].position)
            item.paragraphs = [p for i, p in enumerate(item.paragraphs) if i not in repeats]
            item.removed.sort(key=lambda r: r.position)
            self.stats.inc_value("sieve/repeats/paragraphs_removed", len(repeats))
        signature = fingerprints.union(kept_signatures.values())
        item.fingerprints = Fingerprints(
            signatures=kept_signatures,
            signature=signature,
            # The crawl's own process looks these up and stores them: computed
            # here, in a worker, they cost it nothing.
            article_keys=self.finder.config.article_keys(signature),
            paragraph_keys={
                p.position: self.finder.config.paragraph_keys(
                    p.text, item.source, kept_signatures.get(p.position), normalized[p.position]
                )
                for p in item.paragraphs
            },
        )
        return item
