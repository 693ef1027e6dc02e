"""Text helpers used by more than one document stage, and how a plain text
splits into paragraphs."""

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


BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a plain-text document.

    Blank lines separate paragraphs; the lines inside a block are joined,
    except list items, which stay paragraphs of their own. A document with no
    blank lines at all has one paragraph per line.
    """
    if not BLANK_LINE.search(text.strip()):
        return [collapse(line) for line in text.split("\n") if line.strip()]
    paragraphs: list[str] = []
    for block in BLANK_LINE.split(text):
        current: list[str] = []
        for line in block.split("\n"):
            if not line.strip():
                continue
            if is_list_item(line.strip()) and current:
                paragraphs.append(collapse(" ".join(current)))
                current = []
            current.append(line)
        if current:
            paragraphs.append(collapse(" ".join(current)))
    return paragraphs
