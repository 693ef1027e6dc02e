"""Cross-document dedup benchmark: quality against exact Jaccard, speed, and
start-up cost as the database grows.

    python bench/dedup.py                       # quality, then scale at 1k, 10k, 100k
    python bench/dedup.py --sizes 1000,10000    # a quicker scale run
    python bench/dedup.py --skip-scale          # quality only

The corpus is generated from real news text: the article bodies of the
article-extraction benchmark (``../shared/bench/article-extraction``, read at
run time, never copied), whole and recombined sentence by sentence into more
articles. Into it go, with labels:

- near-duplicate copies of articles at several word-edit rates, on other
  sources (syndication) and on their own source;
- in-body boilerplate lines of each source (a newsletter plug, a social
  line, a disclaimer), in most of its articles, sometimes lightly varied;
- quotes, each printed by exactly two articles of one source, which must stay;
- syndicated copies of the real article bodies as clients publish them, one
  kind of change each (cut to the first 60/70/80% of paragraphs, a local
  paragraph on top, two paragraphs merged, a credit line added, the headline
  changed, 5/10/15% of words edited) and all at once (cut to 70%, local
  paragraph, credit line, headline), on other sources;
- distinct stories that must stay apart: pairs on two sources quoting the
  same paragraph, and briefs that are one paragraph of a real article.

The corpus goes through the stages twice in the same run: with the
containment rule off (``SIEVE_NEAR_DUP_CONTAINMENT=0``: Jaccard only, as
before it) and with the project's settings.

It goes through Sieve's own stages (clean, repeats, cross-document dedup,
store) into a real SQLite file, and the result is scored against the exact
Jaccard similarity of every pair of stored articles.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402
import xxhash  # noqa: E402
from scrapy import Spider  # noqa: E402
from scrapy.exceptions import DropItem  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

import settings as project_settings  # noqa: E402
from crawler.items import Article, Paragraph  # noqa: E402
from crawler.storage.database import Database  # noqa: E402
from pipelines import fingerprints  # noqa: E402
from pipelines.clean import CleanPipeline  # noqa: E402
from pipelines.cross_dedup import CrossDedupPipeline  # noqa: E402
from pipelines.repeats import RepeatPipeline  # noqa: E402
from pipelines.store import StorePipeline  # noqa: E402

DATA = REPO.parent / "shared" / "bench" / "article-extraction" / "ground-truth.json"
EDIT_RATES = [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.10, 0.15, 0.25]
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


# --- corpus -------------------------------------------------------------------


@dataclass
class Doc:
    key: str
    source: str
    paragraphs: list[str]
    labels: list[str]  # per paragraph: content, boilerplate, quote
    copy_of: str | None = None
    edit_rate: float | None = None
    #: Syndicated copies and distinct pairs: what kind.
    kind: str | None = None
    title: str | None = None
    #: Distinct pairs: the article it shares text with, and must not be linked to.
    shares_with: str | None = None

    @property
    def story(self) -> str:
        return self.copy_of or self.key


def load_real_bodies(path: Path) -> list[list[str]]:
    data = json.loads(path.read_text())
    bodies = []
    for entry in data.values():
        paragraphs = [" ".join(p.split()) for p in entry["articleBody"].split("\n")]
        paragraphs = [p for p in paragraphs if len(p.split()) >= 8]
        if len(paragraphs) >= 4:
            bodies.append(paragraphs)
    return bodies


class Generator:
    def __init__(self, bodies: list[list[str]], seed: int, quotes: int = 0):
        self.rng = random.Random(seed)
        self.bodies = bodies
        sentences = [s for body in bodies for p in body for s in SENTENCE.split(p) if 6 <= len(s.split()) <= 45]
        self.words = sorted({w for s in sentences for w in s.split()})
        # Quotes come from paragraphs of three or more sentences, so that no
        # real paragraph is near-identical to one, and they are kept out of
        # the recombined articles: each must appear in exactly two articles.
        quotable = sorted({s for body in bodies for p in body if len(SENTENCE.split(p)) >= 3 for s in SENTENCE.split(p) if 12 <= len(s.split()) <= 40})
        self.quotes = self.rng.sample(quotable, quotes)
        reserved = set(self.quotes)
        self.sentences = [s for s in sentences if s not in reserved]

    def article(self, index: int) -> list[str]:
        """The real articles first, then articles recombined from their sentences."""
        if index < len(self.bodies):
            return list(self.bodies[index])
        return [
            " ".join(self.rng.sample(self.sentences, self.rng.randint(2, 4))) for _ in range(self.rng.randint(6, 14))
        ]

    def edit(self, paragraphs: list[str], rate: float) -> list[str]:
        """Replace or delete about ``rate`` of the words."""
        edited = []
        for paragraph in paragraphs:
            words = []
            for word in paragraph.split():
                if self.rng.random() < rate:
                    if self.rng.random() < 0.5:
                        words.append(self.rng.choice(self.words))
                else:
                    words.append(word)
            edited.append(" ".join(words) or paragraph)
        return edited


def source_boilerplate(source: str) -> list[str]:
    name = source.replace("-", " ").title()
    return [
        f"Sign up for the {name} newsletter to get our best stories, analysis and opinion in your inbox every weekday morning.",
        f"Follow {name} on Mastodon",
        f"This story was produced by the {name} newsroom and may be republished under our standard terms, with credit and a link back.",
    ]


def vary(line: str, rng: random.Random) -> str:
    """A light variation, as templates drift: case, a final stop."""
    choice = rng.random()
    if choice < 0.15:
        return line.upper() if len(line.split()) < 8 else line.rstrip(".") + "!"
    if choice < 0.25:
        return line.rstrip(".")
    return line


def build_corpus(
    bodies: list[list[str]], n_base: int, n_copies: int, n_quotes: int, n_sources: int, seed: int, n_syndicated: int
) -> list[Doc]:
    gen = Generator(bodies, seed, quotes=n_quotes)
    rng = gen.rng
    sources = [f"site-{i:02d}" for i in range(n_sources)]
    docs = []
    for i in range(n_base):
        source = sources[i % n_sources]
        paragraphs = gen.article(i)
        docs.append(Doc(f"a{i}", source, paragraphs, ["content"] * len(paragraphs)))

    # Boilerplate lines go inside the body, where trafilatura keeps them.
    for doc in docs:
        for line in source_boilerplate(doc.source):
            if rng.random() < 0.7:
                at = rng.randint(1, len(doc.paragraphs) - 1)
                doc.paragraphs.insert(at, vary(line, rng))
                doc.labels.insert(at, "boilerplate")

    # Each quote: printed by two articles of the same source.
    by_source: dict[str, list[Doc]] = {}
    for doc in docs:
        by_source.setdefault(doc.source, []).append(doc)
    for sentence in gen.quotes:
        pair = rng.sample(by_source[rng.choice(sources)], 2)
        quote = "“" + sentence + "” said a spokesperson."
        for doc in pair:
            at = rng.randint(1, len(doc.paragraphs) - 1)
            doc.paragraphs.insert(at, quote)
            doc.labels.insert(at, "quote")

    originals = list(docs)
    for i in range(n_copies):
        original = rng.choice(originals)
        rate = EDIT_RATES[i % len(EDIT_RATES)]
        content = [p for p, label in zip(original.paragraphs, original.labels) if label == "content"]
        source = original.source if rng.random() < 0.3 else rng.choice(sources)
        paragraphs = gen.edit(content, rate)
        labels = ["content"] * len(paragraphs)
        for line in source_boilerplate(source):
            if rng.random() < 0.7:
                at = rng.randint(1, len(paragraphs) - 1)
                paragraphs.insert(at, vary(line, rng))
                labels.insert(at, "boilerplate")
        docs.append(Doc(f"c{i}", source, paragraphs, labels, copy_of=original.key, edit_rate=rate))
    rng.shuffle(docs)
    # Another generator, so that the corpus above is what it was before these
    # were added, in the same order.
    extra = syndicated_and_distinct(bodies, originals[: len(bodies)], sources, n_syndicated, seed + 1)
    for doc in extra:
        docs.insert(gen.rng.randint(0, len(docs)), doc)
    return docs


CUTS = {"cut to 60%": 0.6, "cut to 70%": 0.7, "cut to 80%": 0.8}
SYNDICATED_EDITS = {"5% of words edited": 0.05, "10% of words edited": 0.10, "15% of words edited": 0.15}
SYNDICATED_KINDS = [
    *CUTS, "local paragraph on top", "two paragraphs merged", "credit line added", "headline changed",
    *SYNDICATED_EDITS, "cut to 70%, local paragraph, credit, headline",
]  # fmt: skip
DISTINCT_KINDS = ["two stories quoting the same paragraph", "brief: one paragraph of a longer story"]


def syndicated_and_distinct(
    bodies: list[list[str]], originals: list[Doc], sources: list[str], per_kind: int, seed: int
) -> list[Doc]:
    """Copies of the real article bodies (``originals``, already in the
    corpus) as syndication clients publish them, and distinct stories that
    share text; each on another source than the article it comes from."""
    gen = Generator(bodies, seed)
    rng = gen.rng

    def local_paragraph() -> str:
        return " ".join(rng.sample(gen.sentences, rng.randint(2, 3)))

    def credit(source: str) -> str:
        return f"This story was first published by {source.replace('-', ' ').title()} and is republished with permission."

    def copy(original: Doc, kind: str) -> tuple[list[str], str | None]:
        paragraphs = [p for p, label in zip(original.paragraphs, original.labels) if label == "content"]
        cut = max(1, round(len(paragraphs) * CUTS.get(kind, 0.7)))
        if kind in CUTS:
            return paragraphs[:cut], None
        if kind == "local paragraph on top":
            return [local_paragraph(), *paragraphs], None
        if kind == "two paragraphs merged":
            at = rng.randrange(len(paragraphs) - 1)
            return [*paragraphs[:at], paragraphs[at] + " " + paragraphs[at + 1], *paragraphs[at + 2 :]], None
        if kind == "credit line added":
            return [*paragraphs, credit(original.source)], None
        if kind == "headline changed":
            return paragraphs, "Local readers react: " + " ".join(paragraphs[0].split()[:8])
        if kind in SYNDICATED_EDITS:
            return gen.edit(paragraphs, SYNDICATED_EDITS[kind]), None
        return [local_paragraph(), *paragraphs[:cut], credit(original.source)], "What it means for you: " + " ".join(paragraphs[0].split()[:6])

    docs = []
    for kind in SYNDICATED_KINDS:
        for n, original in enumerate(rng.sample(originals, min(per_kind, len(originals)))):
            paragraphs, title = copy(original, kind)
            source = rng.choice([s for s in sources if s != original.source])
            key = f"s{SYNDICATED_KINDS.index(kind)}-{n}"
            docs.append(Doc(key, source, paragraphs, ["content"] * len(paragraphs), copy_of=original.key, kind=kind, title=title))
    for n in range(per_kind):
        # Two stories of 3 to 10 paragraphs, from real sentences, and a quoted
        # paragraph of two or three sentences that both print.
        quote = "“" + local_paragraph() + "” the minister said."
        for side, source in enumerate(rng.sample(sources, 2)):
            paragraphs = gen.article(len(bodies) + n)[: rng.randint(3, 10)]
            paragraphs.insert(rng.randint(1, len(paragraphs)), quote)
            if side:
                docs.append(Doc(f"q{n}-1", source, paragraphs, ["content"] * len(paragraphs), kind=DISTINCT_KINDS[0], shares_with=f"q{n}-0"))
            else:
                docs.append(Doc(f"q{n}-0", source, paragraphs, ["content"] * len(paragraphs), kind=DISTINCT_KINDS[0]))
    for n, original in enumerate(rng.sample(originals, min(per_kind, len(originals)))):
        paragraphs = [p for p, label in zip(original.paragraphs, original.labels) if label == "content"]
        source = rng.choice([s for s in sources if s != original.source])
        docs.append(Doc(f"b{n}", source, [rng.choice(paragraphs)], ["content"], kind=DISTINCT_KINDS[1], shares_with=original.key))
    return docs


# --- running Sieve's stages -----------------------------------------------------


class Stages:
    """Sieve's stages from clean to store, as ITEM_PIPELINES runs them, on a
    crawler with the project's settings; times each stage."""

    classes = [CleanPipeline, RepeatPipeline, CrossDedupPipeline, StorePipeline]

    def __init__(self, db_path: Path, **overrides):
        values = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
        self.crawler = get_crawler(settings_dict={**values, "SIEVE_DB": str(db_path), **overrides})
        self.crawler.spider = Spider(name="bench")
        self.stages = [cls.from_crawler(self.crawler) for cls in self.classes]
        self.seconds = [0.0] * len(self.stages)

    def open(self) -> None:
        self.shared.open()

    def process(self, item):
        """The store stage's record of what it stored; None for a document it
        only recorded (skipped or unchanged: it drops those)."""
        for n, stage in enumerate(self.stages):
            started = time.perf_counter()
            try:
                item = stage.process_item(item)
            except DropItem:
                item = None
            finally:
                self.seconds[n] += time.perf_counter() - started
            if item is None:
                break
        # What the item_scraped signal does in a crawl: count towards the batch.
        self.shared.document_done()
        return item

    def close(self) -> None:
        self.shared.close()

    @property
    def shared(self) -> Database:
        return self.crawler.get_extension(Database)


