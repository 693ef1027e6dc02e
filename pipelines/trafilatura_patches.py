"""Every change Sieve makes to how trafilatura (and lxml under it) works, in
one place. Each was written against the versions in :data:`TARGETS` and has
a guard in tests/test_trafilatura_patches.py that fails when the library
changes under it; none is installed by importing this module.

Process-wide, installed by :func:`install` where a process starts to
extract (the worker processes, or the crawl's process with
``SIEVE_WORKERS=0``):

- ``element_classes_in_c``: trafilatura's HTML parser asks a Python method
  (``lxml.html.HtmlElementClassLookup``) for the class of every element
  Python code touches, about 2,500 a page counting the copies of the tree.
  The same classes come from lxml's own lookups, in C, filled from lxml's
  table of HTML element classes (its private ``_default_element_classes``:
  lxml has no public list of them).

For the length of one extraction (:func:`extraction`), since a worker
extracts one page at a time, on one thread, and other code in the process
(a benchmark's baseline) must see trafilatura unchanged:

- ``lean_metadata``: trafilatura looks for categories, tags and a licence
  in every page (a tenth of extraction's time); Sieve stores none, and
  trafilatura has no switch for them: they answer "none". Its author
  fallback copies the tree and runs regular expressions in XPath on a page
  declaring no author: :mod:`pipelines.author_fallback` gives the same
  answers for less.
- ``every_copy_kept``: ``extract_content`` drops an element repeating the
  one before it when longer than ``MIN_DUPLICATE_LENGTH``, even with
  ``deduplicate`` off, and says nothing: a paragraph printed 95 times in a
  row came out once, with no trace of the other 94. That limit is put out
  of reach so every copy reaches the repeat stage, which records each;
  ``recover_wild_text`` reads the same limit to skip what the main pass took
  (its own copies, not the page's) and keeps the original.

And :func:`load_html`: trafilatura's ``load_html`` without its pass over the
page for ``INVALID_XML_CHARS``, which :func:`pipelines.decoding.decode` has
removed already (0.45 ms a page).

Upstream: none of these works around a bug. The first and the last make
trafilatura faster without changing what it returns; the two of
:func:`extraction` stand in for options trafilatura does not have (which
metadata to look for; its consecutive-duplicate filter), and an option for
each, if trafilatura takes one, would replace them. What is stored does not
change with the speed-ups (checked on the 905 benchmark pages: every table
identical).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml.html import HtmlElement

#: The versions each patch was written and checked against: the guards
#: test the internals they rely on, not only these numbers.
TARGETS = {"trafilatura": "2.3.1", "lxml": "6.1"}


def install() -> None:
    """What extraction changes for the whole process; once is enough."""
    element_classes_in_c()


@functools.cache
def element_classes_in_c() -> None:
    from lxml import etree, html
    from trafilatura.utils import HTML_PARSER

    lookup = etree.ElementNamespaceClassLookup(
        etree.ElementDefaultClassLookup(
            element=html.HtmlElement, comment=html.HtmlComment, pi=html.HtmlProcessingInstruction, entity=html.HtmlEntity
        )
    )
    namespace = lookup.get_namespace(None)
    for tag, element_class in html.HtmlElementClassLookup._default_element_classes.items():
        namespace[tag] = element_class
    HTML_PARSER.set_element_class_lookup(lookup)


@contextlib.contextmanager
def extraction() -> Iterator[None]:
    """trafilatura as Sieve extracts with it, for one ``bare_extraction``."""
    with lean_metadata(), every_copy_kept():
        yield


@contextlib.contextmanager
def lean_metadata() -> Iterator[None]:
    import trafilatura.metadata as metadata

    from pipelines import author_fallback

    saved = metadata.extract_catstags, metadata.extract_license, metadata.extract_author
    metadata.extract_catstags = _no_categories_or_tags
    metadata.extract_license = _no_licence
    metadata.extract_author = author_fallback.extract_author
    try:
        yield
    finally:
        metadata.extract_catstags, metadata.extract_license, metadata.extract_author = saved


def _no_categories_or_tags(metatype: str, tree: HtmlElement) -> list[str]:
    return []


def _no_licence(tree: HtmlElement) -> None:
    return None


@contextlib.contextmanager
def every_copy_kept() -> Iterator[None]:
    from trafilatura import main_extractor

    limit, recover = main_extractor.MIN_DUPLICATE_LENGTH, main_extractor.recover_wild_text

    def recover_with_its_limit(*args: Any, **kwargs: Any) -> Any:
        main_extractor.MIN_DUPLICATE_LENGTH = limit
        try:
            return recover(*args, **kwargs)
        finally:
            main_extractor.MIN_DUPLICATE_LENGTH = sys.maxsize

    main_extractor.MIN_DUPLICATE_LENGTH, main_extractor.recover_wild_text = sys.maxsize, recover_with_its_limit
    try:
        yield
    finally:
        main_extractor.MIN_DUPLICATE_LENGTH, main_extractor.recover_wild_text = limit, recover


class _NothingLeftToRemove:
    """Stands in for ``INVALID_XML_CHARS`` in :func:`load_html`."""

    @staticmethod
    def sub(replacement: str, text: str) -> str:
        return text


def load_html(html: str) -> HtmlElement | None:
    """trafilatura's ``load_html`` (its repairs, its checks) of a page from
    :func:`~pipelines.decoding.decode`."""
    from trafilatura import utils

    saved = utils.INVALID_XML_CHARS
    utils.INVALID_XML_CHARS = _NothingLeftToRemove
    try:
        return utils.load_html(html)
    finally:
        utils.INVALID_XML_CHARS = saved
