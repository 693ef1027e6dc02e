"""The extraction stage (pipelines/extract.py) on pages built here: which
pages read as articles, the canonical URL a page declares, and the metadata
it declares about itself."""

from __future__ import annotations

import html
import json

import lxml.html
import pytest

from crawler.bodies import Unreadable
from crawler.items import Page
from pipelines.declared import author_names, declared_canonical
from pipelines.extract import Extractor, block_overlap, disagree, prefers_block, readability_lines
from pipelines.worker_process import StatsDelta

URL = "https://www.northfield-echo.example/reviews/2024/folding-bike.html"

PARAGRAPHS = [
    "The Brompton-style folding bike we rode for a month around Northfield folds in twenty seconds, "
    "fits under a train seat and weighs a little over eleven kilograms with its mudguards and rack fitted.",
    "On the hill up from the station the three gears felt too few, but on the flat the ride was smooth "
    "and the small wheels held the road better than we expected on the wet cobbles of the market square.",
    "The hinge and the clamp are the parts that wear first on folding bikes, and both are made of forged "
    "steel here; after sixty folds a day for a month neither had any play, and nothing rattled on the way.",
    "At its price it is not cheap, but it costs less than a year of bus tickets, and the shop on Mill Lane "
    "will service it for free in its first year, which few others in town offer to anyone at all.",
]


def page_html(og_type: str | None = "article", head: str = "", links: int = 0) -> bytes:
    meta = f'<meta property="og:type" content="{og_type}">' if og_type else ""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in PARAGRAPHS)
    teasers = "".join(f'<p><a href="/reviews/{n}.html">Review number {n} of our long list of bikes</a></p>' for n in range(links))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Folding bike review | The Northfield Echo</title>{meta}{head}</head><body>
