"""What an HTML page declares about itself, read from its markup: its
canonical URL, when it was published, its section and tags (``<meta>``,
``<time itemprop="datePublished">``, JSON-LD), and the names in the author
field trafilatura gives. Hints, to be checked where they are used: a
canonical URL by the identity stage, a publication time against the range
of plausible times here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

from crawler.web_urls import is_web_url
from pipelines.text import collapse

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Where a page declares when it was published, best first: the <meta> tags
# (by attribute and lower-cased value), <time itemprop="datePublished">,
# then JSON-LD.
PUBLISHED_META = {
    ("property", "article:published_time"): 0,
    ("name", "article:published_time"): 0,
    ("itemprop", "datepublished"): 1,
    ("name", "pubdate"): 2,
    ("name", "publishdate"): 2,
    ("name", "date"): 2,
    ("name", "dc.date"): 2,
    ("name", "dc.date.issued"): 2,
}
PUBLISHED_TIME_RANK = 1
TAG_META = {("property", "article:tag"), ("name", "keywords"), ("name", "news_keywords")}
SECTION_META = {("property", "article:section"), ("name", "article:section")}
#: JSON-LD is parsed only when it holds one of these.
JSON_LD_NAMES = ("datePublished", "articleSection", "keywords")
#: How many tags an article keeps, and how long one may be: some pages list
#: hundreds of keywords, or put a paragraph in one.
MAX_TAGS = 50
MAX_TAG_CHARS = 100
#: A declared value longer than this is no date.
MAX_DATE_CHARS = 64
#: Publication times outside this range are errors of the page (a default
#: of the year 1 or 1970, a template's far future): htmldate's own floor.
EARLIEST_PUBLISHED = datetime(1995, 1, 1, tzinfo=timezone.utc)
LATEST_AHEAD = timedelta(days=1)

# Words of a job title or a byline's label, not of a name: "Greg Beacham;
# Ap Sports Writer", "News Desk".
JOB_WORDS = frozenset(
    "writer editor reporter correspondent columnist contributor contributing staff photographer producer "
    "critic analyst anchor intern journalist editorial desk bureau freelance".split()
)
MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# A degree or post-nominal: one short word with two capitals or more (MS, RDN, PhD, MBA).
DEGREE = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Za-z.]{2,6}$")
MAX_AUTHORS = 20
# A day in a URL's path, its parts separated alike or not at all.
URL_DAY = re.compile(r"/((?:19|20)\d\d)([/_-]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?=[/_.-]|$)")


def declared_canonical(tree: HtmlElement, page_url: str) -> str | None:
    """The canonical URL a page declares: its first ``<link
    rel="canonical">``, else its ``og:url``, resolved against the page's
    base URL, without a fragment; None unless that is an http(s) URL. Taken
    as written: trafilatura's reading of it also takes ``<base>``, hreflang
    links and ``twitter:url``, and cleans away parameters (``cid``, ``ref``)
    that tell stories apart."""
    link = og_url = base = None
    for element in tree.iter("link", "meta", "base"):
        if element.tag == "link":
            if link is None and "canonical" in (element.get("rel") or "").lower().split():
                link = element.get("href")
        elif element.tag == "meta":
            if og_url is None and (element.get("property") or "").strip().lower() == "og:url":
                og_url = element.get("content")
        elif base is None:
            base = element.get("href")
    declared = (link or og_url or "").strip()
    if not declared:
        return None
    try:
        url = urldefrag(urljoin(urljoin(page_url, (base or "").strip()), declared)).url
    except ValueError:
        return None
    return url if is_web_url(url) else None


@dataclass
class Declarations:
    #: Publication times as written, best first.
    published: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)


def declarations(tree: HtmlElement) -> Declarations:
    """The publication times, section and tags a page declares, in one pass
    over its ``<meta>``, ``<time>`` and ``<script>`` elements."""
    ranked: list[tuple[int, str]] = []
    sections: list[str] = []
    tags: list[str] = []
    json_ld: list[dict[str, Any]] = []
    for element in tree.iter("meta", "time", "script"):
        tag = element.tag
        if tag == "meta":
            value = element.get("content")
            if not value:
                continue
            for attribute in ("property", "name", "itemprop"):
                name = element.get(attribute)
                if not name:
                    continue
                key = (attribute, name.strip().lower())
                if (rank := PUBLISHED_META.get(key)) is not None:
                    ranked.append((rank, value))
                elif key in TAG_META:
                    tags.extend(value.split(","))
                elif key in SECTION_META:
                    sections.append(value)
                else:
                    continue
                break
        elif tag == "time":
            value = element.get("datetime")
            if value and (element.get("itemprop") or "").strip().lower() == "datepublished":
                ranked.append((PUBLISHED_TIME_RANK, value))
        elif (element.get("type") or "").strip().lower() == "application/ld+json":
            text = element.text
            if text and any(name in text for name in JSON_LD_NAMES):
                json_ld.extend(json_ld_objects(text))
    ranked.sort(key=lambda pair: pair[0])  # stable: document order within a rank
    published = [value for _, value in ranked]
    for node in json_ld:
        if isinstance(value := node.get("datePublished"), str):
            published.append(value)
        sections.extend(strings(node.get("articleSection")))
        keywords = node.get("keywords")
        tags.extend(keywords.split(",") if isinstance(keywords, str) else strings(keywords))
    section = next((s for s in map(collapse, sections) if s), None)
    return Declarations(published, section[:MAX_TAG_CHARS] if section else None, distinct(tags))


def json_ld_objects(text: str) -> list[dict[str, Any]]:
    """The objects of one JSON-LD script: itself, those of a list, those in
    an ``@graph``, breadth first. Not JSON: none."""
    try:
        # strict=False: raw line breaks inside strings are common in the wild.
        data = json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return []
    found: list[dict[str, Any]] = []
    pending = [data]
    for node in pending:  # grows as it goes
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            found.append(node)
            graph = node.get("@graph")
            if isinstance(graph, (list, dict)):
                pending.append(graph)
    return found


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def distinct(tags: list[str]) -> list[str]:
    """Tags once each (the first spelling), in order, none empty or over
    ``MAX_TAG_CHARS``, at most ``MAX_TAGS``."""
    kept: dict[str, str] = {}
    for tag in tags:
        tag = collapse(tag)
        if tag and len(tag) <= MAX_TAG_CHARS:
            kept.setdefault(tag.casefold(), tag)
            if len(kept) == MAX_TAGS:
                break
    return list(kept.values())


@dataclass
class Published:
    """When an article was published. ``sortable``: UTC, ``YYYY-MM-DDTHH:MM:SSZ``
    when the time and its offset are known, else the day, ``YYYY-MM-DD`` (so
    text order is time order, to the day). ``local``: as the page gives it,
    ISO 8601 to the second with the page's UTC offset (``+HH:MM``), or with
    none if it gives none, or the day alone: the day its readers saw."""

    sortable: str
    local: str


def parse_declared(value: str, now: datetime) -> datetime | date | None:
    """A declared publication time: ISO 8601 (basic or extended), RFC 2822
    (``Tue, 15 Sep 2020 10:00:00 EDT``) or ``YYYY/MM/DD HH:MM:SS``; a date
    alone is a :class:`date`. None for anything else, or outside the
    plausible range."""
    value = value.strip()
    if not value or len(value) > MAX_DATE_CHARS:
        return None
    moment: datetime | date | None = None
    for candidate in (value, value.replace("/", "-", 2)):
        try:
            moment = date.fromisoformat(candidate) if len(candidate) in (8, 10) else datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    if moment is None:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    day = moment if not isinstance(moment, datetime) else moment.date()
    if not EARLIEST_PUBLISHED.date() <= day <= (now + LATEST_AHEAD).date():
        return None
    return moment


def url_day(*urls: str | None) -> date | None:
    """The day in the first of ``urls`` that has one in its path
    (``/2020/02/17/``, ``/20200413/``): the site's own word for the day."""
    for url in urls:
        if url and (match := URL_DAY.search(url)):
            try:
                return date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:
                continue
    return None