def article_of(doc: Doc) -> Article:
    return Article(
        url=f"bench://{doc.source}/{doc.key}",
        kind="html",  # the boilerplate sits inside the body, as trafilatura leaves it
        source=doc.source,
        title=doc.title,
        paragraphs=[Paragraph(i, p) for i, p in enumerate(doc.paragraphs)],
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not
    carried over from the process that forked it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- scoring ----------------------------------------------------------------------


def exact_jaccard_pairs(texts: list[str], floor: float) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair of texts (Sieve's shingles), for pairs at or above ``floor``."""
    rows, cols = [], []
    for i, text in enumerate(texts):
        hashes = [xxhash.xxh64_intdigest(s) for s in fingerprints.MinhashConfig().text_shingles(text.split("\n\n"))]
        rows.append(np.full(len(hashes), i))
        cols.append(np.array(hashes, dtype=np.uint64))
    r = np.concatenate(rows)
    _, c = np.unique(np.concatenate(cols), return_inverse=True)
    matrix = scipy.sparse.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(texts), c.max() + 1))
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    inter = scipy.sparse.triu(matrix @ matrix.T, k=1).tocoo()
    jaccard = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    keep = jaccard >= floor
    return {(int(a), int(b)): float(j) for a, b, j in zip(inter.row[keep], inter.col[keep], jaccard[keep])}


