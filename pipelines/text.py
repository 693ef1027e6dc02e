"""Text helpers used by more than one document stage, and how a plain text
splits into paragraphs."""

from __future__ import annotations

import re
from collections import Counter

LIST_ITEM = re.compile(r"^(?:[-*•·‣▪◦–—]|\d{1,3}[.)])\s+\S")


def collapse(text: str) -> str:
    """Runs of white space as one space, none at the ends."""
    return " ".join(text.split())


WORD = re.compile(r"\w+")


def four_grams(text: str) -> Counter[tuple[str, ...]]:
    """The word 4-grams of a text, counted (a word is ``\\w+``)."""
    words = WORD.findall(text)
    return Counter(zip(words, words[1:], words[2:], words[3:]))


#: Where a block of HTML ends, for :func:`html_lines`.
BLOCK_END = re.compile(r"(?i)</(?:p|div|h[1-6]|li|tr|td|th|blockquote|pre|section|article)>|<br\s*/?>")


def html_lines(markup: str) -> list[str]:
    """The text of an HTML fragment, a line per block (a paragraph, a list
    item, a cell), so that the words of two blocks do not run together."""
    import lxml.html

    text = lxml.html.fromstring(BLOCK_END.sub("\n", markup)).text_content()
    return [line for line in (collapse(part) for part in text.split("\n")) if line]


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
