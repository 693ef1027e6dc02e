"""The repeat stage: repeated paragraphs inside one article."""

from __future__ import annotations

import pytest
import xxhash
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.items import Article, Paragraph
from pipelines import fingerprints
from pipelines.fingerprints import MinhashConfig, normalize
from pipelines.repeats import RepeatFinder, RepeatPipeline
from tests.conftest import project_crawler

A = "Riverton's city council approved a budget on Tuesday night after a four-hour meeting that ran past midnight."
B = "Transit director Helen Park said the new routes would run every twenty minutes during the day and every forty in the evening."
C = "Property taxes will rise by one and a half percent, less than the finance department proposed in January."


def run(texts: list[str], **overrides) -> Article:
    article = Article(url="file:///x.txt", kind="text", source="x", paragraphs=[Paragraph(i, t) for i, t in enumerate(texts)])
    return RepeatPipeline.from_crawler(project_crawler(**overrides)).process_item(article)


def kept(article: Article) -> list[str]:
    return [p.text for p in article.paragraphs]


def test_repeated_paragraph_is_kept_once():
    article = run([A, B, A, C])
    assert kept(article) == [A, B, C]
    assert [(r.position, r.reason, r.match_position) for r in article.removed] == [(2, "repeat", 0)]


def test_repeat_differing_in_case_punctuation_and_spacing_is_removed():
    variant = A.upper().replace(",", "").replace(" ", "  ").replace("-", " ")
    assert kept(run([A, B, variant])) == [A, B]


def test_lightly_edited_repeat_is_removed():
    edited = A.replace("Tuesday", "Tuesday evening")
    assert kept(run([A, B, edited])) == [A, B]


def test_different_paragraphs_on_the_same_subject_are_kept():
    other = "Riverton's school board approved its own budget on Wednesday after a short meeting that ended early."
    assert kept(run([A, other])) == [A, other]


def test_short_paragraph_is_removed_only_as_an_exact_repeat():
    assert kept(run(["Photo: AFP", A, "Photo: AFP"])) == ["Photo: AFP", A]
    assert kept(run(["Read more here", A, "Read more there"])) == ["Read more here", A, "Read more there"]


def test_threshold_setting_decides_what_counts_as_a_repeat():
    edited = A.replace("four-hour meeting", "long meeting")
    assert kept(run([A, edited], SIEVE_REPEAT_THRESHOLD=0.8)) == [A]
    assert kept(run([A, edited], SIEVE_REPEAT_THRESHOLD=1.0)) == [A, edited]


def test_a_repeat_of_a_repeat_points_at_the_first_occurrence():
    article = run([A, A, B, A])
    assert [(r.position, r.match_position) for r in article.removed] == [(1, 0), (3, 0)]


# --- properties -------------------------------------------------------------

POOL = [A, B, C, "Photo: AFP", "Read more", A.replace("Tuesday", "Monday"), B.lower()]
ARTICLES = st.lists(st.sampled_from(POOL), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(ARTICLES)
def test_a_first_occurrence_is_never_removed(texts):
    article = run(texts)
    positions_kept = {p.position for p in article.paragraphs}
    for removal in article.removed:
        assert removal.match_position in positions_kept
        assert removal.match_position < removal.position


@settings(max_examples=200, deadline=None)
@given(ARTICLES)
def test_output_is_a_subsequence_without_exact_repeats(texts):
    article = run(texts)
    positions = [p.position for p in article.paragraphs]
    assert positions == sorted(positions)
    assert all(texts[p.position] == p.text for p in article.paragraphs)
    normalized = [normalize(t) for t in kept(article)]
    assert len(normalized) == len(set(normalized))
    assert texts[0] == kept(article)[0]


def test_finder_is_deterministic():
    texts = [Paragraph(i, t) for i, t in enumerate(POOL * 3)]
    assert RepeatFinder(0.8, MinhashConfig()).find(texts)[0] == RepeatFinder(0.8, MinhashConfig()).find(texts)[0]


@pytest.mark.parametrize("windows_at_once", [fingerprints.WINDOWS_AT_ONCE, 7])
def test_signatures_equal_datasketch_minhash_update_batch(monkeypatch, windows_at_once):
    """The signatures Sieve stores are datasketch's, for the scheme it names,
    however many shingle windows are hashed at once (7: texts in several
    batches, and longer ones in parts)."""
    monkeypatch.setattr(fingerprints, "WINDOWS_AT_ONCE", windows_at_once)
    config = MinhashConfig()
    texts = [A, B, C, A.upper(), "Ünïcode—text, with ﬁligatures and 数字 too, long enough for shingles.", "abcd", ""]
    for text, signature in zip(texts, config.signatures_of(texts)):
        minhash = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=xxhash.xxh32_intdigest, scheme="affine32")
        minhash.update_batch(config.shingles(normalize(text)))
        assert signature.tolist() == minhash.hashvalues.tolist()