def fraction(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.4f} ({numerator}/{denominator})" if denominator else "n/a"


RULES = {"Jaccard only": {"SIEVE_NEAR_DUP_CONTAINMENT": 0}, "Jaccard + containment": {}}


@dataclass
class Outcome:
    """What one pass of the corpus through the stages stored."""

    docs: list[Doc]
    rows: list[tuple]  # id, url, text, duplicate_of, duplicate_rule
    removed: list[tuple]
    stats: dict
    stage_seconds: list[float]
    stage_names: list[str]
    elapsed: float

    def __post_init__(self) -> None:
        parent = {r[0]: r[3] for r in self.rows}

        def find_root(article_id: int) -> int:
            while parent[article_id] is not None:
                article_id = parent[article_id]
            return article_id

        self.id_of = {r[1].rsplit("/", 1)[1]: r[0] for r in self.rows}
        self.root = {article_id: find_root(article_id) for article_id in parent}
        self.text = {r[0]: r[2] for r in self.rows}
        self.rule = {r[0]: r[4] for r in self.rows}

    def together(self, a: str, b: str) -> bool:
        """Whether the articles of two keys (both stored) are in one group."""
        return self.root[self.id_of[a]] == self.root[self.id_of[b]]


def run(docs: list[Doc], tmp: Path, overrides: dict) -> Outcome:
    stages = Stages(tmp / f"bench-{len(list(tmp.iterdir()))}.db", SIEVE_STORE_BATCH=500, **overrides)
    stages.open()
    started = time.perf_counter()
    for doc in docs:
        stages.process(article_of(doc))
    elapsed = time.perf_counter() - started
    db = stages.shared.db
    stages.shared.commit()
    rows = db.execute("SELECT id, url, text, duplicate_of, duplicate_rule FROM articles ORDER BY id").fetchall()
    removed = db.execute("SELECT a.url, r.position, r.reason FROM removed r JOIN articles a ON a.id = r.article_id").fetchall()
    outcome = Outcome(
        docs, rows, removed, stages.crawler.stats.get_stats(), stages.seconds,
        [type(stage).__name__ for stage in stages.stages], elapsed,
    )  # fmt: skip
    stages.close()
    return outcome