def publication(
    declared: list[str], found_day: str | None, day_in_url: date | None = None, now: datetime | None = None
) -> Published | None:
    """The publication time of a page: the first plausible time it declares
    (a day alone takes the time of a later declared value on that same
    day), else ``found_day`` (trafilatura's or htmldate's ``YYYY-MM-DD``).

    Many sites declare their local time converted to UTC, whose day is not
    always the site's: the local form is then taken from a declaration of
    the same moment with its own offset, or else the day is the one in the
    URL (``day_in_url``) when that is a day before or after."""
    now = now or datetime.now(timezone.utc)
    moments = [m for m in (parse_declared(v, now) for v in declared) if m is not None]
    if moments:
        best = moments[0]
        if not isinstance(best, datetime):
            best = next((m for m in moments if isinstance(m, datetime) and m.date() == best), best)
    elif found_day:
        best = parse_declared(found_day, now)
    else:
        return None
    if best is None:
        return None
    if not isinstance(best, datetime):
        return Published(best.isoformat(), best.isoformat())
    local = best.replace(microsecond=0).isoformat()
    if best.tzinfo is None:
        return Published(best.date().isoformat(), local)
    if best.utcoffset() == timedelta(0):
        same_moment = (m for m in moments if isinstance(m, datetime) and m.tzinfo and m.utcoffset() and m == best)
        if (other := next(same_moment, None)) is not None:
            local = other.replace(microsecond=0).isoformat()
        elif day_in_url is not None and abs((day_in_url - best.date()).days) == 1:
            local = day_in_url.isoformat()
    return Published(best.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), local)


def author_names(author: str | None) -> list[str]:
    """The people trafilatura's author field names (``; `` between them),
    without job titles, degrees, and dates stuck to a name."""
    names: dict[str, str] = {}
    for part in (author or "").split(";"):
        words = [w for w in part.split() if w.strip(".,").casefold() not in MONTHS and not any(c.isdigit() for c in w)]
        if not words or (len(words) == 1 and DEGREE.match(words[0])):
            continue
        if any(w.strip(".,").casefold() in JOB_WORDS for w in words):
            continue
        name = " ".join(words)
        names.setdefault(name.casefold(), name)
        if len(names) == MAX_AUTHORS:
            break
    return list(names.values())
