"""A small news site for the web spider tests, and the HTTP server that serves it.

The Riverton Gazette: articles in a full template (navigation, sidebar,
share line, newsletter box, comments, footer), section and listing pages, a
sitemap index with a news sitemap and a gzipped page sitemap, RSS 2.0, Atom
and RDF feeds, a robots.txt that forbids /private/, a redirect, a 404, a 500,
a PDF and an image without file extensions, an oversize page and a page
declaring a canonical URL on another host. Every absolute URL points back at
the server itself on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = formatdate(1_710_000_000, usegmt=True)  # 2024-03-09


@dataclass
class Story:
    path: str
    title: str
    author: str
    date: str
    paragraphs: list[str]
    canonical: str | None = None


STORIES = [
    Story(
        "/news/council-approves-budget.html",
        "Council approves budget with three new bus routes",
        "Maria Okafor",
        "2024-03-12",
        [
            "Riverton's city council approved a $212 million budget on Tuesday night after a four-hour meeting, clearing the way for three new bus routes that will connect the east side to the hospital district for the first time.",
            "The vote was seven to two. Councillors Dana Whitfield and Omar Reyes voted against, arguing that the plan relies too heavily on a one-time transfer from the city's reserve fund.",
            "Transit director Helen Park told the council that the new routes would run every twenty minutes during the day and every forty minutes in the evening, starting in September.",
            "Property taxes will rise by one and a half percent, less than the finance department proposed in January. The full budget, including the annual report it draws on, is on the city's website.",
        ],
    ),
    Story(
        "/news/bridge-closure-extended.html",
        "Main Street bridge closure extended through May",
        "Tom Becker",
        "2024-03-04",
        [
            "The Main Street bridge will stay closed until the end of May while crews replace the steel bearings under its eastern span, the public works department said on Monday.",
            "Engineers found more corrosion than expected when they lifted the deck in February, and the replacement parts had to be made to order by a foundry in Ohio.",
            "Detours remain in place along Fourth Avenue. The city has added a shuttle bus for pedestrians that runs every fifteen minutes between the library and the train station.",
            "Shop owners on the west bank say the closure has cut their foot traffic by a third, and the chamber of commerce has asked the council for a temporary cut in parking fees.",
        ],
    ),
    Story(
        "/news/library-reopens.html",
        "Central library reopens after two-year renovation",
        "Aisha Bello",
        "2024-02-20",
        [
            "The Riverton Central Library reopened its doors on Saturday after a two-year renovation that added a children's wing, a recording studio and two hundred new seats for study.",
            "More than three thousand people came through the doors on the first day, according to head librarian Grace Lindqvist, who said the line at opening time reached the end of the block.",
            "The renovation cost eighteen million dollars, most of it from a bond that voters approved in 2021, with the rest raised by the library's foundation from local donors.",
            "The building's original reading room, with its painted ceiling from 1912, was restored by a team of conservators who spent six months on scaffolding cleaning the plaster by hand.",
        ],
        canonical="https://www.riverton-gazette.example/news/library-reopens",
    ),
    Story(
        "/news/flood-warning-lifted.html",
        "Flood warning lifted for the lower valley",
        "Tom Becker",
        "2024-03-15",
        [
            "The National Weather Service lifted its flood warning for the lower valley on Friday morning as the river fell below flood stage for the first time in nine days.",
            "At its crest on Tuesday the river reached 21 feet at the Riverton gauge, three feet above flood stage, and water covered parts of Levee Road and the fairgrounds parking lot.",
            "County emergency manager Luis Ortega said no homes were flooded this time, crediting the temporary barriers that crews installed along the north bank after last spring's damage.",
            "Residents can collect free sandbags at the county yard until the end of the month, and the county asks anyone with damage to report it through its website.",
        ],
    ),
    Story(
        "/sport/robotics-team-nationals.html",
        "High school robotics team heads to nationals",
        "Jenna Moss",
        "2024-03-10",
        [
            "Riverton High School's robotics team won the state championship on Sunday and will compete at the national finals in Houston next month for the first time in the school's history.",
            "The team's robot, nicknamed Otter, climbed the final obstacle with four seconds left in the last match to beat the defending champions from Cedar Falls by two points.",
            "Team captain Priya Nair said the students spent more than four hundred hours building and rebuilding the robot since January, often staying at school until nine at night.",
            "The team needs to raise twelve thousand dollars for travel and has started a fundraiser with a local pizza restaurant, which will donate a fifth of its sales next Thursday.",
        ],
    ),
    Story(
        "/sport/marathon-record.html",
        "Local runner breaks the Riverton marathon record",
        "Jenna Moss",
        "2023-10-08",
        [
            "Riverton native Samuel Ortiz won the city marathon on Sunday in two hours, eleven minutes and forty seconds, breaking a course record that had stood since 1998.",
            "Ortiz, a physical education teacher at Lincoln Middle School, ran most of the race alone after pulling away from a group of four runners near the twentieth mile.",
            "More than five thousand people finished the race, a record for the event, which raised two hundred thousand dollars for the children's hospital.",
            "Ortiz said he would rest for a month before deciding whether to try for the national trials next year, and thanked his students for cheering at the finish line.",
        ],
    ),
]

NAV = """<header class="masthead"><a class="logo" href="/">The Riverton Gazette</a>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news/">News</a></li><li><a href="/sport/">Sport</a></li><li><a href="/about/">About us</a></li></ul></nav></header>"""

