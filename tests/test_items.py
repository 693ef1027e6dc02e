"""crawler.items: what the documents between stages look like in a log."""

from __future__ import annotations

from crawler.items import Article, Page, Paragraph


def test_page_repr_names_the_page_without_its_body():
    page = Page(url="https://news.test/a", body=b"word " * 200_000, kind="text")
    assert repr(page) == "Page(url='https://news.test/a', kind='text', body=<1000000 bytes>)"


def test_article_repr_names_the_article_without_its_text():
    article = Article(url="https://news.test/a", kind="html", source="news.test", paragraphs=[Paragraph(0, "word " * 100_000)])
    assert repr(article) == "Article(url='https://news.test/a', kind='html', paragraphs=<1>, removed=<0>)"
