"""Files that spare every crawl part of its start-up: data that depends only
on installed packages and costs time to compute (py3langid's language model
unpacked, datasketch's permutations), computed once and kept under
``$XDG_CACHE_HOME/sieve`` (``~/.cache/sieve``). Names carry the package
version and whatever else decides the content, so an upgrade makes a new
file rather than reading a stale one.

A cache that cannot be written (a read-only home, a full disk) or a file that
cannot be read is not an error: the caller computes the value as if there
were no cache, and a debug message says why.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sieve"


def cached(name: str, write: Callable[[Path], None], read: Callable[[Path], T]) -> T | None:
    """``read(path)`` of the cache file ``name``; if it is missing or cannot
    be read, ``write(path)`` makes it first (written beside it and renamed,
    so that two crawls starting at once never read half a file). None when
    the cache cannot be used: the caller then does without it."""
    path = cache_dir() / name
    if path.exists():
        try:
            return read(path)
        except (OSError, ValueError, KeyError) as exc:
            logger.debug("Cache file %s unreadable, made again: %s", path, exc)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.")
        os.close(fd)
        try:
            write(Path(temporary))
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return read(path)
    except (OSError, ValueError, KeyError) as exc:
        logger.debug("No cache file %s: %s", path, exc)
        return None
