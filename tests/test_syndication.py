"""Syndicated copies as clients publish them (cut, topped with a local
paragraph, merged, credited, retitled, words edited) are linked to the
article they were taken from; distinct stories that share some text are not.
In-process: the repeat, dedup and store stages on an in-memory database."""

from __future__ import annotations

import pytest

from tests.test_dedup_stages import BUS, LIBRARY, MACKEREL, NEWSLETTER, Stages, article

#: A wire story of ten paragraphs (about 480 words).
FLOOD = [
    "Emergency crews spent Sunday night pumping water out of more than two hundred homes in the lower town after "
    "the River Alder burst its banks for the second time in three winters, forcing the closure of the main bridge.",
    "The Environment Agency said the river peaked at 4.7 metres shortly after midnight, fifteen centimetres above "
    "the level reached in 2023, when a temporary barrier along Mill Lane failed under the weight of the water.",
    "This time the barrier held, but water came up through drains and cellars behind it, and residents of "
    "Tanner's Row said they had less than an hour between the first warning text and water reaching their doors.",
    "Fire officers used boats to reach eleven people, including a woman in her nineties who had refused to leave "
    "her ground-floor flat during the afternoon and a family whose car had stalled on the flooded ring road.",
    "The district council opened the leisure centre as a rest centre and said forty-three people stayed there "
    "overnight, most of them from the sheltered housing scheme beside the old tannery on Bridge Street.",
    "Council leader Margaret Osei said the authority had asked the government for emergency funding and would "
    "waive council tax for households forced out of their homes for more than a month while repairs are made.",
    "Insurers warned that many properties in the lower town may become hard to cover, because the flood "
    "reinsurance scheme excludes homes built after 2009 and several new terraces stand on the former water meadow.",
    "Engineers will inspect the bridge on Tuesday before deciding whether it can reopen to traffic; until then "
    "buses are diverted through Hollins Green, adding about twenty minutes to journeys into the town centre.",
    "The Met Office has issued a yellow warning for further rain on Thursday, though forecasters expect lower "
    "totals than last week, when some upland gauges recorded a month's rainfall in a little over two days.",
    "Residents have called a public meeting for Friday evening to demand that the long-delayed flood defence "
    "scheme, first promised in 2016 and now costed at 38 million pounds, is brought forward by at least two years.",
]
#: What a client puts on top of a wire story.
LOCAL = (
    "Readers in Hollins Green should expect diverted buses on the 41 and 42 routes all week, and the village "
    "primary school has said it will open at ten o'clock on Monday so that staff can get in."
)
CREDIT = "This story was first published by the Alder Valley Post and is republished here with permission."
#: A paragraph quoted in full by two different stories.
QUOTE = (
    "\u201cWe have been told for years that the money is coming, and every winter another street goes under while "
    "the plans sit in a drawer at the agency,\u201d said Denise Harper, who chairs the Lower Town residents' association."
)
FOLLOW = "Follow us on Mastodon for breaking news."

GAZETTE, WIRE = "https://gazette.example/flood", "https://wire.example/flood"


def cut(paragraphs: list[str], share: float) -> list[str]:
    return paragraphs[: round(len(paragraphs) * share)]


def edit_words(paragraphs: list[str], every: int) -> list[str]:
    """One word in ``every`` replaced, as a copy editor or a spinner would."""
    replacements = ["local", "recent", "several", "major", "nearby", "further", "serious"]
    edited = []
    for p, paragraph in enumerate(paragraphs):
        words = paragraph.split()
        for i in range(p % every, len(words), every):
            words[i] = replacements[(i + p) % len(replacements)]
        edited.append(" ".join(words))
    return edited


COPIES = {
    "cut to 60%": lambda: cut(FLOOD, 0.6),
    "cut to 70%": lambda: cut(FLOOD, 0.7),
    "cut to 80%": lambda: cut(FLOOD, 0.8),
    "local paragraph on top": lambda: [LOCAL, *FLOOD],
    "two paragraphs merged": lambda: [*FLOOD[:3], FLOOD[3] + " " + FLOOD[4], *FLOOD[5:]],
    "credit line added": lambda: [*FLOOD, CREDIT],
    "5% of words edited": lambda: edit_words(FLOOD, 20),
    "10% of words edited": lambda: edit_words(FLOOD, 10),
    "15% of words edited": lambda: edit_words(FLOOD, 7),
    "cut, local paragraph and credit": lambda: [LOCAL, *cut(FLOOD, 0.7), CREDIT],
}


@pytest.fixture
def process(fresh_db) -> Stages:
    return Stages(fresh_db)


@pytest.mark.parametrize("kind", list(COPIES))
def test_syndicated_copy_is_linked_to_its_original(process, kind):
    process(article(GAZETTE, FLOOD))
    copy = process(article(WIRE, COPIES[kind](), source="wire"))
    assert copy.dedup.original.article_id == process.id_of(GAZETTE)


