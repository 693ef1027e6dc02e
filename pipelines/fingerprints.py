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
from collections.abc import Sequence

import numpy as np
import xxhash
from datasketch import MinHash

NUM_PERM = 128
SHINGLE_CHARS = 5
SEED = 1
SCHEME = f"datasketch-affine32/seed{SEED}/xxh32/char{SHINGLE_CHARS}/perm{NUM_PERM}"

_NOT_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Fold case, Unicode compatibility forms, punctuation and spacing."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def shingles(normalized: str) -> set[bytes]:
    data = normalized.encode("utf-8")
    return {data[i : i + SHINGLE_CHARS] for i in range(len(data) - SHINGLE_CHARS + 1)}


def exact_key(normalized: str) -> str:
    return xxhash.xxh3_64_hexdigest(normalized.encode("utf-8"))


def signatures(shingle_sets: Sequence[set[bytes]]) -> np.ndarray:
    """One MinHash signature per set, as the rows of a (n, NUM_PERM) array."""
    if not shingle_sets:
        return np.empty((0, NUM_PERM), dtype=np.uint64)
    hashes = MinHash.bulk(
        shingle_sets,
        num_perm=NUM_PERM,
        seed=SEED,
        hashfunc=xxhash.xxh32_intdigest,
        scheme="affine32",
    )
    return np.vstack([m.hashvalues for m in hashes])


def similarity_matrix(signature_rows: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of every pair of rows."""
    return (signature_rows[:, None, :] == signature_rows[None, :, :]).mean(axis=2)


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