def exact_measures(a: str, b: str) -> tuple[float, float]:
    """Exact Jaccard similarity and containment of two stored texts."""
    config = fingerprints.MinhashConfig()
    x, y = config.text_shingles(a.split("\n\n")), config.text_shingles(b.split("\n\n"))
    shared = len(x & y)
    return shared / len(x | y), shared / min(len(x), len(y))


def table(title: str, rows: list[tuple[str, ...]], names: list[str]) -> None:
    print(f"\n| {title} | {' | '.join(names)} |")
    print("|---" * (title.count("|") + len(names) + 1) + "|")
    for row in rows:
        print(f"| {' | '.join(row)} |")


def quality(args: argparse.Namespace) -> None:
    bodies = load_real_bodies(args.data)
    docs = build_corpus(bodies, args.base, args.copies, args.quotes, args.sources, args.seed, args.syndicated)
    existing = [d for d in docs if d.kind is None]
    n_paragraphs = sum(len(d.paragraphs) for d in docs)
    print(f"\n## Quality: {len(docs)} articles ({args.base} originals, {args.copies} copies, {len(docs) - len(existing)} "
          f"syndicated copies and distinct stories), {n_paragraphs} paragraphs, {args.sources} sources, "
          f"{len(bodies)} real article bodies; each rule in turn on a new database\n")
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = {name: run(docs, Path(tmp), overrides) for name, overrides in RULES.items()}
    names = list(outcomes)
    peak_rss = peak_rss_mb()
    first = outcomes[names[0]]

    # Syndicated copies and distinct pairs.
    rows = []
    for kind in SYNDICATED_KINDS:
        copies = [d for d in docs if d.kind == kind]
        measures = [exact_measures(first.text[first.id_of[d.key]], first.text[first.id_of[d.copy_of]]) for d in copies]
        linked = [fraction(sum(o.together(d.key, d.copy_of) for d in copies), len(copies)) for o in outcomes.values()]
        rows.append((kind, str(len(copies)), f"{np.mean([m[0] for m in measures]):.3f}", f"{np.mean([m[1] for m in measures]):.3f}", *linked))
    table("syndicated copy | copies | mean exact Jaccard | mean exact containment", rows, [f"linked, {n}" for n in names])
    rows = []
    for kind in DISTINCT_KINDS:
        pairs = [d for d in docs if d.kind == kind and d.shares_with and d.key in first.id_of]
        linked = [str(sum(o.together(d.key, d.shares_with) for d in pairs)) for o in outcomes.values()]
        texts = [(first.text[first.id_of[d.key]], first.text[first.id_of[d.shares_with]]) for d in pairs]
        containment = max(exact_measures(a, b)[1] for a, b in texts)
        words = sorted(min(fingerprints.normalized_word_count(a), fingerprints.normalized_word_count(b)) for a, b in texts)
        rows.append((kind, str(len(pairs)), f"{containment:.3f}", f"{words[len(words) // 2]} / {words[-1]}", *linked))
    for o in outcomes.values():
        story = {o.id_of[d.key]: d.story for d in docs if d.key in o.id_of}
        links = [(a, b) for a, b, *_ in ((r[0], r[3]) for r in o.rows) if b is not None]
        o.false_links = [(a, b) for a, b in links if story[a] != story[b]]
    rows.append(("all links between different stories (false links)", "", "", "", *[str(len(o.false_links)) for o in outcomes.values()]))
    table("distinct stories sharing text | pairs | max exact containment | shorter text, words: median / max", rows, [f"linked, {n}" for n in names])
    last = outcomes[names[-1]]
    for kind in SYNDICATED_KINDS:
        missed = [d for d in docs if d.kind == kind and not last.together(d.key, d.copy_of)]
        for d in missed:
            a, b = last.text[last.id_of[d.key]], last.text[last.id_of[d.copy_of]]
            j, c = exact_measures(a, b)
            words = min(fingerprints.normalized_word_count(a), fingerprints.normalized_word_count(b))
            print(f"{names[-1]}: missed {kind}: exact Jaccard {j:.3f}, containment {c:.3f}, shorter text {words} words")
    for name, o in outcomes.items():
        briefs = [(d, o.text[o.id_of[d.key]]) for d in docs if d.kind == DISTINCT_KINDS[1] and o.together(d.key, d.shares_with)]
        if briefs:
            print(f"\n{name}: briefs linked, their words: {sorted(fingerprints.normalized_word_count(t) for _, t in briefs)}")

    # The tables of before, on the corpus of before (syndicated copies and
    # distinct stories left out of every figure).
    scores = {name: existing_scores(o, existing) for name, o in outcomes.items()}
    for title in scores[names[0]]:
        table(title, [(label, *[scores[n][title][i][1] for n in names]) for i, (label, _) in enumerate(scores[names[0]][title])], names)
    print(f"\npeak memory (max RSS, corpus in memory included, both runs): {peak_rss:.0f} MB")


