"""Text helpers used by more than one document stage."""

from __future__ import annotations

import re

LIST_ITEM = re.compile(r"^(?:[-*•·‣▪◦–—]|\d{1,3}[.)])\s+\S")


def collapse(text: str) -> str:
    """Runs of white space as one space, none at the ends."""
    return " ".join(text.split())


def word_count(text: str) -> int:
    return len(text.split())


def is_list_item(text: str) -> bool:
    return LIST_ITEM.match(text) is not None
