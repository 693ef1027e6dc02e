"""The cleaning stage's rules, one behaviour per test, and its properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.items import Article, Paragraph, Skipped
from pipelines.clean import BoilerplateCleaner, CleanPipeline
from pipelines.text import split_paragraphs
from tests.helpers import project_crawler

BODY_1 = "The city council met on Tuesday to debate the budget for the coming year."
BODY_2 = "After four hours of debate, the members approved the plan by seven votes to two."
BODY_3 = "The new budget takes effect in July, and the first bus routes open in September."


def clean(text: str, *, plain_text: bool = True, title: str | None = None, patterns=()) -> Article:
    paragraphs = [Paragraph(i, p) for i, p in enumerate(split_paragraphs(text))]
    article = Article(url="file:///x.txt", kind="text" if plain_text else "html", source="x", paragraphs=paragraphs, title=title)
    BoilerplateCleaner(patterns).clean(article, plain_text=plain_text)
    return article


def kept(article: Article) -> list[str]:
    return [p.text for p in article.paragraphs]


def reasons(article: Article) -> dict[str, str]:
    return {r.text: r.reason for r in article.removed}


def test_short_kicker_above_the_headline_is_removed():
    article = clean(f"Advertisement\n\nCouncil passes the budget after long night\n\n{BODY_1}\n\n{BODY_2}")
    assert article.title == "Council passes the budget after long night"
    assert reasons(article) == {"Advertisement": "boilerplate"}
    assert kept(article) == [BODY_1, BODY_2]


def test_the_longest_headline_shaped_line_is_the_title_not_a_short_label():
    article = clean(f"Latest Local News\n\nCouncil passes the budget after a long night of debate\n\n{BODY_1}")
    assert article.title == "Council passes the budget after a long night of debate"
    assert reasons(article) == {"Latest Local News": "boilerplate"}


def test_text_that_starts_with_prose_has_no_title():
    article = clean(f"{BODY_1}\n\n{BODY_2}")
    assert article.title is None
    assert kept(article) == [BODY_1, BODY_2]


def test_short_lines_after_the_last_paragraph_are_removed():
    article = clean(f"{BODY_1}\n\n{BODY_2}\n\nRead more\n\n12 comments")
    assert kept(article) == [BODY_1, BODY_2]
    assert reasons(article) == {"Read more": "boilerplate", "12 comments": "boilerplate"}


def test_trailing_heading_with_nothing_under_it_is_removed():
    article = clean(f"{BODY_1}\n\n{BODY_2}\n\nRelated posts:")
    assert kept(article) == [BODY_1, BODY_2]
    assert reasons(article) == {"Related posts:": "dangling-heading"}


def test_long_trailing_lead_in_with_nothing_after_it_is_removed():
    lead_in = "Here is what the company said in its statement to investors on Monday morning, in full:"
    article = clean(f"{BODY_1}\n\n{BODY_2}\n\n{lead_in}", plain_text=False)
    assert kept(article) == [BODY_1, BODY_2]
    assert reasons(article) == {lead_in: "dangling-heading"}


def test_prose_paragraph_ending_with_a_colon_is_kept_as_the_articles():
    # 21 words and more is prose (rule 6): a lead-in to an embedded video, not a heading.
    lead_in = "The mayor answered the questions of residents for an hour on Tuesday night, and the exchange that everyone is talking about is below:"
    article = clean(f"{BODY_1}\n\n{BODY_2}\n\n{lead_in}", plain_text=False)
    assert kept(article) == [BODY_1, BODY_2, lead_in]


def test_subheading_between_paragraphs_is_kept():
    article = clean(f"{BODY_1}\n\nWhat happens next\n\n{BODY_2}")
    assert kept(article) == [BODY_1, "What happens next", BODY_2]


def test_heading_that_introduces_a_list_is_kept_with_its_list():
    text = f"{BODY_1}\nThe plan includes:\n- three new bus routes to the hospital\n- a raise of three percent for staff\n- eleven miles of repaved roads"
    article = clean(text)
    assert kept(article)[1:] == [
        "The plan includes:",
        "- three new bus routes to the hospital",
        "- a raise of three percent for staff",
        "- eleven miles of repaved roads",
    ]
    assert article.removed == []


def test_navigation_list_at_the_top_is_removed():
    article = clean(f"- Home\n- News\n- Sport\n\n{BODY_1}\n\n{BODY_2}")
    assert kept(article) == [BODY_1, BODY_2]
    assert set(reasons(article)) == {"- Home", "- News", "- Sport"}


def test_menu_line_is_removed_even_between_paragraphs():
    article = clean(f"{BODY_1}\n\nShare: Facebook | X | Email\n\n{BODY_2}")
    assert kept(article) == [BODY_1, BODY_2]
    assert reasons(article) == {"Share: Facebook | X | Email": "boilerplate"}


def test_user_pattern_removes_a_matching_paragraph_anywhere():
    article = clean(f"{BODY_1}\n\nFollow us on Mastodon for more.\n\n{BODY_2}", patterns=[r"follow us on \w+.*"])
    assert kept(article) == [BODY_1, BODY_2]
    assert reasons(article) == {"Follow us on Mastodon for more.": "pattern"}


def test_user_pattern_must_match_the_whole_paragraph():
    article = clean(f"{BODY_1}\n\n{BODY_2}", patterns=["budget"])
    assert kept(article) == [BODY_1, BODY_2]


def test_html_paragraph_repeating_the_page_title_is_removed():
    article = clean(f"Council passes the budget\n\n{BODY_1}", plain_text=False, title="Council passes the budget | Riverton Gazette")
    assert kept(article) == [BODY_1]
    assert reasons(article) == {"Council passes the budget": "title"}


def test_article_left_empty_is_skipped_as_no_text():
    pipeline = CleanPipeline.from_crawler(project_crawler())
    article = Article(url="file:///x.txt", kind="text", source="x", paragraphs=[Paragraph(0, "Breaking News"), Paragraph(1, "No comments")])
    result = pipeline.process_item(article)
    assert isinstance(result, Skipped) and result.reason == "no-text"


# --- properties -------------------------------------------------------------

WORDS = st.sampled_from(
    "the council budget city bus route vote year plan money road tax said on in of and to a for with new".split()
)


def _words(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.lists(WORDS, min_size=min_size, max_size=max_size).map(" ".join)


PARAGRAPHS = st.one_of(
    _words(5, 30).map(lambda s: s.capitalize() + "."),  # prose
    _words(21, 30).map(str.capitalize),  # long prose without a final stop
    _words(1, 4).map(str.title),  # short line
    _words(3, 12).map(str.title),  # headline-shaped
    _words(1, 6).map(lambda s: s.capitalize() + ":"),  # heading
    _words(1, 8).map(lambda s: "- " + s),  # list item
    _words(2, 6).map(lambda s: s.replace(" ", " | ")),  # menu
)
DOCUMENTS = st.tuples(st.lists(PARAGRAPHS, min_size=1, max_size=14), st.sampled_from(["\n\n", "\n"]))


def render(article: Article) -> str:
    return "\n\n".join(([article.title] if article.title else []) + kept(article))


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_cleaned_paragraphs_are_a_subsequence_of_the_input(document):
    paragraphs, separator = document
    text = separator.join(paragraphs)
    original = split_paragraphs(text)
    article = clean(text)
    remaining = iter(original)
    assert all(any(p == q for q in remaining) for p in kept(article))
    assert article.title is None or article.title in original
    assert len(article.paragraphs) + len(article.removed) + (article.title is not None) == len(original)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_cleaning_clean_text_changes_nothing(document):
    paragraphs, separator = document
    first = clean(separator.join(paragraphs))
    second = clean(render(first))
    assert second.removed == []
    assert (second.title, kept(second)) == (first.title, kept(first))