<nav><a href="/">Home</a> <a href="/reviews/">Reviews</a></nav>
<main><article><h1>Folding bike review</h1><div class="story-body">{paragraphs}{teasers}</div></article></main>
</body></html>""".encode()


def extract(body: bytes, *, check_og_type: bool = True, require_article: bool = True):
    extractor = Extractor(
        max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5, check_og_type=check_og_type
    )
    return extractor.extract(Page(url=URL, body=body, kind="html", require_article=require_article), StatsDelta())


# --- which pages are articles ---------------------------------------------


def test_page_fast_mode_finds_nothing_in_gets_the_full_mode(monkeypatch):
    def trafilatura(self, tree, url, *, fast, favor_precision=False):
        return real(self, tree, url, fast=fast, favor_precision=favor_precision) if not fast else (None, [])

    real = Extractor._trafilatura
    monkeypatch.setattr(Extractor, "_trafilatura", trafilatura)
    stats = StatsDelta()
    extractor = Extractor(max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5)
    article = extractor.extract(Page(url=URL, body=page_html(), kind="html"), stats)
    assert [p.text for p in article.paragraphs if p.text in PARAGRAPHS] == PARAGRAPHS
    assert stats.counts == {"sieve/extract/full_mode": 1}


def test_prose_page_whose_og_type_is_website_is_an_article():
    assert "The Brompton-style" in extract(page_html("website")).text


def test_page_whose_og_type_is_video_but_declares_its_publication_time_is_an_article():
    head = '<meta property="article:published_time" content="2024-05-02T09:00:00Z">'
    assert extract(page_html("video.other", head=head, links=6)).published == "2024-05-02T09:00:00Z"


def test_page_whose_og_type_is_website_with_much_link_text_is_not_an_article():
    with pytest.raises(Unreadable) as refused:
        extract(page_html("website", links=6))
    assert refused.value.reason == "not-an-article"
    assert "og:type is 'website'" in refused.value.detail


def test_the_same_page_declared_an_article_is_one():
    assert extract(page_html("article", links=6)).text


def test_og_type_is_not_read_when_the_check_is_off():
    assert extract(page_html("website", links=6), check_og_type=False).text


# --- the canonical URL a page declares -----------------------------------


def canonical_of(head: str, url: str = URL) -> str | None:
    return declared_canonical(lxml.html.fromstring(f"<html><head>{head}</head><body><p>x</p></body></html>"), url)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<link rel="canonical" href="https://www.northfield-echo.example/r/1">', "https://www.northfield-echo.example/r/1"),
        ('<link rel="Canonical" href="/r/1#top">', "https://www.northfield-echo.example/r/1"),
        ('<base href="/world/"><link rel="canonical" href="story">', "https://www.northfield-echo.example/world/story"),
        ('<meta property="og:url" content="https://www.northfield-echo.example/r/2">', "https://www.northfield-echo.example/r/2"),
        (
            '<meta property="og:url" content="https://www.northfield-echo.example/og"><link rel="canonical" href="/rel">',
            "https://www.northfield-echo.example/rel",
        ),
        ('<link rel="canonical" href="https://n.example/show.php?cid=7&amp;ref=home">', "https://n.example/show.php?cid=7&ref=home"),
        ('<link rel="alternate" hreflang="x-default" href="https://n.example/">', None),
        ('<base href="/world/">', None),
        ('<link rel="canonical" href="file:///etc/passwd">', None),
        ('<link rel="canonical" href="javascript:alert(1)">', None),
        ('<link rel="canonical" href="http://[::1">', None),
    ],
)
def test_declared_canonical_is_read_as_written(head, expected):
    assert canonical_of(head) == expected


# --- what a page declares about itself ------------------------------------


def test_description_image_section_and_tags_are_read_from_the_page():
    head = (
        '<meta name="description" content="A month on a folding bike.">'
        '<meta property="og:image" content="/img/bike.jpg">'
        '<meta property="article:section" content="Reviews">'
        '<meta property="article:tag" content="bikes"><meta property="article:tag" content="Commuting">'
        '<meta name="keywords" content="bikes, folding bikes,  ,commuting">'
    )
    article = extract(page_html(head=head))
    assert article.description == "A month on a folding bike."
    assert article.image == "https://www.northfield-echo.example/img/bike.jpg"
    assert article.section == "Reviews"
    assert article.tags == ["bikes", "Commuting", "folding bikes"]


def test_section_and_keywords_are_read_from_json_ld():
    data = {"@graph": [{"@type": "NewsArticle", "articleSection": ["Reviews", "Bikes"], "keywords": ["bikes", "town"]}]}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    article = extract(page_html(head=head))
    assert (article.section, article.tags) == ("Reviews", ["bikes", "town"])


def test_image_that_is_not_a_web_url_is_left_out():
    assert extract(page_html(head='<meta property="og:image" content="javascript:alert(1)">')).image is None


def test_tags_are_bounded():
    head = f'<meta name="keywords" content="{",".join(f"tag {n}" for n in range(500))},{"x" * 500}">'
    tags = extract(page_html(head=head)).tags
    assert tags == [f"tag {n}" for n in range(50)]


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("Greg Beacham; Ap Sports Writer", ["Greg Beacham"]),
        ("Ilana Muhlstein; MS; RDN", ["Ilana Muhlstein"]),
        ("Laura E Adkins December", ["Laura E Adkins"]),
        ("January", []),
        ("Ashok Pradhan; TNN; Apr 7", ["Ashok Pradhan"]),
        ("Maria Okafor; maria okafor", ["Maria Okafor"]),
        ("Associated Press", ["Associated Press"]),
    ],
)
def test_author_names_leave_out_job_titles_degrees_and_dates(field, names):
    assert author_names(field) == names


def test_authors_are_stored_as_a_list_and_joined_in_author():
    head = '<meta name="author" content="Greg Beacham; AP Sports Writer">'
    article = extract(page_html(head=head))
    assert (article.authors, article.author) == (["Greg Beacham"], "Greg Beacham")


# --- what extraction leaves to the audit ----------------------------------


def page_with_a_paragraph_printed(times: int) -> bytes:
    copies = f"<p>{html.escape(PARAGRAPHS[1])}</p>" * times
    body = f"<p>{html.escape(PARAGRAPHS[0])}</p>{copies}<p>{html.escape(PARAGRAPHS[2])}</p>"
    return page_html().replace(b'<div class="story-body">', f'<div class="story-body">{body}'.encode(), 1)


def test_every_copy_of_a_paragraph_printed_in_a_row_reaches_the_stages():
    article = extract(page_with_a_paragraph_printed(95))
    assert sum("three gears" in p.text for p in article.paragraphs) == 96  # the page's own copy, and 95 more


# --- language ----------------------------------------------------------------


def test_language_is_what_the_identifier_handed_in_says():
    extractor = Extractor(max_bytes=10_000, favor_precision=False, min_article_chars=400, max_link_density=0.5, identify_language=lambda text: "xx")
    page = Page(url="file:///x.txt", body=" ".join(PARAGRAPHS).encode(), kind="text")
    assert extractor.extract(page, StatsDelta()).language == "xx"


def test_stage_in_this_process_identifies_languages_with_sieves_model_not_py3langids_global(monkeypatch):
    from py3langid import langid

    from pipelines import language_model
    from pipelines.extract import ExtractPipeline
    from tests.helpers import project_crawler

    global_before = langid.IDENTIFIER
    stage = ExtractPipeline.from_crawler(project_crawler(SIEVE_WORKERS=0))
    stage.start()
    assert isinstance(language_model.identifier(), language_model.Identifier)
    assert langid.IDENTIFIER is global_before  # py3langid's own is left alone
    classified = []
    monkeypatch.setattr(language_model.Identifier, "classify", lambda self, text: classified.append(text) or ("en", 1.0))
    article = stage.process_item(Page(url="file:///x.txt", body=" ".join(PARAGRAPHS).encode(), kind="text"))
    assert (article.language, len(classified)) == ("en", 1)


def test_page_whose_title_is_never_closed_keeps_its_body():
    damaged = page_html().replace(b"</title>", b"", 1)
    article = extract(damaged, require_article=False)
    assert [p.text for p in article.paragraphs if p.text in PARAGRAPHS] == PARAGRAPHS
    assert article.title.startswith("Folding bike review")


# --- readability's block --------------------------------------------------

RELATED = [
    "Also in the news this week: the council's plan to close two libraries in the east of the city drew three hundred people to a meeting on Thursday night.",
    "And the ferry company says its new boats, ordered from a yard in Norway two years ago, will now arrive late next spring rather than this autumn.",
]


def test_block_is_preferred_where_the_text_holds_it_and_a_related_story_besides():
    assert prefers_block(*block_overlap(PARAGRAPHS + RELATED, PARAGRAPHS))


def test_block_is_not_preferred_where_the_two_agree():
    assert not prefers_block(*block_overlap(PARAGRAPHS, PARAGRAPHS))


def test_block_that_is_a_fragment_of_the_text_is_not_preferred():
    assert not prefers_block(*block_overlap(PARAGRAPHS * 3, PARAGRAPHS[:1]))


def test_block_of_another_part_of_the_page_is_not_preferred():
    assert not prefers_block(*block_overlap(PARAGRAPHS, RELATED + PARAGRAPHS[:1]))


def test_readability_block_replaces_the_fast_text_and_is_counted(monkeypatch):
    import pipelines.extract

    monkeypatch.setattr(pipelines.extract, "readability_lines", lambda tree: PARAGRAPHS[:3])
    stats = StatsDelta()
    extractor = Extractor(max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5)
    article = extractor.extract(Page(url=URL, body=page_html(), kind="html"), stats)
    assert [p.text for p in article.paragraphs] == PARAGRAPHS[:3]
    assert stats.counts["sieve/extract/readability_block"] == 1


def test_fast_text_and_block_of_different_parts_of_the_page_disagree():
    assert disagree(*block_overlap(PARAGRAPHS, RELATED))


def test_fast_text_and_block_sharing_a_paragraph_do_not_disagree():
    assert not disagree(*block_overlap(PARAGRAPHS, RELATED + PARAGRAPHS[:1]))


def test_disagreement_is_settled_by_trafilaturas_full_extraction_and_counted(monkeypatch):
    import pipelines.extract

    def trafilatura(self, tree, url, *, fast, favor_precision=False):
        calls.append((fast, favor_precision))
        return (real(self, tree, url, fast=True)[0], RELATED) if fast else real(self, tree, url, fast=False, favor_precision=favor_precision)

    calls: list[tuple[bool, bool]] = []
    real = Extractor._trafilatura
    monkeypatch.setattr(Extractor, "_trafilatura", trafilatura)
    monkeypatch.setattr(pipelines.extract, "readability_lines", lambda tree: PARAGRAPHS)
    stats = StatsDelta()
    extractor = Extractor(max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5)
    article = extractor.extract(Page(url=URL, body=page_html(), kind="html"), stats)
    assert calls == [(True, False), (False, True)]
    assert [p.text for p in article.paragraphs if p.text in PARAGRAPHS] == PARAGRAPHS
    assert not any(p.text in RELATED for p in article.paragraphs)
    assert stats.counts["sieve/extract/disagreement"] == 1


def test_readability_lines_are_the_articles_block_of_a_page():
    tree = lxml.html.fromstring(page_html(links=0))
    assert [line for line in readability_lines(tree) if line in PARAGRAPHS] == PARAGRAPHS
