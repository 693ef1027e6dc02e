"""pipelines.cross_dedup: near-duplicate articles and site boilerplate.

In-process first (the repeat, dedup and store stages on an in-memory
database): near-duplicates, syndicated copies under the containment rule,
site boilerplate; then through real crawls, across the articles of one run
and across runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from scrapy.exceptions import DropItem

from crawler.incremental import Incremental
from crawler.items import Article, Paragraph, Skipped, Unchanged
from crawler.storage import reads
from crawler.storage import schema as database
from crawler.storage.corpus import open_index
from pipelines.cross_dedup import CrossDedupPipeline, NearDuplicateRule
from pipelines.fingerprints import MinhashConfig
from pipelines.repeats import RepeatFinder, RepeatPipeline
from pipelines.store import StorePipeline
from pipelines.worker_process import StatsDelta
from tests.fixture_site import STORIES
from tests.helpers import read_rows, scrapy_crawl

LIBRARY = [
    "The Harbourside public library reopened on Saturday after an eighteen-month renovation that replaced its "
    "leaking roof, rewired the reading rooms and added a lift to the children's floor on the second storey.",
    "Head librarian Marisol Okafor said more than four hundred residents queued outside before the doors opened "
    "at nine, many of them carrying books they had borrowed before the closure and never managed to return.",
    "The work cost 3.2 million pounds, most of it from a heritage grant, and the council covered the rest by "
    "postponing the resurfacing of two car parks near the ferry terminal until next spring.",
    "Volunteers spent the final week reshelving sixty thousand volumes by hand, and the local history collection "
    "will return in June once its new climate-controlled archive room has been inspected.",
]
BUS = [
    "Regional transport officials confirmed on Tuesday that the number 14 bus, which links the hillside estates "
    "to the hospital, will run every twelve minutes instead of every twenty from the start of October.",
    "The change follows a petition signed by nearly three thousand passengers who complained that overcrowded "
    "buses regularly drove past waiting queues during the morning rush and left nurses late for their shifts.",
    "Operators will lease six additional electric vehicles to cover the extra journeys, and drivers have been "
    "offered overtime while a recruitment drive at the depot tries to fill eleven vacant posts.",
    "Councillor Priya Ramanathan welcomed the announcement but warned that evening services still stop before "
    "ten o'clock, which leaves hospital cleaners and kitchen staff walking home along unlit roads.",
]
MACKEREL = [
    "Fishermen working out of the old harbour say catches of mackerel have fallen by almost half this summer, "
    "and several crews have tied up their boats rather than pay for diesel to chase thinning shoals.",
    "Marine scientists from the university believe warmer water along the coast has pushed the fish further "
    "north, though they caution that a single season of data cannot prove a lasting trend.",
    "The harbour master has agreed to waive mooring fees for registered inshore vessels until December, a "
    "concession worth about nine hundred pounds to each of the twenty-three affected owners.",
]
GARDEN = [
    "Pupils at Saint Brigid's primary school have turned a disused tennis court into a vegetable garden, growing "
    "potatoes, beans and pumpkins that now supply part of the lunches served in their canteen.",
    "Teacher Alan Kowalczyk started the project with a class of nine-year-olds who wanted to know where their "
    "food came from, and within a year every year group had adopted one of the raised beds.",
    "Parents built a greenhouse from recycled window frames donated by a local glazier, and a retired farmer "
    "visits on Wednesday afternoons to show children how to save seeds for the following season.",
]
NEWSLETTER = (
    "Sign up for the Harbourside Gazette morning briefing to receive the day's most important local stories, "
    "weather warnings and road closures in your inbox before seven o'clock every weekday."
)


def edited(paragraphs: list[str]) -> list[str]:
    """A wire copy: a few words changed, nothing else."""
    copy = list(paragraphs)
    copy[0] = copy[0].replace("on Saturday", "last Saturday")
    copy[1] = copy[1].replace("four hundred", "five hundred")
    copy[-1] = copy[-1].replace("by hand", "entirely by hand")
    return copy


def article(url: str, paragraphs: list[str], source: str = "gazette") -> Article:
    return Article(url=url, kind="text", source=source, paragraphs=[Paragraph(i, t) for i, t in enumerate(paragraphs)])


class Stages:
    def __init__(self, database, containment: float = 0.7):
        self.database = database
        self.stats = StatsDelta()
        # What the database counts reaches these stats when it commits.
        database.stats = self.stats
        config = MinhashConfig()
        open_index(database, config)
        incremental = Incremental(enabled=True, database=database)
        self.stages = [
            RepeatPipeline(self.stats, RepeatFinder(0.8, config)),
            CrossDedupPipeline(
                database, incremental, NearDuplicateRule(config, threshold=0.8, containment=containment, min_words=80),
                boilerplate_min=3, boilerplate_similarity=0.9,
            ),
            StorePipeline(database, incremental, None, config),
        ]

    def __call__(self, item):
        """The item as the dedup stage passed it to the store stage, which
        returns a record of what it stored, or drops what it only recorded."""
        for stage in self.stages[:-1]:
            item = stage.process_item(item)
        try:
            self.stages[-1].process_item(item)
        except DropItem:
            pass
        self.database.commit()
        return item

    def rows(self, sql: str, params=()) -> list[tuple]:
        return self.database.open().execute(sql, params).fetchall()

    def text_of(self, url: str) -> str:
        return self.rows("SELECT text FROM articles WHERE url = ?", [url])[0][0]

    def id_of(self, url: str) -> int:
        return reads.stored_article(self.database.open(), url).id


@pytest.fixture
def process(fresh_db) -> Stages:
    return Stages(fresh_db)


def test_lightly_edited_copy_is_a_near_duplicate_of_the_original(process):
    process(article("https://gazette.example/library", LIBRARY))
    copy = process(article("https://wire.example/library", edited(LIBRARY), source="wire"))
    original = process.id_of("https://gazette.example/library")
    assert copy.dedup.original.article_id == original
    stored = process.rows("SELECT duplicate_of FROM articles WHERE url = ?", ["https://wire.example/library"])
    assert stored == [(original,)]
    assert process.stats.counts["sieve/dedup/near_duplicates"] == 1


def test_different_story_is_not_a_duplicate(process):
    process(article("https://gazette.example/library", LIBRARY))
    other = process(article("https://gazette.example/bus", BUS))
    assert other.dedup.original is None
    assert process.rows("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL") == [(0,)]


def test_same_url_with_same_text_is_unchanged_and_writes_nothing(process):
    url = "https://gazette.example/library"
    process(article(url, LIBRARY))
    before = process.rows("SELECT id, text, content_hash, first_seen, changed_at FROM articles")

    item = process(article(url, LIBRARY))

    assert isinstance(item, Unchanged) and item.reason == "same-text"
    assert process.rows("SELECT id, text, content_hash, first_seen, changed_at FROM articles") == before
    assert process.rows("SELECT count(*) FROM paragraphs") == [(len(LIBRARY),)]
    assert process.stats.counts["sieve/articles_stored"] == 1
    assert process.stats.counts["sieve/unchanged/same-text"] == 1


def test_paragraph_in_three_articles_of_one_source_becomes_site_boilerplate(process):
    process(article("https://gazette.example/library", [*LIBRARY[:2], NEWSLETTER, *LIBRARY[2:]]))
    process(article("https://gazette.example/bus", [*BUS, NEWSLETTER]))
    third = process(article("https://gazette.example/mackerel", [MACKEREL[0], NEWSLETTER, *MACKEREL[1:]]))

    assert NEWSLETTER not in third.text
    assert [(r.position, r.reason) for r in third.removed] == [(1, "site-boilerplate")]
    for url in ("https://gazette.example/library", "https://gazette.example/bus"):
        assert NEWSLETTER not in process.text_of(url)
        assert process.rows(
            "SELECT reason, text FROM removed WHERE article_id = ?", [process.id_of(url)]
        ) == [("site-boilerplate", NEWSLETTER)]
    assert process.text_of("https://gazette.example/library") == "\n\n".join(LIBRARY)
    assert process.rows("SELECT source, text FROM site_boilerplate") == [("gazette", NEWSLETTER)]


def test_known_site_boilerplate_is_removed_from_later_articles(process):
    for url, story in [("library", LIBRARY), ("bus", BUS), ("mackerel", MACKEREL)]:
        process(article(f"https://gazette.example/{url}", [*story, NEWSLETTER]))
    fourth = process(article("https://gazette.example/garden", [NEWSLETTER, *GARDEN]))
    assert [(r.position, r.reason) for r in fourth.removed] == [(0, "site-boilerplate")]
    assert process.text_of("https://gazette.example/garden") == "\n\n".join(GARDEN)


def test_article_keys_stored_are_those_of_the_text_left_after_site_boilerplate(process):
    from crawler.storage.corpus import unpack_keys

    for url, story in [("library", LIBRARY), ("bus", BUS), ("mackerel", MACKEREL)]:
        process(article(f"https://gazette.example/{url}", [*story, NEWSLETTER]))
    fourth = process(article("https://gazette.example/garden", [NEWSLETTER, *GARDEN]))
    config = MinhashConfig()
    expected = config.article_keys(config.article_signature(GARDEN))
    [(blob,)] = process.rows(
        "SELECT keys FROM article_keys WHERE article_id = ?", [process.id_of("https://gazette.example/garden")]
    )
    assert unpack_keys(blob) == fourth.fingerprints.article_keys == expected


def test_same_paragraph_in_three_sources_is_not_boilerplate(process):
    for source, story in [("gazette", LIBRARY), ("courier", BUS), ("herald", MACKEREL)]:
        item = process(article(f"https://{source}.example/story", [*story, NEWSLETTER], source=source))
        assert item.removed == []
    assert process.rows("SELECT count(*) FROM site_boilerplate") == [(0,)]
    assert process.rows("SELECT count(*) FROM articles WHERE text LIKE ?", [f"%{NEWSLETTER}"]) == [(3,)]


def test_near_duplicate_does_not_count_towards_the_boilerplate_minimum(process):
    process(article("https://gazette.example/library", [*LIBRARY, NEWSLETTER]))
    copy = process(article("https://gazette.example/library-copy", [*edited(LIBRARY), NEWSLETTER]))
    assert copy.dedup.original is not None

    third = process(article("https://gazette.example/bus", [*BUS, NEWSLETTER]))

    assert third.removed == []
    assert NEWSLETTER in process.text_of("https://gazette.example/bus")
    assert process.rows("SELECT count(*) FROM site_boilerplate") == [(0,)]


def test_store_records_removals_with_reason_and_position(process):
    process(article("https://gazette.example/library", [LIBRARY[0], LIBRARY[1], LIBRARY[0], LIBRARY[2]]))
    article_id = process.id_of("https://gazette.example/library")
    assert process.rows(
        "SELECT position, reason, match_position, text FROM removed WHERE article_id = ?", [article_id]
    ) == [(2, "repeat", 0, LIBRARY[0])]
    assert process.text_of("https://gazette.example/library") == "\n\n".join(LIBRARY[:3])


def test_skipped_item_is_recorded_until_an_article_replaces_it(process):
    url = "https://gazette.example/library"
    process(Skipped(url, "http-503", "the server answered 503"))
    assert process.rows("SELECT url, reason, run_id FROM skipped") == [(url, "http-503", None)]

    process(article(url, LIBRARY))

    assert process.rows("SELECT count(*) FROM skipped") == [(0,)]
    assert process.rows("SELECT url, run_id FROM articles") == [(url, None)]


# Syndicated copies: the containment rule.

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


# Through real crawls.

NEWSLETTER = "Sign up for our newsletter to get the top stories from Riverton delivered to your inbox every morning."
FOLLOW = "Follow us on Mastodon"
QUOTE = '"We are spending money we will not have next year, and I cannot vote for that," councillor Dana Whitfield said.'


def write_article(path: Path, title: str, paragraphs: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join([title, *paragraphs]) + "\n")


def gazette_paragraphs(story, with_quote: bool = False) -> list[str]:
    """A story as the gazette prints it: its in-body newsletter plug and
    social line after the second paragraph."""
    paragraphs = list(story.paragraphs)
    paragraphs[2:2] = [NEWSLETTER, FOLLOW]
    if with_quote:
        paragraphs.insert(1, QUOTE)
    return paragraphs


def syndicated(story) -> list[str]:
    """A wire copy: a few words changed, nothing else."""
    paragraphs = list(story.paragraphs)
    paragraphs[0] = paragraphs[0].replace("on Saturday", "last Saturday")
    paragraphs[-1] = paragraphs[-1].replace("by hand", "entirely by hand")
    return paragraphs


def build_corpus(folder: Path, order: list[int]) -> None:
    """Five gazette stories (two of them quote the same councillor) and a
    wire copy of the library story, written so that the files spider reads
    them in ``order``."""
    pieces = [
        ("gazette", STORIES[i].title, gazette_paragraphs(STORIES[i], with_quote=i in (0, 1))) for i in range(5)
    ]
    pieces.append(("wire", STORIES[2].title + " (wire)", syndicated(STORIES[2])))
    for rank, piece in zip(order, pieces, strict=True):
        source, title, paragraphs = piece
        write_article(folder / source / f"{rank:02d}.txt", title, paragraphs)


def crawl_folder(folder: Path, db: Path) -> None:
    result = scrapy_crawl("files", db=db, args={"path": str(folder)})
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    build_corpus(folder / "in", order=[0, 1, 2, 3, 4, 5])
    crawl_folder(folder / "in", folder / "sieve.db")
    return folder / "sieve.db"


def test_wire_copy_is_a_near_duplicate_of_the_original(corpus_db):
    [original] = read_rows(corpus_db, "SELECT id FROM articles WHERE source = 'gazette' AND title = ?", (STORIES[2].title,))
    [copy] = read_rows(corpus_db, "SELECT duplicate_of, text FROM articles WHERE source = 'wire'")
    assert copy["duplicate_of"] == original["id"]
    assert "entirely by hand" in copy["text"]


def test_clean_articles_view_leaves_out_duplicates(corpus_db):
    assert read_rows(corpus_db, "SELECT count(*) FROM clean_articles")[0][0] == 5
    assert read_rows(corpus_db, "SELECT count(*) FROM clean_articles WHERE source = 'wire'")[0][0] == 0


def test_articles_that_are_not_copies_are_not_duplicates(corpus_db):
    assert read_rows(corpus_db, "SELECT count(*) FROM articles WHERE source = 'gazette' AND duplicate_of IS NOT NULL")[0][0] == 0


@pytest.mark.parametrize("boilerplate", [NEWSLETTER, FOLLOW], ids=["long-plug", "short-line"])
def test_site_boilerplate_is_removed_from_every_article_of_the_source(corpus_db, boilerplate):
    texts = [r["text"] for r in read_rows(corpus_db, "SELECT text FROM articles WHERE source = 'gazette'")]
    assert len(texts) == 5
    assert not any(boilerplate in text for text in texts)
    removals = read_rows(corpus_db, "SELECT article_id, match_article_id FROM removed WHERE reason = 'site-boilerplate' AND text = ?", (boilerplate,))
    assert len({r["article_id"] for r in removals}) == 5
    assert all(r["match_article_id"] not in (None, r["article_id"]) for r in removals)


def test_quote_shared_by_two_articles_stays(corpus_db):
    assert read_rows(corpus_db, "SELECT count(*) FROM articles WHERE instr(text, ?) > 0", (QUOTE,))[0][0] == 2


def test_site_boilerplate_is_recorded_once_per_paragraph(corpus_db):
    rows = read_rows(corpus_db, "SELECT source, text FROM site_boilerplate ORDER BY text")
    assert [(r["source"], r["text"]) for r in rows] == [("gazette", FOLLOW), ("gazette", NEWSLETTER)]


def test_same_pages_in_another_order_give_the_same_result(tmp_path, corpus_db):
    build_corpus(tmp_path / "in", order=[5, 3, 1, 4, 0, 2])
    crawl_folder(tmp_path / "in", tmp_path / "sieve.db")

    def outcome(db: Path):
        return (
            sorted(r["text"] for r in read_rows(db, "SELECT text FROM articles")),
            read_rows(db, "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL")[0][0],
        )

    assert outcome(tmp_path / "sieve.db") == outcome(corpus_db)


def test_second_run_finds_duplicates_of_the_first_runs_articles(tmp_path, db_path):
    write_article(tmp_path / "one" / "gazette" / "library.txt", STORIES[2].title, STORIES[2].paragraphs)
    crawl_folder(tmp_path / "one", db_path)
    write_article(tmp_path / "two" / "wire" / "library.txt", STORIES[2].title, syndicated(STORIES[2]))
    crawl_folder(tmp_path / "two", db_path)
    rows = read_rows(db_path, "SELECT id, run_id, duplicate_of FROM articles ORDER BY id")
    assert [(r["id"], r["run_id"], r["duplicate_of"]) for r in rows] == [(1, 1, None), (2, 2, 1)]


def test_fetching_the_same_url_again_never_makes_it_its_own_duplicate(tmp_path, db_path):
    story = tmp_path / "in" / "gazette" / "library.txt"
    write_article(story, STORIES[2].title, STORIES[2].paragraphs)
    crawl_folder(tmp_path / "in", db_path)
    crawl_folder(tmp_path / "in", db_path)
    write_article(story, STORIES[2].title, syndicated(STORIES[2]))
    crawl_folder(tmp_path / "in", db_path)
    [row] = read_rows(db_path, "SELECT id, duplicate_of, text FROM articles")
    assert (row["id"], row["duplicate_of"]) == (1, None)
    assert "entirely by hand" in row["text"]


def test_boilerplate_found_later_is_removed_from_earlier_articles(tmp_path, db_path):
    for i in (0, 1):
        write_article(tmp_path / "one" / "gazette" / f"{i}.txt", STORIES[i].title, gazette_paragraphs(STORIES[i]))
    crawl_folder(tmp_path / "one", db_path)
    assert read_rows(db_path, "SELECT count(*) FROM articles WHERE instr(text, ?) > 0", (NEWSLETTER,))[0][0] == 2

    write_article(tmp_path / "two" / "gazette" / "3.txt", STORIES[3].title, gazette_paragraphs(STORIES[3]))
    crawl_folder(tmp_path / "two", db_path)
    assert read_rows(db_path, "SELECT count(*) FROM articles WHERE instr(text, ?) > 0", (NEWSLETTER,))[0][0] == 0
    earlier = read_rows(
        db_path,
        "SELECT article_id, match_article_id FROM removed WHERE text = ? AND article_id IN (1, 2) ORDER BY article_id",
        (NEWSLETTER,),
    )
    assert [(r["article_id"], r["match_article_id"]) for r in earlier] == [(1, 3), (2, 3)]
    [first] = read_rows(db_path, "SELECT text FROM articles WHERE id = 1")
    assert first["text"] == "\n\n".join(STORIES[0].paragraphs)


def test_version_1_database_is_migrated_and_its_articles_indexed(tmp_path, db_path):
    conn = sqlite3.connect(db_path)
    old = sqlite_utils.Database(conn)
    database.MIGRATIONS[0](old)
    old.execute("PRAGMA user_version = 1")
    old["articles"].insert(
        {"url": "file:///old/library.txt", "source": "gazette", "title": STORIES[2].title, "text": "\n\n".join(STORIES[2].paragraphs),
         "content_hash": "x", "first_seen": "2024-01-01T00:00:00.000Z", "last_seen": "2024-01-01T00:00:00.000Z"}
    )
    conn.commit()
    conn.close()

    write_article(tmp_path / "in" / "wire" / "library.txt", STORIES[2].title, syndicated(STORIES[2]))
    crawl_folder(tmp_path / "in", db_path)
    assert read_rows(db_path, "PRAGMA user_version")[0][0] == len(database.MIGRATIONS)
    assert read_rows(db_path, "SELECT count(*) FROM paragraphs WHERE article_id = 1")[0][0] == 4
    assert read_rows(db_path, "SELECT duplicate_of FROM articles WHERE id = 2")[0][0] == 1
