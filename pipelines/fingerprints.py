"""Normalised text, shingles, MinHash signatures and LSH keys, made as one
:class:`MinhashConfig` says, for the repeat and dedup stages.

Signatures are compared with ones computed in earlier runs, so the config's
:attr:`~MinhashConfig.scheme` is stored in the database (``meta``) and a
database indexed under another scheme is refused (:mod:`crawler.storage.corpus`).

Character shingles rather than word shingles: a few edited words break word
5-grams (median Jaccard 0.53 at 5-10% of words edited) far more than
character 5-grams; see ``notes/minhash.md`` in the shared notes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from crawler.cache import cached
from crawler.items import SIGNATURE_VALUES

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

_NOT_WORD = re.compile(r"[\W_]+")
#: Shingle windows hashed and permuted at once: a (num_perm, n) uint32 array
#: of 8 MB, whatever the size of a page.
WINDOWS_AT_ONCE = 1 << 14
_ARTICLE_BANDS = re.compile(r"/articles\d+x\d+")


@dataclass(frozen=True)
class MinhashConfig:
    """The dedup scheme: how texts become shingles, signatures and LSH keys.

    ``min_words`` follows ``SIEVE_REPEAT_MIN_WORDS``. LSH bands x rows:
    articles 32 x 4, for the containment rule: a copy cut to 60% of the
    original has a Jaccard similarity of about 0.6 with it, a candidate with
    probability 0.99 (0.87 at 0.5, 0.9998 at 0.8). Unrelated articles share
    common 5-byte shingles (median Jaccard 0.08) and become candidates 0.2%
    of the time; their signatures rule them out before any text is read
    (:mod:`pipelines.cross_dedup`). A database indexed with other article
    bands is re-keyed by :func:`crawler.storage.corpus.open_index`. Paragraphs: site boilerplate recurs near-identically
    and there are many paragraphs to index, so 10 x 12: 0.96 at Jaccard 0.9,
    0.9996 at 0.95, half the keys per paragraph.
    """

    shingle_chars: int = 5
    num_perm: int = SIGNATURE_VALUES
    seed: int = 1
    article_bands: int = 32
    article_rows: int = 4
    paragraph_bands: int = 10
    paragraph_rows: int = 12
    #: Paragraphs with fewer words have one key, their normalised text: an
    #: empty or tiny shingle set would make a signature match every such text.
    min_words: int = 8

    def __post_init__(self) -> None:
        if self.article_bands * self.article_rows > self.num_perm:
            raise ValueError("article bands x rows exceed the permutations")
        if self.paragraph_bands * self.paragraph_rows > self.num_perm:
            raise ValueError("paragraph bands x rows exceed the permutations")

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> MinhashConfig:
        return cls(min_words=settings.getint("SIEVE_REPEAT_MIN_WORDS"))

    @property
    def scheme(self) -> str:
        """Names everything that decides a stored signature or key."""
        return (
            f"datasketch-affine32/seed{self.seed}/xxh32/char{self.shingle_chars}/perm{self.num_perm}"
            f"/articles{self.article_bands}x{self.article_rows}"
            f"/paragraphs{self.paragraph_bands}x{self.paragraph_rows}/minwords{self.min_words}"
        )

    def same_but_article_bands(self, scheme: str) -> bool:
        """Whether ``scheme`` differs from this one in the article bands alone
        (its signatures and paragraph keys compare with this one's)."""
        return _ARTICLE_BANDS.sub("", scheme) == _ARTICLE_BANDS.sub("", self.scheme)

    def __getstate__(self) -> dict:
        # The permutations go with the config: worker processes, which get
        # it pickled, then never import datasketch (and scipy).
        return {**self.__dict__, "permutations": self.permutations}

    @cached_property
    def permutations(self) -> np.ndarray:
        """datasketch's permutations for this scheme, the (2, num_perm)
        array of its ``MinHash``. Kept in Sieve's cache (:mod:`crawler.cache`):
        datasketch imports scipy, a large part of a crawl's start-up, to give them."""
        name = f"datasketch-{version('datasketch')}-{self.num_perm}-permutations-seed{self.seed}.npy"
        cached_permutations = cached(name, self._save_permutations, self._read_permutations)
        return self.drawn_permutations() if cached_permutations is None else cached_permutations

    def drawn_permutations(self) -> np.ndarray:
        from datasketch import MinHash

        return MinHash(
            num_perm=self.num_perm, seed=self.seed, hashfunc=xxhash.xxh32_intdigest, scheme="affine32"
        ).permutations

    def _save_permutations(self, path: Path) -> None:
        with open(path, "wb") as file:
            np.save(file, self.drawn_permutations(), allow_pickle=False)

    def _read_permutations(self, path: Path) -> np.ndarray:
        permutations = np.load(path, allow_pickle=False)
        if permutations.shape != (2, self.num_perm):
            raise ValueError(f"permutations of shape {permutations.shape}, not (2, {self.num_perm})")
        return permutations

    def shingles(self, normalized: str) -> set[bytes]:
        return _shingles(normalized, self.shingle_chars)

    def paragraph_shingles(self, text: str) -> frozenset[bytes]:
        return _paragraph_shingles(text, self.shingle_chars)

    def text_shingles(self, paragraphs: Iterable[str]) -> set[bytes]:
        """Shingles of a whole article: the union of its paragraphs' shingles."""
        result: set[bytes] = set()
        for paragraph in paragraphs:
            result |= self.paragraph_shingles(paragraph)
        return result

    def signatures_of(self, texts: Sequence[str]) -> np.ndarray:
        return self.signatures_of_normalized([normalize(text) for text in texts])

    def signatures_of_normalized(self, normalized: Sequence[str]) -> np.ndarray:
        """One MinHash signature per normalised text, as the rows of a
        (n, num_perm) array: the values datasketch's ``MinHash.update_batch``
        gives for the text's shingles (with this scheme's permutations, taken
        from datasketch), computed with numpy over the texts' shingle windows,
        many texts at a time, instead of a Python call per shingle. A text
        without shingles has the empty signature (all maximum values)."""
        size = self.shingle_chars
        data = [text.encode("utf-8") for text in normalized]
        rows = np.full((len(data), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        batch: list[int] = []
        windows = 0
        for index, text in enumerate(data):
            count = len(text) - size + 1
            if count <= 0:
                continue
            if count > WINDOWS_AT_ONCE:
                for start in range(0, count, WINDOWS_AT_ONCE):
                    part = text[start : min(start + WINDOWS_AT_ONCE, count) + size - 1]
                    rows[index] = np.minimum(rows[index], self._signature_rows([part])[0])
                continue
            if windows + count > WINDOWS_AT_ONCE:
                rows[batch] = self._signature_rows([data[i] for i in batch])
                batch, windows = [], 0
            batch.append(index)
            windows += count
        if batch:
            rows[batch] = self._signature_rows([data[i] for i in batch])
        return rows

    def _signature_rows(self, texts: list[bytes]) -> np.ndarray:
        """Signatures of texts that each have shingles."""
        size = self.shingle_chars
        lengths = np.array([len(text) for text in texts])
        counts = lengths - size + 1
        joined = np.frombuffer(b"".join(texts), dtype=np.uint8)
        # Each text's windows start at its offset in the joined bytes.
        starts = np.repeat(np.cumsum(lengths) - lengths, counts) + _ranks(counts)
        hashes = _fmix32(_xxh32(joined[starts[:, None] + np.arange(size)]))
        a, b = self.permutations
        # One row per permutation, so that the minimum runs along memory. uint32: wraps, as datasketch's.
        values = a[:, None] * hashes[None, :] + b[:, None]
        return np.minimum.reduceat(values, np.cumsum(counts) - counts, axis=1).T

    def article_signature(
        self, paragraphs: Sequence[str], signatures: Sequence[np.ndarray | None] = ()
    ) -> np.ndarray | None:
        """An article's signature from its kept paragraphs, reusing those of
        their signatures already computed; None for an article without shingles."""
        known = dict(enumerate(signatures))
        missing = [i for i, text in enumerate(paragraphs) if known.get(i) is None and self.paragraph_shingles(text)]
        known.update(zip(missing, self.signatures_of([paragraphs[i] for i in missing])))
        return union(s for s in known.values() if s is not None)

    def article_keys(self, signature: np.ndarray | None) -> list[int]:
        if signature is None:
            return []
        return band_keys(signature, self.article_bands, self.article_rows)

    def is_short(self, normalized: str) -> bool:
        return len(normalized.split()) < self.min_words

    def paragraph_keys(
        self, text: str, source: str, signature: np.ndarray | None = None, normalized: str | None = None
    ) -> list[int]:
        """LSH keys of a paragraph, scoped to its source; a short paragraph
        has one key, its normalised text."""
        if normalized is None:
            normalized = normalize(text)
        if self.is_short(normalized):
            return [exact_band_key(normalized, source)]
        if signature is None:
            signature = self.signatures_of_normalized([normalized])[0]
        return band_keys(signature, self.paragraph_bands, self.paragraph_rows, source)


def normalize(text: str) -> str:
    """Fold case, Unicode compatibility forms, punctuation and spacing."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def normalized_word_count(text: str) -> int:
    """Words of the normalised text."""
    return len(normalize(text).split())


def _shingles(normalized: str, size: int) -> set[bytes]:
    data = normalized.encode("utf-8")
    return {data[i : i + size] for i in range(len(data) - size + 1)}


@lru_cache(maxsize=2048)
def _paragraph_shingles(text: str, size: int) -> frozenset[bytes]:
    # Cached: the same boilerplate and candidate paragraphs are compared again and again.
    return frozenset(_shingles(normalize(text), size))


def _key(data: bytes) -> int:
    # SQLite integers are signed 64-bit.
    return xxhash.xxh3_64_intdigest(data) - 2**63


def band_keys(signature: np.ndarray, bands: int, rows: int, scope: str = "") -> list[int]:
    """LSH keys of a signature: one per band, the band number and ``scope``
    (the source, for paragraphs) folded in so one table holds all bands."""
    prefix = scope.encode("utf-8") + b"\x00"
    return [
        _key(prefix + band.to_bytes(2, "little") + signature[band * rows : (band + 1) * rows].tobytes())
        for band in range(bands)
    ]


def exact_band_key(normalized: str, scope: str = "") -> int:
    """The one key of a text too short for MinHash: its normalised form."""
    return _key(scope.encode("utf-8") + b"\x01" + normalized.encode("utf-8"))


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in ``counts``, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


_P1, _P2, _P3, _P4, _P5 = (np.uint32(p) for p in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1))


def _rotl(h: np.ndarray, bits: int) -> np.ndarray:
    return (h << np.uint32(bits)) | (h >> np.uint32(32 - bits))


def _xxh32(windows: np.ndarray) -> np.ndarray:
    """XXH32 (seed 0) of each row of a (n, size) uint8 array, size < 16:
    what ``xxhash.xxh32_intdigest`` gives for each as bytes."""
    size = windows.shape[1]
    h = np.full(len(windows), _P5 + np.uint32(size), dtype=np.uint32)
    words = size // 4
    if words:
        lanes = np.ascontiguousarray(windows[:, : 4 * words]).view("<u4").astype(np.uint32)
        for word in range(words):
            h = _rotl(h + lanes[:, word] * _P3, 17) * _P4
    for index in range(4 * words, size):
        h = _rotl(h + windows[:, index].astype(np.uint32) * _P5, 11) * _P1
    h ^= h >> np.uint32(15)
    h *= _P2
    h ^= h >> np.uint32(13)
    h *= _P3
    return h ^ (h >> np.uint32(16))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, which datasketch's affine32 scheme applies to every hash first."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def union(signature_rows: Iterable[np.ndarray]) -> np.ndarray | None:
    """The signature of the union of sets, from their signatures: with the
    same permutations, the minimum over a union is the minimum of minimums.
    An article's signature thus costs nothing once its paragraphs have theirs."""
    rows = list(signature_rows)
    return np.minimum.reduce(rows) if rows else None


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))


def jaccard(a: frozenset[bytes] | set[bytes], b: frozenset[bytes] | set[bytes]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