def test_copy_with_another_headline_is_linked_to_its_original(process):
    process(article(GAZETTE, FLOOD))
    retitled = article(WIRE, FLOOD, source="wire")
    retitled.title = "Lower town under water again as barrier holds but drains fail"
    assert process(retitled).dedup.original.article_id == process.id_of(GAZETTE)


def test_copy_cut_to_60_percent_is_linked_by_containment(process):
    process(article(GAZETTE, FLOOD))
    process(article(WIRE, cut(FLOOD, 0.6), source="wire"))
    assert process.rows("SELECT duplicate_rule, duplicate_similarity FROM articles WHERE url = ?", [WIRE]) == [
        ("containment", 1.0)
    ]


def test_lightly_edited_copy_is_linked_by_resemblance_with_its_jaccard_similarity(process):
    process(article(GAZETTE, FLOOD))
    process(article(WIRE, [*FLOOD, CREDIT], source="wire"))
    [(rule, similarity)] = process.rows("SELECT duplicate_rule, duplicate_similarity FROM articles WHERE url = ?", [WIRE])
    assert rule == "resemblance" and 0.9 < similarity < 1.0


def test_copy_cut_to_60_percent_is_not_linked_with_the_containment_rule_off(fresh_db):
    process = Stages(fresh_db, containment=0.0)
    process(article(GAZETTE, FLOOD))
    assert process(article(WIRE, cut(FLOOD, 0.6), source="wire")).dedup.original is None


def test_longer_original_arriving_second_becomes_the_representative(process):
    process(article(WIRE, cut(FLOOD, 0.6), source="wire"))
    original = process(article(GAZETTE, FLOOD))
    assert original.dedup.original is None
    assert process.rows("SELECT url, duplicate_of, duplicate_rule FROM articles ORDER BY id") == [
        (WIRE, process.id_of(GAZETTE), "containment"),
        (GAZETTE, None, None),
    ]


def test_replaced_representative_is_a_change_readers_see(process):
    process(article(WIRE, cut(FLOOD, 0.6), source="wire"))
    [(before,)] = process.rows("SELECT change_seq FROM articles WHERE url = ?", [WIRE])
    process(article(GAZETTE, FLOOD))
    [(after,)] = process.rows("SELECT change_seq FROM articles WHERE url = ?", [WIRE])
    assert after == process.rows("SELECT max(change_seq) FROM articles")[0][0] > before
    assert process.stats.counts["sieve/dedup/representatives_replaced"] == 1


def test_clean_articles_keeps_the_longest_of_a_group_built_shortest_first(process):
    process(article("https://one.example/flood", cut(FLOOD, 0.6), source="one"))
    process(article("https://two.example/flood", cut(FLOOD, 0.8), source="two"))
    process(article(GAZETTE, FLOOD))
    assert process.rows("SELECT url FROM clean_articles") == [(GAZETTE,)]
    # The shortest still points at the copy that replaced it, which points at the original.
    assert process.rows("SELECT url, duplicate_of FROM articles ORDER BY id") == [
        ("https://one.example/flood", process.id_of("https://two.example/flood")),
        ("https://two.example/flood", process.id_of(GAZETTE)),
        (GAZETTE, None),
    ]


def test_copy_with_a_local_paragraph_arriving_second_points_at_the_original(process):
    process(article(GAZETTE, FLOOD))
    process(article(WIRE, [LOCAL, *FLOOD], source="wire"))
    assert process.rows("SELECT url FROM clean_articles") == [(GAZETTE,)]


def test_stories_quoting_the_same_paragraph_stay_apart(process):
    process(article(GAZETTE, [*FLOOD[:4], QUOTE, *FLOOD[4:6]]))
    other = process(article("https://courier.example/bus", [BUS[0], QUOTE, *BUS[1:]], source="courier"))
    assert other.dedup.original is None
    assert process.rows("SELECT count(*) FROM clean_articles") == [(2,)]


def test_brief_that_is_one_paragraph_of_a_longer_story_stays_apart(process):
    process(article(GAZETTE, MACKEREL))
    brief = process(article("https://wire.example/mackerel-brief", MACKEREL[:1], source="wire"))
    assert brief.dedup.original is None


def test_longer_story_arriving_after_its_one_paragraph_brief_leaves_the_brief_alone(process):
    process(article("https://wire.example/mackerel-brief", MACKEREL[:1], source="wire"))
    process(article(GAZETTE, MACKEREL))
    assert process.rows("SELECT count(*) FROM clean_articles") == [(2,)]


def test_short_article_of_site_boilerplate_only_stays_apart(process):
    process(article("https://gazette.example/library", [*LIBRARY, NEWSLETTER, FOLLOW]))
    page = process(article("https://gazette.example/subscribe", [NEWSLETTER, FOLLOW]))
    assert page.dedup.original is None


def test_copy_of_about_the_same_length_arriving_second_points_at_the_first(process):
    process(article(WIRE, [*FLOOD, CREDIT], source="wire"))
    process(article(GAZETTE, FLOOD))
    assert process.rows("SELECT url FROM clean_articles") == [(WIRE,)]
