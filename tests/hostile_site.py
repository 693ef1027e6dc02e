"""A web server on 127.0.0.1 that misbehaves on purpose, for the tests of
what Sieve refuses (tests/test_hostile.py): sitemaps naming local files,
endless sitemap chains, compression bombs, bodies without a length,
redirect loops, pages with thousands of links, pages that pass themselves
off as another site's."""

from __future__ import annotations

import gzip
import random
import zlib
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.fixture_site import LoopbackServer

#: Large enough to pass any limit the tests set (they use SIEVE_MAX_BYTES=200000).
BOMB_BYTES = 5_000_000
ARTICLE = (
    "<html><head><title>Harbour reopens</title><meta property='og:type' content='article'></head><body><article>"
    "<h1>Harbour reopens</h1>"
    + "".join(
        f"<p>The harbour reopened on Saturday after repairs to the sea wall, paragraph {i}, and the ferry resumed "
        "its crossings with a full load of cars, cyclists and foot passengers bound for the island.</p>"
        for i in range(6)
    )
    + "</article></body></html>"
)


#: A paragraph of the victim's story that copycat pages copy.
COPIED = (
    "The council will vote on the harbour plan in March, after three public meetings at which residents can "
    "question the engineers who drew up the designs for the new sea wall."
)
VOCABULARY = (
    "council budget river bridge library school station market harbour festival mayor police court hospital museum "
    "stadium airport railway factory garden theatre bakery village county teacher doctor farmer engineer student "
    "reporter approved opened closed delayed rebuilt cancelled announced expanded visited"
)
TOPICS = ["library", "stadium", "railway", "museum", "bakery", "hospital", "theatre", "airport"]


def story_with(paragraph: str, topic: str, head: str = "") -> bytes:
    """A story about ``topic`` with ``paragraph`` in the middle."""
    words = VOCABULARY.split()
    random.Random(topic).shuffle(words)
    own = [f"The {topic} " + " ".join(words[i * 12 : i * 12 + 12]) + "." for i in range(4)]
    body = "".join(f"<p>{text}</p>" for text in [*own[:2], paragraph, *own[2:]])
    return (
        f"<html><head><title>The {topic} budget</title><meta property='og:type' content='article'>{head}</head>"
        f"<body><article><h1>The {topic} budget</h1>{body}</article></body></html>"
    ).encode()


def sitemap_index(urls: list[str]) -> bytes:
    entries = "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in urls)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'.encode()


def urlset(urls: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'.encode()


class HostileServer(LoopbackServer):
    def __init__(self, local_sitemap: str = "file:///nonexistent/sitemap.xml") -> None:
        super().__init__(_Handler)
        self.local_sitemap = local_sitemap
        self.log: list[str] = []

    def requested(self, prefix: str = "") -> list[str]:
        with self.lock:
            return [path for path in self.log if path.startswith(prefix)]


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stderr
        pass

    def send(self, status: int, body: bytes = b"", content_type: str = "text/html", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with self.server.lock:
            self.server.log.append(self.path)
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        base = self.server.base
        if path == "/robots.txt":
            self.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif path == "/evil/robots.txt":
            body = f"User-agent: *\nSitemap: file:///etc/passwd\nSitemap: {self.server.local_sitemap}\n"
            self.send(200, body.encode(), "text/plain")
        elif path == "/file-index.xml":
            self.send(200, sitemap_index(["file:///etc/passwd", self.server.local_sitemap]), "application/xml")
        elif path == "/file-urlset.xml":
            self.send(200, urlset(["file:///etc/passwd", f"{base}/article.html"]), "application/xml")
        elif path == "/chain.xml":
            n = int(query.get("n", ["0"])[0])
            self.send(200, sitemap_index([f"{base}/chain.xml?n={n + 1}"]), "application/xml")
        elif path == "/bomb-index.xml":
            self.send(200, sitemap_index([f"{base}/bomb.xml.gz", f"{base}/article-urlset.xml"]), "application/xml")
        elif path == "/article-urlset.xml":
            self.send(200, urlset([f"{base}/article.html"]), "application/xml")
        elif path == "/bomb.xml.gz":
            self.send(200, gzip.compress(b" " * BOMB_BYTES), "application/gzip")
        elif path == "/article.html":
            self.send(200, ARTICLE.encode())
        elif path == "/canonical-file.html":
            page = ARTICLE.replace("<head>", "<head><link rel='canonical' href='file:///etc/passwd'>")
            self.send(200, page.encode())
        elif path == "/victim.html":
            self.send(200, story_with(COPIED, "harbour"))
        elif path.startswith("/copycat/"):
            # Served under another host name; each claims to be a story of this one.
            n = int(path.rsplit("/", 1)[1])
            self.send(200, story_with(COPIED, TOPICS[n], f"<link rel='canonical' href='{base}/story-{n}.html'>"))
        elif path == "/many-links.html":
            links = "".join(f"<a href='/link/{i}.html'>story {i}</a> " for i in range(int(query.get("count", ["5000"])[0])))
            self.send(200, f"<html><body><p>{links}</p></body></html>".encode())
        elif path.startswith("/link/"):
            self.send(404, b"gone")
        elif path.startswith("/bomb/"):
            self.send_bomb(path.removeprefix("/bomb/"))
        elif path == "/no-length.html":
            # Close-delimited: no Content-Length, the body ends when the connection does.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for _ in range(BOMB_BYTES // 10_000):
                    self.wfile.write(b"<p>" + b"x" * 9_993 + b"</p>")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/loop-a":
            self.send(302, Location=f"{base}/loop-b")
        elif path == "/loop-b":
            self.send(302, Location=f"{base}/loop-a")
        elif path == "/self":
            self.send(301, Location="/self")
        elif path == "/chain-redirect":
            n = int(query.get("n", ["0"])[0])
            self.send(302, Location=f"/chain-redirect?n={n + 1}")
        elif path == "/to-file":
            self.send(302, Location="file:///etc/passwd")
        elif path == "/feed.xml":
            items = "".join(
                f"<item><title>{link}</title><link>{link}</link></item>" for link in ["file:///etc/passwd", f"{base}/article.html"]
            )
            self.send(200, f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode(), "application/rss+xml")
        else:
            self.send(404, b"not here")

    def send_bomb(self, encoding: str) -> None:
        data = b"<p>" + b"a" * BOMB_BYTES + b"</p>"
        if encoding == "gzip":
            body = gzip.compress(data)
        elif encoding == "deflate":
            body = zlib.compress(data)
        elif encoding == "br":
            import brotli

            body = brotli.compress(data)
        elif encoding == "zstd":
            import zstandard

            body = zstandard.ZstdCompressor().compress(data)
        else:
            self.send(404)
            return
        self.send(200, body, Content_Encoding=encoding)
