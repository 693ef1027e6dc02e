"""Repeat stage: a paragraph that repeats an earlier paragraph of the same
article is removed; the first occurrence keeps its place. The stage also
leaves on the article the MinHash signatures and LSH keys that
cross-document dedup needs, so that they are computed here, in a worker
process, rather than in the crawl's process.

Scrapers and CMS templates often print a paragraph twice. Two paragraphs are
repeats when the MinHash estimate of the Jaccard similarity of their
normalised character shingles reaches ``SIEVE_REPEAT_THRESHOLD``. A short
paragraph (under ``SIEVE_REPEAT_MIN_WORDS`` words) has too few shingles for
an estimate to mean much, so it counts as a repeat only when its normalised
text is identical to an earlier one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from crawler.items import Article, Paragraph
from pipelines import fingerprints
from pipelines.fingerprints import MinhashConfig
from pipelines.stage import DocumentStage, Stats

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


class RepeatFinder:
    def __init__(self, threshold: float, config: MinhashConfig):
        self.threshold = threshold
        self.config = config

    def find(
        self, paragraphs: list[Paragraph], normalized: list[str] | None = None
    ) -> tuple[dict[int, int], dict[int, np.ndarray]]:
        """Map the index of each repeat to the index of the paragraph it
        repeats; also return the MinHash signature of every paragraph that
        has shingles (later stages build the article's from them)."""
        if normalized is None:
            normalized = [fingerprints.normalize(p.text) for p in paragraphs]
        config = self.config
        with_shingles = [i for i, text in enumerate(normalized) if len(text.encode("utf-8")) >= config.shingle_chars]
        rows = config.signatures_of_normalized([normalized[i] for i in with_shingles])
        signature = dict(zip(with_shingles, rows))

        long = [i for i, text in enumerate(normalized) if not config.is_short(text) and i in signature]
        rows = np.vstack([signature[i] for i in long]) if long else np.empty((0, config.num_perm))
        similarity = dict(zip(long, (rows[:, None, :] == rows[None, :, :]).mean(axis=2)))
        row = {index: n for n, index in enumerate(long)}

        repeats: dict[int, int] = {}
        first_exact: dict[str, int] = {}
        kept_long: list[int] = []
        for i, text in enumerate(normalized):
            if i not in row:
                if text in first_exact:
                    repeats[i] = first_exact[text]
                else:
                    first_exact[text] = i
                continue
            match = next((k for k in kept_long if similarity[i][row[k]] >= self.threshold), None)
            if match is None:
                kept_long.append(i)
            else:
                repeats[i] = match
        return repeats, signature


class RepeatPipeline(DocumentStage):
    def __init__(self, stats: Stats, finder: RepeatFinder):
        self.stats = stats
        self.finder = finder

    @classmethod
    def build(cls, settings: BaseSettings, stats: Stats) -> Self:
        finder = RepeatFinder(settings.getfloat("SIEVE_REPEAT_THRESHOLD"), MinhashConfig.from_settings(settings))
        return cls(stats, finder)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        normalized = {p.position: fingerprints.normalize(p.text) for p in item.paragraphs}
        repeats, signatures = self.finder.find(item.paragraphs, [normalized[p.position] for p in item.paragraphs])
        item.signatures = {item.paragraphs[i].position: sig for i, sig in signatures.items() if i not in repeats}
        if repeats:
            for index, match in repeats.items():
                item.remove(item.paragraphs[index], "repeat", item.paragraphs[match].position)
            item.paragraphs = [p for i, p in enumerate(item.paragraphs) if i not in repeats]
            item.removed.sort(key=lambda r: r.position)
            self.stats.inc_value("sieve/repeats/paragraphs_removed", len(repeats))
        item.signature = fingerprints.union(item.signatures.values())
        item.paragraph_keys = {
            p.position: self.finder.config.paragraph_keys(
                p.text, item.source, item.signatures.get(p.position), normalized[p.position]
            )
            for p in item.paragraphs
        }
        return item
