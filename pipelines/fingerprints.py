"""Normalised text, shingles and MinHash signatures, shared by the dedup stages.

The scheme is fixed (datasketch 2.0 ``affine32`` permutations, seed 1, 128
permutations, xxh32 over character 5-grams) because signatures are compared
with ones computed in earlier runs; :data:`SCHEME` names it so that a stored
index can tell when it was built with another one.

Character shingles rather than word shingles: a few edited words break word
5-grams (median Jaccard 0.53 at 5-10% of words edited) far more than
character 5-grams; see ``notes/minhash.md`` in the shared notes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import xxhash
from datasketch import MinHash

NUM_PERM = 128
SHINGLE_CHARS = 5
SEED = 1

# LSH bands x rows. Articles: 20 x 6 makes a pair at Jaccard 0.8 a candidate
# with probability 0.998 (0.9999 at 0.85); candidates are then checked with
# the exact Jaccard of their shingles, so the extra candidates cost time,
# not precision. Paragraphs: site boilerplate recurs near-identically, and
# there are many paragraphs to index, so 10 x 12 rows: 0.96 at Jaccard 0.9,
# 0.9996 at 0.95, half the rows per paragraph.
ARTICLE_BANDS, ARTICLE_ROWS = 20, 6
PARAGRAPH_BANDS, PARAGRAPH_ROWS = 10, 12

SCHEME = (
    f"datasketch-affine32/seed{SEED}/xxh32/char{SHINGLE_CHARS}/perm{NUM_PERM}"
    f"/articles{ARTICLE_BANDS}x{ARTICLE_ROWS}/paragraphs{PARAGRAPH_BANDS}x{PARAGRAPH_ROWS}"
)

_NOT_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Fold case, Unicode compatibility forms, punctuation and spacing."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def shingles(normalized: str) -> set[bytes]:
    data = normalized.encode("utf-8")
    return {data[i : i + SHINGLE_CHARS] for i in range(len(data) - SHINGLE_CHARS + 1)}


@lru_cache(maxsize=2048)
def paragraph_shingles(text: str) -> frozenset[bytes]:
    """Shingles of a paragraph's normalised text, cached: the same boilerplate
    and candidate paragraphs are compared again and again."""
    return frozenset(shingles(normalize(text)))


# Creating a MinHash draws its permutations; copies of one template share them.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest, scheme="affine32")


def signatures(shingle_sets: Sequence[Iterable[bytes]]) -> np.ndarray:
    """One MinHash signature per set, as the rows of a (n, NUM_PERM) array
    (what ``MinHash.bulk`` does, without drawing the permutations each call)."""
    rows = np.empty((len(shingle_sets), NUM_PERM), dtype=np.uint32)
    for row, shingle_set in enumerate(shingle_sets):
        minhash = _TEMPLATE.copy()
        minhash.update_batch(shingle_set)
        rows[row] = minhash.hashvalues
    return rows


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


def text_shingles(paragraphs: Iterable[str]) -> set[bytes]:
    """Shingles of a whole article: the union of its paragraphs' shingles."""
    result: set[bytes] = set()
    for paragraph in paragraphs:
        result |= paragraph_shingles(paragraph)
    return result


def union(signature_rows: Iterable[np.ndarray]) -> np.ndarray | None:
    """The signature of the union of sets, from their signatures: with the
    same permutations, the minimum over a union is the minimum of minimums.
    An article's signature thus costs nothing once its paragraphs have theirs."""
    rows = list(signature_rows)
    return np.minimum.reduce(rows) if rows else None


def article_signature(paragraphs: Sequence[str], signatures: Sequence[np.ndarray | None] = ()) -> np.ndarray | None:
    """An article's signature from its kept paragraphs, reusing those of
    their signatures already computed; None for an article without shingles."""
    known = dict(enumerate(signatures))
    missing = [i for i, text in enumerate(paragraphs) if known.get(i) is None and paragraph_shingles(text)]
    known.update(zip(missing, signatures_of([paragraphs[i] for i in missing])))
    return union(s for s in known.values() if s is not None)


def signatures_of(texts: Sequence[str]) -> np.ndarray:
    return signatures([paragraph_shingles(text) for text in texts])


def article_keys(signature: np.ndarray | None) -> list[int]:
    if signature is None:
        return []
    return band_keys(signature, ARTICLE_BANDS, ARTICLE_ROWS)


def paragraph_keys(
    text: str, source: str, min_words: int, signature: np.ndarray | None = None, normalized: str | None = None
) -> list[int]:
    """LSH keys of a paragraph, scoped to its source; a short paragraph has
    one key, its normalised text (an empty or tiny shingle set would make
    its signature match every other such text)."""
    if normalized is None:
        normalized = normalize(text)
    if len(normalized.split()) < min_words:
        return [exact_band_key(normalized, source)]
    if signature is None:
        signature = signatures([shingles(normalized)])[0]
    return band_keys(signature, PARAGRAPH_BANDS, PARAGRAPH_ROWS, source)


def from_bytes(data: bytes) -> np.ndarray:
    """A signature stored with ``ndarray.tobytes()``."""
    return np.frombuffer(data, dtype=np.uint32)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))


def jaccard(a: frozenset[bytes] | set[bytes], b: frozenset[bytes] | set[bytes]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