def existing_scores(o: Outcome, existing: list[Doc]) -> dict[str, list[tuple[str, str]]]:
    by_key = {d.key: d for d in existing}
    keys = [k for k in o.id_of if k in by_key]
    ids = [o.id_of[k] for k in keys]
    index = {article_id: n for n, article_id in enumerate(ids)}
    pairs = exact_jaccard_pairs([o.text[i] for i in ids], floor=0.5)
    root = o.root

    def exact(a: int, b: int) -> float:
        x, y = sorted((index[a], index[b]))
        return pairs.get((x, y), 0.0)

    result: dict[str, list[tuple[str, str]]] = {}
    rows = []
    for floor in (0.85, 0.8):
        true_pairs = [(a, b) for (a, b), j in pairs.items() if j >= floor]
        found = sum(root[ids[a]] == root[ids[b]] for a, b in true_pairs)
        rows.append((f"recall, pairs with exact Jaccard >= {floor}", fraction(found, len(true_pairs))))
    links = [(r[0], r[3], r[4]) for r in o.rows if r[3] is not None and r[0] in index and r[3] in index]
    resemblance = [(a, b) for a, b, rule in links if rule == "resemblance"]
    for floor in (0.8, 0.85):
        good = sum(exact(a, b) >= floor for a, b in resemblance)
        rows.append((f"precision, resemblance links with exact Jaccard >= {floor}", fraction(good, len(resemblance))))
    containment = [(a, b) for a, b, rule in links if rule == "containment"]
    story = {o.id_of[k]: by_key[k].story for k in keys}
    rows.append(("precision, containment links within one story", fraction(sum(story[a] == story[b] for a, b in containment), len(containment))))
    rows.append(("articles marked duplicate (resemblance / containment)", f"{len(links)} ({len(resemblance)} / {len(containment)})"))
    result["article duplicates"] = rows

    rows = []
    for rate in EDIT_RATES:
        copies = [d for d in existing if d.edit_rate == rate]
        if copies:
            caught = sum(o.together(d.key, d.copy_of) for d in copies)
            sims = np.mean([exact(o.id_of[d.key], o.id_of[d.copy_of]) for d in copies])
            rows.append((f"{rate:.0%} (mean exact Jaccard {sims:.3f})", fraction(caught, len(copies))))
    result["injected copy, words edited: marked duplicate of it"] = rows

    removed_as = {(url.rsplit("/", 1)[1], position): reason for url, position, reason in o.removed}
    labelled = [(d.key, i, label) for d in existing for i, label in enumerate(d.labels)]
    boilerplate = [(k, i) for k, i, label in labelled if label == "boilerplate"]
    found = sum(removed_as.get(x) not in (None, "repeat") for x in boilerplate)
    by_dedup = sum(removed_as.get(x) == "site-boilerplate" for x in boilerplate)
    site_removals = [x for x, reason in removed_as.items() if reason == "site-boilerplate" and x[0] in by_key]
    correct = sum(by_key[k].labels[i] == "boilerplate" for k, i in site_removals)
    quotes = [(k, i) for k, i, label in labelled if label == "quote"]
    quotes_removed = sum(x in removed_as for x in quotes)
    quote_reasons = sorted({removed_as[x] for x in quotes if x in removed_as})
    result["site boilerplate"] = [
        ("recall, boilerplate lines removed (any reason but repeat)", fraction(found, len(boilerplate))),
        ("... of them as site-boilerplate (the rest by the cleaning stage's rules)", str(by_dedup)),
        ("precision, site-boilerplate removals that were boilerplate", fraction(correct, len(site_removals))),
        ("quotes shared by two articles, removed", f"{quotes_removed} of {len(quotes)} {quote_reasons or ''}"),
        ("boilerplate paragraphs found (distinct, whole corpus)", str(o.stats.get("sieve/dedup/site_boilerplate_found", 0))),
        ("removed from earlier articles (retroactively, whole corpus)", str(o.stats.get("sieve/dedup/retroactive_removals", 0))),
    ]
    n_paragraphs = sum(len(d.paragraphs) for d in o.docs)
    result["speed (whole corpus)"] = [
        ("paragraphs/s, clean + repeats + dedup + store", f"{n_paragraphs / o.elapsed:,.0f}"),
        *[(f"share of time in {name}", f"{seconds / o.elapsed:.1%}") for name, seconds in zip(o.stage_names, o.stage_seconds)],
        ("representatives replaced by a longer copy", str(o.stats.get("sieve/dedup/representatives_replaced", 0))),
    ]
    return result


