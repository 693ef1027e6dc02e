"""The two articles Sieve was started from, and exactly what they become."""

from __future__ import annotations

from pathlib import Path

from crawler.items import Article, Page

SEED_000 = "000_257973ebbd4cd4c4.txt"
SEED_004 = "004_23132b0ce75d5b1b.txt"

SEED_000_TITLE = 'Beware Xiaomi , "Letv just sold 550,000 smartphones in two hours "'
SEED_000_KEPT = [
    "Chinese streaming video company Letv has exploded onto the smart hardware scene over the past year, and perhaps its biggest hardware play is its new line of smartphones. The company broke a domestic record for a new smartphone company by selling 1 million phones in three months. Now, it says it has sold more than half that in a single day.",
    "On Tuesday, the company launched the second generation of its smartphone line, the Le 1s, on its own website and on ecommerce platform In just a couple of hours, it had registered a total of more than 550,000 orders.",
    "There are a few caveats, though. First, the company had only 300,000 of the phones in stock, so the other 250,000 orders are just pre-orders. Letv also began accepting pre-registrations for the Tuesday sale back in late October, so customers had been accruing for a while by the time the phones actually went on sale.",
    "Still, it’s an impressive accomplishment, especially given that Letv performed a similar feat just months ago, when it sold nearly 600,000 phones in a single day in September. Counting today’s pre-orders, then, it has sold well over two million smartphones already in its debut year, with the lucrative Singles Day shopping event and holiday season still to come.",
    "Those numbers don’t put it anywhere near Xiaomi just yet; Xiaomi sold 60 million smartphones last year and is on track to exceed that number this year (though not by as much as analysts originally thought). But Letv’s barely been a smartphone player for half a year, and the company is already showing some impressive growth. In a few years it really could be on Xiaomi’s level, especially if the latter company continues to stagnate.",
    "Of course, it’s worth pointing out that Letv’s tactics with these flash sales are straight out of Xiaomi’s playbook. Flash sales are also cited by some as part of the reason for slowing Xiaomi growth – consumers are fed up with the gimmicky sales model – so Letv could hit the same roadblock at some point in its own journey.",
]
SEED_000_REMOVED = [
    (0, "Breaking News", "boilerplate", None),
    (8, "No comments", "boilerplate", None),
]

SEED_004_TITLE = "The Xiaomi 14 series sold more than a million units in a week"
FLAGSHIP = "Xiaomi’s new flagship is selling like hotcakes. The Xiaomi 14 series is performing so well, according to CEO Lei Jun, that the million-mark milestone has been crossed in just a week (via Reuters)."
SALES = '"Sales of the Mi 14 series have exceeded 1 million units and the phones are still in severe short supply," Xiaomi Chief Executive Lei Jun posted on Weibo. If this is true, it could mean that the slump in China\'s phone market could be nearing an end.'
OVERSEAS = "The market overseas could very well be bottoming out – Huawei stirred the market with its Mate 60 Pro, which got US officials scratching their heads over the question “How could the heavily sanctioned China pull this off?” According to a report, Huawei managed to bring in some respectable figures in terms of sales lately."
SPEC_LIST = [
    "- 6.7-inch WQHD+ (522 PPI), 1-120 Hz LTPO display, 3000 nits peak brightness",
    "- Ceramic Glass",
    "- Qualcomm Snapdragon 8 Gen 3 processor",
    "- 256 and 512GB storage options, up to 16GB of RAM",
    "- Variable aperture: ƒ/1.42-ƒ/4.0 camera",
    "- 4880mAh battery",
    "- 120W wired HyperCharge and 50W wireless HyperCharge",
]
SEED_004_KEPT = [
    "Folks over at Xiaomi are popping champagne bottles – well, maybe not all of them, quite possibly only the top executives – to celebrate an occasion.",
    FLAGSHIP,
    "Presented in China at the very end of October and put on sale on Halloween eve, so far the Xiaomi 14 variants haven’t made it globally. Judging from previous Xiaomi releases, users from across the world can expect the Xiaomi 14 series to arrive in the coming weeks (with us being already well into November, this could mean to expect them in early 2024).",
    SALES,
    OVERSEAS,
    "Back to the Xiaomi 14 series, though – both the Xiaomi 14 and the Xiaomi 14 Pro offer some interesting features. Like these (for the Pro variant):",
    "And the slump is very real – ten consecutive quarters of decline in phone sales in China. The industry research firm IDC predicts the Chinese market is on track to achieve year-on-year sales growth in the fourth quarter (the predicted growth hasn’t been put in numbers or percentages for now).",
    *SPEC_LIST,
]
SEED_004_REMOVED = [
    (7, FLAGSHIP, "repeat", 2),
    (8, SALES, "repeat", 4),
    (10, OVERSEAS, "repeat", 5),
    (18, "Things that are NOT allowed:", "dangling-heading", None),
]


def clean_seed(stages, seeds_dir: Path, name: str) -> Article:
    path = seeds_dir / name
    article = stages(Page(url=path.as_uri(), body=path.read_bytes(), kind="text", source="seeds"))
    assert isinstance(article, Article)
    return article


def removed(article: Article) -> list[tuple]:
    return [(r.position, r.text, r.reason, r.match_position) for r in article.removed]


def test_seed_000_title_is_the_headline_not_the_breaking_news_kicker(stages, seeds_dir):
    assert clean_seed(stages, seeds_dir, SEED_000).title == SEED_000_TITLE


def test_seed_000_keeps_its_six_paragraphs_in_order(stages, seeds_dir):
    assert [p.text for p in clean_seed(stages, seeds_dir, SEED_000).paragraphs] == SEED_000_KEPT


def test_seed_000_loses_breaking_news_and_no_comments(stages, seeds_dir):
    assert removed(clean_seed(stages, seeds_dir, SEED_000)) == SEED_000_REMOVED


def test_seed_004_title_is_its_first_line(stages, seeds_dir):
    assert clean_seed(stages, seeds_dir, SEED_004).title == SEED_004_TITLE


def test_seed_004_keeps_each_repeated_paragraph_once_and_the_spec_list(stages, seeds_dir):
    assert [p.text for p in clean_seed(stages, seeds_dir, SEED_004).paragraphs] == SEED_004_KEPT


def test_seed_004_loses_the_repeats_and_the_dangling_heading(stages, seeds_dir):
    assert removed(clean_seed(stages, seeds_dir, SEED_004)) == SEED_004_REMOVED


def test_seeds_land_in_sqlite_as_clean_articles(crawl, rows, seeds_dir):
    result = crawl("files", args={"path": str(seeds_dir)})
    assert result.returncode == 0, result.stderr
    articles = {Path(r["url"]).name: r for r in rows("SELECT * FROM articles")}
    assert set(articles) == {SEED_000, SEED_004}
    assert articles[SEED_000]["title"] == SEED_000_TITLE
    assert articles[SEED_000]["text"] == "\n\n".join(SEED_000_KEPT)
    assert articles[SEED_004]["title"] == SEED_004_TITLE
    assert articles[SEED_004]["text"] == "\n\n".join(SEED_004_KEPT)
    stored_removals = [
        (r["position"], r["text"], r["reason"], r["match_position"])
        for r in rows(
            "SELECT removed.* FROM removed JOIN articles ON articles.id = article_id WHERE url LIKE ? ORDER BY position",
            (f"%{SEED_004}",),
        )
    ]
    assert stored_removals == SEED_004_REMOVED
