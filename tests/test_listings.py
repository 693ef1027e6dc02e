"""crawler.listings: sitemaps, feeds, dates and URL list files, read in-process."""

from __future__ import annotations

import pytest

from crawler.errors import SpiderArgumentError
from crawler.listings import Entry, date_argument, feed_entries, iso_date, read_url_list, sitemap_entries

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://gazette.example/sitemap-news.xml</loc><lastmod>2024-03-01T10:00:00+02:00</lastmod></sitemap>
  <sitemap><loc>https://gazette.example/sitemap-archive.xml</loc></sitemap>
</sitemapindex>"""

NEWS_URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://gazette.example/news/library-reopens</loc>
    <news:news>
      <news:publication><news:name>Gazette</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-03-05T08:30:00-05:00</news:publication_date>
      <news:title>Library reopens</news:title>
    </news:news>
  </url>
  <url><loc>https://gazette.example/news/bus-route</loc><lastmod>2024-03-04</lastmod></url>
  <url><loc>https://gazette.example/about</loc></url>
</urlset>"""

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Gazette</title><link>https://gazette.example/</link>
  <item><title>A</title><link>https://gazette.example/news/a</link>
    <pubDate>Tue, 05 Mar 2024 08:30:00 +0100</pubDate></item>
  <item><title>B</title><guid isPermaLink="true">https://gazette.example/news/b</guid></item>
  <item><title>C</title><guid isPermaLink="false">tag:gazette.example,2024:c</guid></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Gazette</title>
  <entry><title>A</title><link rel="edit" href="/admin/a"/><link rel="alternate" href="/news/a"/>
    <updated>2024-03-05T08:30:00+01:00</updated></entry>
  <entry><title>B</title><link href="b.html"/></entry>
  <entry><title>C</title><link rel="enclosure" href="/podcast/c.mp3"/></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://gazette.example/"><title>Gazette</title><link>https://gazette.example/</link></channel>
  <item rdf:about="https://gazette.example/news/a"><title>A</title><link>https://gazette.example/news/a</link>
    <dc:date>2024-03-05T08:30:00Z</dc:date></item>
</rdf:RDF>"""

HTML = b"<!DOCTYPE html><html><head><title>Gazette</title></head><body><p>News</p></body></html>"


def test_sitemap_index_lists_sitemaps():
    kind, entries = sitemap_entries(SITEMAP_INDEX)
    assert kind == "sitemapindex"
    assert [e.url for e in entries] == [
        "https://gazette.example/sitemap-news.xml",
        "https://gazette.example/sitemap-archive.xml",
    ]


def test_urlset_lists_pages():
    kind, entries = sitemap_entries(NEWS_URLSET)
    assert kind == "urlset"
    assert [e.url for e in entries] == [
        "https://gazette.example/news/library-reopens",
        "https://gazette.example/news/bus-route",
        "https://gazette.example/about",
    ]


def test_lastmod_becomes_a_utc_iso_date():
    _, entries = sitemap_entries(SITEMAP_INDEX)
    assert [e.date for e in entries] == ["2024-03-01T08:00:00Z", None]


def test_news_publication_date_becomes_a_utc_iso_date():
    _, entries = sitemap_entries(NEWS_URLSET)
    assert [e.date for e in entries] == ["2024-03-05T13:30:00Z", "2024-03-04T00:00:00Z", None]


@pytest.mark.parametrize(
    "body", [RSS, HTML, b"\x00\x01\x02 not xml \xff\xfe", b""], ids=["other-xml", "html", "not-xml", "empty"]
)
def test_not_a_sitemap_gives_nothing(body):
    assert sitemap_entries(body) == ("", [])


def test_rss_items_by_link_and_permalink_guid():
    assert feed_entries(RSS, "https://gazette.example/feed.xml") == [
        Entry("https://gazette.example/news/a", "2024-03-05T07:30:00Z"),
        Entry("https://gazette.example/news/b", None),
    ]


def test_atom_entries_by_alternate_link_joined_to_the_base():
    assert feed_entries(ATOM, "https://gazette.example/feeds/atom.xml") == [
        Entry("https://gazette.example/news/a", "2024-03-05T07:30:00Z"),
        Entry("https://gazette.example/feeds/b.html", None),
    ]


def test_rdf_items():
    assert feed_entries(RDF, "https://gazette.example/index.rdf") == [
        Entry("https://gazette.example/news/a", "2024-03-05T08:30:00Z")
    ]


@pytest.mark.parametrize("body", [HTML, NEWS_URLSET, b"plain words", b""], ids=["html", "sitemap", "text", "empty"])
def test_not_a_feed_gives_none(body):
    assert feed_entries(body, "https://gazette.example/") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tue, 05 Mar 2024 08:30:00 GMT", "2024-03-05T08:30:00Z"),
        ("Tue, 05 Mar 2024 08:30:00 -0500", "2024-03-05T13:30:00Z"),
        ("2024-03-05T08:30:00+01:00", "2024-03-05T07:30:00Z"),
        ("2024-03-05T08:30:00Z", "2024-03-05T08:30:00Z"),
        ("2024-03-05T08:30+01:00", "2024-03-05T07:30:00Z"),
        ("2024-03-05", "2024-03-05T00:00:00Z"),
    ],
)
def test_iso_date_reads_rfc822_and_w3c_dates(text, expected):
    assert iso_date(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-13-45", "", None])
def test_iso_date_of_garbage_is_none(text):
    assert iso_date(text) is None


def test_url_list_drops_comments_and_blank_lines(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text(
        "\ufeff# seeds for the gazette\nhttps://gazette.example/a\n\n   \n"
        "  # indented comment\n  https://gazette.example/b  \n",
        encoding="utf-8",
    )
    assert read_url_list(str(path)) == ["https://gazette.example/a", "https://gazette.example/b"]


def test_missing_url_list_is_an_argument_error(tmp_path):
    with pytest.raises(SpiderArgumentError, match="no such file"):
        read_url_list(str(tmp_path / "missing.txt"))


def test_date_argument_rejects_a_year_naming_the_argument():
    with pytest.raises(SpiderArgumentError, match=r"^since must be a date as YYYY-MM-DD, not '2024'$"):
        date_argument("since", "2024")


def test_date_argument_accepts_a_date():
    assert date_argument("since", "2024-03-05") == "2024-03-05"
    assert date_argument("since", None) is None


def test_date_argument_rejects_an_impossible_date():
    with pytest.raises(SpiderArgumentError, match="since"):
        date_argument("since", "2024-02-30")