FOOTER = """<footer><p>&copy; 2024 The Riverton Gazette. All rights reserved.</p>
<p><a href="/about/">About us</a> | <a href="/about/">Contact</a> | <a href="/about/">Advertise</a></p></footer>"""


def _page(title: str, body: str, *, og_type: str, head: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | The Riverton Gazette</title>
<meta property="og:type" content="{og_type}"><meta property="og:site_name" content="The Riverton Gazette">{head}
</head><body>{NAV}<main>{body}</main>{FOOTER}</body></html>"""


def _sidebar(exclude: str) -> str:
    links = "".join(f'<li><a href="{s.path}">{html.escape(s.title)}</a></li>' for s in STORIES if s.path != exclude)
    return f'<aside class="sidebar"><h3>Most read</h3><ol>{links}</ol></aside>'


def story_page(story: Story, extra_body: str = "") -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    head = f'<meta name="author" content="{story.author}"><meta property="article:published_time" content="{story.date}T08:00:00Z">'
    if story.canonical:
        head += f'<link rel="canonical" href="{story.canonical}">'
    body = f"""<article><h1>{html.escape(story.title)}</h1>
<p class="byline">By {story.author} &middot; {story.date}</p>
<div class="share">Share: <a href="#">Facebook</a> | <a href="#">X</a> | <a href="#">Email</a></div>
<div class="story-body">{paragraphs}{extra_body}</div>
<div class="newsletter"><h3>Get the morning briefing</h3><p>Sign up for our free newsletter.</p></div>
</article>
<section class="comments" id="comments"><h2>Comments (2)</h2>
<div class="comment"><p class="who">riverrat55</p><p>Great reporting as always, thanks for keeping us informed about what happens in town.</p></div>
<div class="comment"><p class="who">taxpayer_joe</p><p>I will believe it when I see it. Every year they promise and every year nothing changes.</p></div>
</section>{_sidebar(story.path)}"""
    return _page(story.title, body, og_type="article", head=head)


def listing_page(title: str, stories: list[Story], extra_links: str = "") -> str:
    items = "".join(
        f'<li><h2><a href="{s.path}">{html.escape(s.title)}</a></h2><p>{s.date}</p></li>' for s in stories
    )
    return _page(title, f"<h1>{html.escape(title)}</h1><ul class='teasers'>{items}</ul>{extra_links}", og_type="website")


def _news_sitemap(base: str) -> str:
    urls = "".join(
        f"<url><loc>{base}{s.path}</loc><news:news><news:publication><news:name>The Riverton Gazette</news:name>"
        f"<news:language>en</news:language></news:publication><news:publication_date>{s.date}</news:publication_date>"
        f"<news:title>{html.escape(s.title)}</news:title></news:news></url>"
        for s in STORIES
        if s.path.startswith("/news/")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    )


def _pages_sitemap(base: str) -> str:
    entries = [("/", "2024-03-15"), ("/news/", "2024-03-15"), ("/sport/", "2024-03-10")]
    entries += [(s.path, s.date) for s in STORIES if s.path.startswith("/sport/")]
    urls = "".join(f"<url><loc>{base}{path}</loc><lastmod>{date}</lastmod></url>" for path, date in entries)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def _rss(base: str) -> str:
    items = "".join(
        f"<item><title>{html.escape(s.title)}</title><link>{base}{s.path}</link>"
        f"<pubDate>{_rfc(s.date)}</pubDate></item>"
        for s in STORIES
        if s.path.startswith("/news/")
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Riverton Gazette: News</title><link>{base}/news/</link>{items}</channel></rss>'


def _rfc(date: str) -> str:
    moment = datetime.fromisoformat(date).replace(hour=8, tzinfo=timezone.utc)
    return formatdate(moment.timestamp(), usegmt=True)


def _atom(base: str) -> str:
    entries = "".join(
        f'<entry><title>{html.escape(s.title)}</title><link rel="alternate" href="{s.path}"/>'
        f"<id>{base}{s.path}</id><updated>{s.date}T08:00:00Z</updated></entry>"
        for s in STORIES
        if s.path.startswith("/sport/")
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/">'
        f"<title>Riverton Gazette: Sport</title><updated>2024-03-10T08:00:00Z</updated>{entries}</feed>"
    )


def _rdf(base: str) -> str:
    items = "".join(
        f'<item rdf:about="{base}{s.path}"><title>{html.escape(s.title)}</title><link>{base}{s.path}</link>'
        f"<dc:date>{s.date}</dc:date></item>"
        for s in STORIES
    )
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="{base}/feeds/all.rdf"><title>Riverton Gazette</title></channel>{items}</rdf:RDF>'
    )


@dataclass
class Resource:
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


#: Paths the site links to that cannot be stored, and why.
ODD_PATHS = {
    "/private/staff-notes.html": "robots-denied",
    "/news/missing-story.html": "http-404",
    "/news/broken-story.html": "http-500",
    "/download/annual-report": "unsupported-type",
    "/media/photo": "unsupported-type",
    "/feeds/news.xml": "unsupported-type",
    "/news/archive-full.html": "too-large",
}
#: Bytes of the oversize page; tests set SIEVE_MAX_BYTES below it.
OVERSIZE = 600_000


#: A story without a canonical link of its own, also served as an AMP page.
AMP_STORY = next(story for story in STORIES if not story.canonical)


def build_site(base: str) -> dict[str, Resource]:
    news = [s for s in STORIES if s.path.startswith("/news/")]
    sport = [s for s in STORIES if s.path.startswith("/sport/")]
    odd = (
        '<p><a href="/private/staff-notes.html">Staff notes</a> <a href="/old/flood-warning">Flood warning (old link)</a> '
        '<a href="/download/annual-report">Annual report</a> <a href="/media/photo">Photo of the day</a> '
        '<a href="/feeds/news.xml">RSS</a> <a href="/news/archive-full.html">Full archive</a> '
        '<a href="http://elsewhere.invalid/story.html">Elsewhere</a></p>'
    )
    site = {
        "/": Resource(body=listing_page("Riverton news, sport and weather", STORIES[:3], odd).encode()),
        "/news/": Resource(
            body=listing_page(
                "News",
                news,
                '<p><a href="/news/page/2/">Older stories</a> <a href="/news/missing-story.html">Missing</a> '
                '<a href="/news/broken-story.html">Broken</a></p>',
            ).encode()
        ),
        "/news/page/2/": Resource(body=listing_page("News, page 2", news[2:]).encode()),
        "/sport/": Resource(body=listing_page("Sport", sport).encode()),
        "/about/": Resource(body=_page("About us", "<h1>About us</h1><p>Local news since 1887.</p>", og_type="website").encode()),
        "/private/staff-notes.html": Resource(body=_page("Staff notes", "<p>Not for crawlers.</p>", og_type="article").encode()),
        "/news/broken-story.html": Resource(status=500, body=b"<h1>Internal Server Error</h1>"),
        "/download/annual-report": Resource(content_type="application/pdf", body=b"%PDF-1.7\n% annual report\n"),
        "/media/photo": Resource(content_type="image/jpeg", body=b"\xff\xd8\xff\xe0" + bytes(500)),
        "/old/flood-warning": Resource(status=301, headers={"Location": f"{base}/news/flood-warning-lifted.html"}),
        "/robots.txt": Resource(
            content_type="text/plain",
            body=f"User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap_index.xml\n".encode(),
        ),
        "/sitemap_index.xml": Resource(
            content_type="application/xml",
            body=(
                '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{base}/sitemaps/news.xml</loc><lastmod>2024-03-15</lastmod></sitemap>"
                f"<sitemap><loc>{base}/sitemaps/pages.xml.gz</loc><lastmod>2024-03-15</lastmod></sitemap>"
                "</sitemapindex>"
            ).encode(),
        ),
        "/sitemaps/news.xml": Resource(content_type="application/xml", body=_news_sitemap(base).encode()),
        "/sitemaps/pages.xml.gz": Resource(content_type="application/x-gzip", body=gzip.compress(_pages_sitemap(base).encode(), mtime=0)),
        "/feeds/news.xml": Resource(content_type="application/rss+xml", body=_rss(base).encode()),
        "/feeds/sport.atom": Resource(content_type="application/atom+xml", body=_atom(base).encode()),
        "/feeds/all.rdf": Resource(content_type="application/rdf+xml", body=_rdf(base).encode()),
    }
    for story in STORIES:
        extra = '<p>Read <a href="/download/annual-report">the annual report</a>.</p>' if story is STORIES[0] else ""
        site[story.path] = Resource(body=story_page(story, extra).encode())
    # The AMP edition of a story (linked from nowhere) declares the story as its canonical URL.
    amp = AMP_STORY
    site[f"/amp{amp.path}"] = Resource(body=story_page(replace(amp, canonical=f"{base}{amp.path}")).encode())
    filler = "".join(f"<p>Archived story number {i}: nothing to see here, just filler text.</p>" for i in range(OVERSIZE // 70))
    site["/news/archive-full.html"] = Resource(body=_page("Archive", filler, og_type="website").encode())
    return site


class LoopbackServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1, on a free port, serving from a thread."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class SiteServer(LoopbackServer):
    """Serves ``build_site`` on 127.0.0.1, with ETag and Last-Modified on
    every page and conditional requests answered with 304; keeps a log of
    the requests it answered."""

    def __init__(self, builder: Callable[[str], dict[str, Resource]] = build_site) -> None:
        super().__init__(_Handler)
        self.resources = builder(self.base)
        self.log: list[tuple[str, str, dict[str, str]]] = []
        #: Seconds each answer takes, and the most requests answered at once
        #: (robots.txt aside), to see a crawl's concurrency from the server.
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        #: When each request (robots.txt aside) arrived (time.monotonic()).
        self.request_times: list[float] = []

    def paths_requested(self) -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.log]


class _Handler(BaseHTTPRequestHandler):
    server: SiteServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stderr
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        with server.lock:
            server.log.append(("GET", self.path, dict(self.headers.items())))
            counted = self.path != "/robots.txt"
            if counted:
                server.request_times.append(time.monotonic())
            server.in_flight += counted
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if server.delay:
                time.sleep(server.delay)
            self._answer()
        finally:
            with server.lock:
                server.in_flight -= counted

    def _answer(self) -> None:
        resources = self.server.resources
        resource = resources.get(self.path) or resources.get(self.path.split("?", 1)[0])
        if resource is None:
            self._send(404, "text/html; charset=utf-8", b"<h1>Not found</h1>", {})
            return
        headers = dict(resource.headers)
        if resource.status == 200:
            etag = '"' + hashlib.sha1(resource.body).hexdigest()[:16] + '"'
            headers.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
            if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-Modified-Since") and "If-None-Match" not in self.headers
                and parsedate_to_datetime(self.headers["If-Modified-Since"]) >= parsedate_to_datetime(LAST_MODIFIED)
            ):
                self._send(304, None, b"", headers)
                return
        self._send(resource.status, resource.content_type, resource.body, headers)

    def _send(self, status: int, content_type: str | None, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
