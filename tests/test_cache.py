"""The start-up cache: what it keeps is what the packages would give, it is
made once, and a cache that cannot be used only costs time."""

from __future__ import annotations

import random

import numpy as np
import pytest
from py3langid import langid
from scrapy.crawler import Crawler
from scrapy.settings import Settings

import settings as project_settings
from crawler.cache import cache_dir, cached
from crawler.spiders.files import FilesSpider
from crawler.spiders.site import SiteSpider
from pipelines import language_model
from pipelines.fingerprints import MinhashConfig
from tests.helpers import REPO

TEXTS = [
    "The city council approved the budget on Tuesday night after a four-hour meeting.",
    "Der Stadtrat hat den Haushalt am Dienstagabend nach einer vierstündigen Sitzung gebilligt.",
    "Le conseil municipal a adopté le budget mardi soir après une réunion de quatre heures.",
    "El ayuntamiento aprobó el presupuesto el martes por la noche tras una reunión de cuatro horas.",
    "Городской совет утвердил бюджет во вторник вечером после четырёхчасового заседания.",
    "市议会在经过四个小时的会议后于周二晚间批准了预算。",
]


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "sieve"


def test_cache_lives_under_xdg_cache_home(empty_cache):
    assert cache_dir() == empty_cache


def test_cached_value_is_made_once_then_read(empty_cache):
    made = []

    def write(path):
        made.append(path)
        path.write_text("42")

    assert cached("answer.txt", write, lambda path: int(path.read_text())) == 42
    assert cached("answer.txt", write, lambda path: int(path.read_text())) == 42
    assert len(made) == 1
    assert [p.name for p in empty_cache.iterdir()] == ["answer.txt"]  # no temporary file left


def test_unreadable_cache_file_is_made_again(empty_cache):
    empty_cache.mkdir(parents=True)
    (empty_cache / "answer.txt").write_text("not a number")

    assert cached("answer.txt", lambda path: path.write_text("42"), lambda path: int(path.read_text())) == 42


def test_cache_that_cannot_be_written_gives_none(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))  # no folder can be made in it

    assert cached("answer.txt", lambda path: path.write_text("42"), lambda path: int(path.read_text())) is None


def test_failed_write_leaves_no_file(empty_cache):
    def write(path):
        path.write_text("half")
        raise OSError("No space left on device")

    assert cached("answer.txt", write, lambda path: int(path.read_text())) is None
    assert list(empty_cache.iterdir()) == []


def varied_texts() -> list[str | bytes]:
    """Texts in many scripts, cut anywhere, and random bytes: whatever reaches
    the automaton."""
    rng = random.Random(15)
    folder = REPO / "examples" / "articles"
    articles = [p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.iterdir()) if p.suffix in (".txt", ".html")]
    alphabet = "".join(TEXTS) + "0123456789 .,;:!?-–'\"«»\n\tÅåÆæØøĳŒœßÇçÑñ"
    texts: list[str | bytes] = [*TEXTS, "", "a", "A SHOUTED HEADLINE", b"\xff\xfe", b"caf\xc3"]
    for _ in range(150):
        article = rng.choice(articles)
        start = rng.randrange(len(article))
        texts.append(article[start : start + rng.randrange(1, 2500)])
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400))))
        texts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
    return texts


@pytest.fixture(scope="module")
def py3langids_own():
    return langid.LanguageIdentifier.from_model_file(language_model.PACKED)


def test_language_scores_are_py3langids_to_the_bit(py3langids_own):
    ours = language_model.Identifier(language_model.unpacked())
    for text in varied_texts():
        assert np.array_equal(ours._decide(text), py3langids_own._decide(text)), text
        assert ours.classify(text) == py3langids_own.classify(text)


def test_language_model_is_read_from_the_cache_mapped_not_unpacked(empty_cache, py3langids_own, monkeypatch):
    first = {name: language_model.array(name) for name in language_model.ARRAYS}
    monkeypatch.setattr(language_model, "unpacked", lambda: pytest.fail("unpacked again"))
    again = {name: language_model.array(name) for name in language_model.ARRAYS}

    assert all(isinstance(again[name], np.memmap) for name in language_model.LARGE)
    for name in language_model.ARRAYS:
        assert again[name].dtype == first[name].dtype
        assert np.array_equal(again[name], first[name])
    ours = language_model.Identifier(again)
    assert [ours.classify(text) for text in TEXTS] == [py3langids_own.classify(text) for text in TEXTS]


def test_language_model_without_a_cache_is_unpacked(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))  # no folder can be made in it

    assert not isinstance(language_model.array("nextmove"), np.memmap)
    assert np.array_equal(language_model.array("pc"), language_model.unpacked()["pc"])


def test_permutations_from_the_cache_are_datasketchs(empty_cache, monkeypatch):
    drawn = MinhashConfig().permutations  # drawn by datasketch, then kept
    assert np.array_equal(drawn, MinhashConfig().drawn_permutations())

    def no_datasketch(self):
        raise AssertionError("datasketch asked again")

    monkeypatch.setattr(MinhashConfig, "drawn_permutations", no_datasketch)
    again = MinhashConfig().permutations
    assert again.dtype == drawn.dtype
    assert np.array_equal(again, drawn)


def test_permutations_of_another_size_are_not_read_from_the_cache(empty_cache):
    _ = MinhashConfig().permutations  # fills the cache
    (file,) = empty_cache.iterdir()
    (empty_cache / file.name.replace("-128-", "-64-")).write_bytes(file.read_bytes())  # a wrong file

    smaller = MinhashConfig(num_perm=64, article_bands=16, paragraph_bands=5)
    assert smaller.permutations.shape == (2, 64)


@pytest.mark.parametrize(("spider", "loads_http"), [(FilesSpider, False), (SiteSpider, True)])
def test_only_web_spiders_load_scrapys_http_handler_and_retries(spider, loads_http):
    settings = Settings()
    settings.setmodule(project_settings)
    crawler = Crawler(spider, settings)

    assert (crawler.settings.getwithbase("DOWNLOAD_HANDLERS")["http"] is not None) is loads_http
    assert crawler.settings.getbool("RETRY_ENABLED") is loads_http
