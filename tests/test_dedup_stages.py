"""Cross-document dedup and storage, in-process: RepeatPipeline, then
CrossDedupPipeline, then StorePipeline on an in-memory database."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem

from crawler.incremental import Incremental
from crawler.items import Article, Paragraph, Skipped, Unchanged
from crawler.storage import reads
from crawler.storage.corpus import open_index
from pipelines.cross_dedup import CrossDedupPipeline, NearDuplicateRule
from pipelines.fingerprints import MinhashConfig
from pipelines.repeats import RepeatFinder, RepeatPipeline
from pipelines.store import StorePipeline
from pipelines.worker_process import StatsDelta

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