# --- scale ----------------------------------------------------------------------------


def synthetic_docs(bodies: list[list[str]], count: int, seed: int, prefix: str) -> list[Doc]:
    gen = Generator(bodies, seed)
    docs = []
    for i in range(count):
        source = f"site-{i % 50:02d}"
        paragraphs = gen.article(len(bodies) + i)
        for line in source_boilerplate(source)[:2]:
            paragraphs.insert(gen.rng.randint(1, len(paragraphs) - 1), line)
        docs.append(Doc(f"{prefix}{i}", source, paragraphs, []))
    return docs


def grow(db_path: Path, bodies: list[list[str]], target: int, seed: int) -> float:
    """Fill the database up to ``target`` articles through the stages."""
    stages = Stages(db_path, SIEVE_STORE_BATCH=2000)
    stages.open()
    have = stages.shared.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    started = time.perf_counter()
    for doc in synthetic_docs(bodies, target - have, seed + have, prefix=f"g{have}-"):
        stages.process(article_of(doc))
    stages.close()
    return time.perf_counter() - started


def probe(args: argparse.Namespace) -> None:
    """In a fresh process: open the database as a crawl does, dedup N new
    articles (a third of them copies of stored ones), roll back, and report."""
    started = time.perf_counter()
    stages = Stages(args.probe, SIEVE_STORE_BATCH=10**9)
    stages.open()
    startup = time.perf_counter() - started
    bodies = load_real_bodies(args.data)
    docs = synthetic_docs(bodies, args.probe_articles, seed=10**6, prefix="p")
    # Pick by rowid: ORDER BY random() over the texts would sort them all in memory.
    top = stages.shared.db.execute("SELECT max(id) FROM articles").fetchone()[0] or 0
    picks = random.Random(1).sample(range(1, top + 1), min(top, args.probe_articles // 3))
    stored = [
        stages.shared.db.execute("SELECT text, source FROM articles WHERE id = ?", [i]).fetchone() for i in picks
    ]
    docs += [Doc(f"q{i}", source, text.split("\n\n"), []) for i, (text, source) in enumerate(stored)]
    started = time.perf_counter()
    found = 0
    for doc in docs:
        item = stages.process(article_of(doc))
        found += getattr(item, "duplicate_of", None) is not None
    per_article = (time.perf_counter() - started) / len(docs)
    stages.shared.db.conn.rollback()
    rss = peak_rss_mb()
    print(json.dumps({"startup_s": startup, "ms_per_article": per_article * 1000, "rss_mb": rss, "copies_found": found, "copies": len(stored)}))


def scale(args: argparse.Namespace) -> None:
    bodies = load_real_bodies(args.data)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"\n## Start-up and per-article cost as the database grows ({args.probe_articles} new articles per probe)\n")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "scale.db"
        for size in [0, *sizes]:
            build = grow(db_path, bodies, size, args.seed) if size else 0.0
            command = [sys.executable, __file__, "--probe", str(db_path), "--probe-articles", str(args.probe_articles), "--data", str(args.data)]
            measured = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            size_mb = db_path.stat().st_size / 1e6 if db_path.exists() else 0.0
            results.append((size, build, size_mb, measured))
            print(f"  {size:>7} stored: built in {build:,.0f} s, {measured}", flush=True)
    base = results[0][3]
    print("\n| stored articles | database MB | start-up s | ratio to empty | ms per new article | ratio to empty | peak RSS MB | ratio to empty | stored copies found |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size, _, size_mb, m in results:
        print(
            f"| {size:,} | {size_mb:,.0f} | {m['startup_s']:.3f} | {m['startup_s'] / base['startup_s']:.2f} | "
            f"{m['ms_per_article']:.2f} | {m['ms_per_article'] / base['ms_per_article']:.2f} | {m['rss_mb']:.0f} | "
            f"{m['rss_mb'] / base['rss_mb']:.2f} | {m['copies_found']}/{m['copies']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--base", type=int, default=1200, help="original articles in the quality corpus")
    parser.add_argument("--copies", type=int, default=450, help="near-duplicate copies injected")
    parser.add_argument("--quotes", type=int, default=150, help="quotes printed by two articles each")
    parser.add_argument("--syndicated", type=int, default=40, help="syndicated copies of each kind, distinct pairs of each kind")
    parser.add_argument("--sources", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sizes", default="1000,10000,100000", help="database sizes for the scale table")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-articles", type=int, default=300)
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"benchmark data not found: {args.data} (the shared folder must sit beside the repository)")
    if args.probe:
        probe(args)
        return
    if not args.skip_quality:
        quality(args)
    if not args.skip_scale:
        scale(args)


if __name__ == "__main__":
    main()
