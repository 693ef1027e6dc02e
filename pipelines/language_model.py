"""py3langid's language model as an :class:`Identifier` of Sieve's own,
which the extraction stage is handed (:func:`identifier`); py3langid's own
global identifier is left as it is. Workers load it when they start
(``ExtractPipeline.start``), the crawl's own process only when it extracts
pages itself (``SIEVE_WORKERS=0``).

py3langid ships its model LZMA-compressed, and unpacking it took 0.45 s of
CPU at every start: its arrays are unpacked once into Sieve's cache
(:mod:`crawler.cache`), one file each, and memory-mapped from there. Loading
then reads nothing: the kernel reads the large files in ahead, and the
workers, and the runs after, share the same pages. Without a cache each
process unpacks the arrays and keeps them in memory.

py3langid walks its automaton one byte at a time in Python; :class:`Identifier`
walks it for all the bytes of a text at once with numpy (language detection
in the pipeline: 1.05 ms a page on the benchmark, against 1.7). Its scores
are py3langid's, bit for bit.
"""

from __future__ import annotations

import functools
import io
import lzma
import os
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

import numpy as np
from py3langid import langid

from crawler.cache import cached

PACKED = langid.MODEL_DIR / langid.MODEL_FILE
#: The arrays of py3langid 0.4's model file, and ``depth``, computed from them.
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat", "depth")
#: The ones worth having the kernel read in ahead (67 of their 68 MB).
LARGE = ("ptc", "nextmove")


class Identifier(langid.LanguageIdentifier):
    """py3langid's ``LanguageIdentifier`` on the model's arrays, its
    automaton walked with numpy (``_raw_score``); the rest is py3langid's.

    The automaton (Aho-Corasick, over byte n-grams) is in the same state
    after a byte whatever came more than ``depth`` bytes before it (the
    longest path from its start). So all positions of a text take their
    ``depth`` last bytes one step at a time, together; the features found
    are then counted, and summed in the order py3langid's walk meets them,
    the same floating-point sum as py3langid's."""

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        # Plain arrays over the mapped memory: numpy's memmap subclass runs
        # Python code in every operation on it and on what comes out of it.
        arrays = {name: np.asarray(array) for name, array in arrays.items()}
        # No byte-wise tables for py3langid: the walk below uses the arrays.
        super().__init__(arrays["ptc"], arrays["pc"], arrays["classes"].tolist(), None, None, tk_row=())
        self.nextmove = arrays["nextmove"]
        self.row_offsets = arrays["nextmove_row"].astype(np.intp) << 8
        self.features = arrays["out_feat"]
        self.depth = int(arrays["depth"])

    def _raw_score(self, text: bytes) -> np.ndarray:
        data = np.frombuffer(text, dtype=np.uint8)
        states = np.zeros(len(data), dtype=np.intp)
        for lag in range(min(self.depth, len(data)) - 1, -1, -1):
            states[lag:] = self.nextmove[self.row_offsets[states[lag:]] + data[: len(data) - lag]]
        found = self.features[states]
        found = found[found >= 0]
        if not len(found):
            return super()._raw_score(b"")  # py3langid's score for no features
        features, first, counts = np.unique(found, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        # py3langid's _sparse_score, with the float16 rows made float32
        # before the product rather than inside it, which is faster.
        rows = self.nb_ptc[features[order]].astype(np.float32)
        return np.log1p(counts[order].astype(np.float32)) @ rows + self.nb_pc


def automaton_depth(nextmove: np.ndarray, nextmove_row: np.ndarray) -> int:
    """The most bytes any state of the automaton is from its start state."""
    row_offsets = nextmove_row.astype(np.intp) << 8
    depth = np.full(len(nextmove_row), -1)
    depth[0] = level = 0
    frontier = np.zeros(1, dtype=np.intp)
    while len(frontier):
        reached = np.zeros(len(depth), dtype=bool)
        reached[nextmove[(row_offsets[frontier, None] + np.arange(256)).ravel()]] = True
        frontier = np.flatnonzero(reached & (depth < 0))
        level += 1
        depth[frontier] = level
    return level - 1


@functools.cache
def unpacked() -> dict[str, np.ndarray]:
    """The model's arrays, from py3langid's own file."""
    with np.load(io.BytesIO(lzma.decompress(PACKED.read_bytes())), allow_pickle=False) as data:
        arrays = {name: data[name] for name in ARRAYS if name != "depth"}
    arrays["depth"] = np.asarray(automaton_depth(arrays["nextmove"], arrays["nextmove_row"]))
    return arrays


@functools.cache
def cache_prefix() -> str:
    """What decides the arrays: py3langid's version and its model file."""
    stat = PACKED.stat()
    return f"py3langid-{version('py3langid')}-{stat.st_size}-{stat.st_mtime_ns}"


def read_mapped(path: Path, name: str) -> np.ndarray:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if name in LARGE and hasattr(os, "posix_fadvise"):
        with open(path, "rb") as file:
            os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
    return array


def array(name: str) -> np.ndarray:
    def write(path: Path) -> None:
        with open(path, "wb") as file:
            np.save(file, unpacked()[name], allow_pickle=False)

    mapped = cached(f"{cache_prefix()}-{name}.npy", write, lambda path: read_mapped(path, name))
    return unpacked()[name] if mapped is None else mapped


@functools.cache
def identifier() -> Identifier:
    """The identifier, loaded once a process."""
    loaded = Identifier({name: array(name) for name in ARRAYS})
    unpacked.cache_clear()  # 68 MB, needed only to fill the cache
    return loaded
