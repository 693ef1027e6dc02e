"""Loads py3langid's language model on import. The fork server of the
worker processes (:mod:`pipelines.workers`) imports this module, so the
model is loaded once there, and every worker shares its memory from the
start; the crawl's own process, which only builds the stages, never loads
it, unless it extracts pages itself (``SIEVE_WORKERS=0``), when the first
page loads it.

py3langid ships its model LZMA-compressed, and unpacking it took 0.45 s of
CPU at every start, most of the worker processes' start-up: the unpacked
file is kept in Sieve's cache (:mod:`crawler.cache`) and read from there,
with py3langid's own steps after the unpacking. Without a cache,
py3langid loads it its own way.
"""

from __future__ import annotations

import lzma
import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np
from py3langid import langid, modelio

from crawler.cache import cached

PACKED = langid.MODEL_DIR / langid.MODEL_FILE


def unpack(target: Path) -> None:
    with lzma.open(PACKED) as packed, open(target, "wb") as unpacked:
        shutil.copyfileobj(packed, unpacked, length=1 << 20)


def from_unpacked(path: Path) -> langid.LanguageIdentifier:
    """py3langid's ``LanguageIdentifier.from_model_file``, from the unpacked
    file: the same arrays, built the same way (py3langid 0.4's
    ``modelio.load_model``)."""
    with np.load(path, allow_pickle=False) as data:
        return langid.LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            modelio._to_array(data["nextmove"]),
            data["out_feat"].tolist(),
            tk_row=modelio._to_array(data["nextmove_row"]),
        )


def load() -> None:
    if langid.IDENTIFIER is not None:
        return
    stat = PACKED.stat()
    name = f"py3langid-{version('py3langid')}-{stat.st_size}-{stat.st_mtime_ns}.npz"
    langid.IDENTIFIER = cached(name, unpack, from_unpacked)
    langid._get_identifier()  # its own loading, if there was no cache


load()
