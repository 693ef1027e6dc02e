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
from tests.helpers import project_crawler

A = "Riverton's city council approved a budget on Tuesday night after a four-hour meeting that ran past midnight."
B = "Transit director Helen Park said the new routes would run every twenty minutes during the day and every forty in the evening."
C = "Property taxes will rise by one and a half percent, less than the finance department proposed in January."
#: Passages long enough (25 words and more) for a second copy to be an artefact.
LA = A + " Two councillors voted against it, saying the plan leaned on a one-time transfer from the reserve fund."
LB = B + " The first buses will start in September, and the city will add shelters at twelve of the new stops."
LC = C + " The finance committee will look at fees for parking and for the use of sports fields again in the spring."
QUESTION = "What will you miss most about the old harbour market?"


def run(texts: list[str], **overrides) -> Article:
    article = Article(url="file:///x.txt", kind="text", source="x", paragraphs=[Paragraph(i, t) for i, t in enumerate(texts)])
    return RepeatPipeline.from_crawler(project_crawler(**overrides)).process_item(article)


def kept(article: Article) -> list[str]:
    return [p.text for p in article.paragraphs]


def test_long_paragraph_printed_twice_is_kept_once():
    article = run([LA, LB, LA, LC])
    assert kept(article) == [LA, LB, LC]
    assert [(r.position, r.reason, r.match_position) for r in article.removed] == [(2, "repeat", 0)]


def test_repeat_differing_in_case_punctuation_and_spacing_is_removed():
    variant = LA.upper().replace(",", "").replace(" ", "  ").replace("-", " ")
    assert kept(run([LA, LB, variant])) == [LA, LB]


def test_lightly_edited_repeat_is_removed():
    edited = LA.replace("Tuesday", "Tuesday evening")
    assert kept(run([LA, LB, edited])) == [LA, LB]


def test_different_paragraphs_on_the_same_subject_are_kept():
    other = "Riverton's school board approved its own budget on Wednesday after a short meeting that ended early."
    assert kept(run([A, other])) == [A, other]


def test_run_of_short_paragraphs_printed_again_is_removed():
    article = run([A, B, C, LA, A, B, C])
    assert kept(article) == [A, B, C, LA]
    assert [(r.position, r.match_position) for r in article.removed] == [(4, 0), (5, 1), (6, 2)]


def test_question_asked_of_each_interviewee_is_kept():
    answers = [LA, LB, LC, A, B]
    texts = [text for answer in answers for text in (QUESTION, answer)]
    assert kept(run(texts)) == texts


def test_short_line_printed_twice_between_other_paragraphs_is_kept():
    texts = ["Portion Fix Containers: 2 green, 1 red", LA, "Portion Fix Containers: 2 green, 1 red", LB]
    assert kept(run(texts)) == texts


def test_passage_printed_three_times_is_the_articles_layout():
    texts = [LA, LB, LA, LC, LA]
    assert kept(run(texts)) == texts


def test_threshold_setting_decides_what_counts_as_the_same_text():
    edited = LA.replace("four-hour meeting", "long meeting")
    assert kept(run([LA, edited], SIEVE_REPEAT_THRESHOLD=0.8)) == [LA]
    assert kept(run([LA, edited], SIEVE_REPEAT_THRESHOLD=1.0)) == [LA, edited]


def test_each_copy_of_a_run_points_at_its_own_first_occurrence():
    article = run([LA, LB, LC, LA, LB])
    assert [(r.position, r.match_position) for r in article.removed] == [(3, 0), (4, 1)]


def test_stage_turned_off_removes_nothing_and_still_signs_every_paragraph():
    article = run([LA, LB, LA], SIEVE_REPEATS_ENABLED=False)
    assert kept(article) == [LA, LB, LA]
    found = article.fingerprints
    assert sorted(found.signatures) == sorted(found.paragraph_keys) == [0, 1, 2]
    assert found.signature is not None


def test_article_keys_are_computed_with_the_signature_in_the_stage():
    found = run([LA, LB, LA]).fingerprints
    assert found.article_keys == MinhashConfig().article_keys(found.signature) != []


def test_many_paragraph_document_loses_exactly_its_repeated_passage():
    import random

    rng = random.Random(7)
    words = LA.split() + LB.split() + LC.split()
    texts = [" ".join(rng.choice(words) for _ in range(12)) + f" {n}." for n in range(5000)]
    texts += texts[100:103]  # a run of three printed again at the end
    article = run(texts)
    assert [(r.position, r.match_position) for r in article.removed] == [(5000, 100), (5001, 101), (5002, 102)]
    assert len(article.fingerprints.signatures) == 5000


# --- properties -------------------------------------------------------------

POOL = [A, B, C, LA, LB, "Photo: AFP", "Read more", LA.replace("Tuesday", "Monday"), B.lower()]
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
def test_output_is_a_subsequence_keeping_the_first_paragraph(texts):
    article = run(texts)
    positions = [p.position for p in article.paragraphs]
    assert positions == sorted(positions)
    assert all(texts[p.position] == p.text for p in article.paragraphs)
    assert texts[0] == kept(article)[0]


@settings(max_examples=200, deadline=None)
@given(ARTICLES)
def test_only_texts_printed_twice_or_again_at_once_are_removed(texts):
    article = run(texts)
    counts = {}
    for text in texts:
        counts[normalize(text)] = counts.get(normalize(text), 0) + 1
    copy_of = {r.position: r.match_position for r in article.removed}
    for removal in article.removed:
        before = removal.position - 1
        # the paragraph before it is its original, another copy of the
        # original, or a text that the stage alone takes it to repeat
        again_at_once = removal.match_position in (before, copy_of.get(before)) or (
            before >= 0 and kept(run([texts[before], removal.text])) == [texts[before]]
        )
        assert counts[normalize(removal.text)] <= 2 or again_at_once


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


def test_paragraph_printed_many_times_in_a_row_is_kept_once_and_each_copy_recorded():
    article = run([A, LB, *[B] * 94, C])
    assert kept(article) == [A, LB, B, C]
    assert [(r.position, r.match_position) for r in article.removed] == [(i, 2) for i in range(3, 96)]


def test_short_line_printed_in_a_row_is_left_to_the_other_rules():
    assert kept(run([A, "Advertisement", "Advertisement", "Advertisement", C])) == [A, "Advertisement", "Advertisement", "Advertisement", C]
