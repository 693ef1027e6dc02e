from __future__ import annotations

import functools
import inspect
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, project_crawler, read_rows, scrapy_crawl

#: What a test (or a fixture it uses) calls when it runs a crawl or another
#: ``scrapy`` command, in a subprocess or in this process.
CRAWL_CALLS = ("scrapy_crawl(", "crawl_command(", "scrapy_command(", "project_crawler(", "CrawlerProcess(", "subprocess.")


@functools.cache
def source_of(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def crawling_names(module) -> set[str]:
    """The names of the functions and classes of ``module`` (and those it
    imports from tests/) that run a crawl, directly or through one another."""
    defined = {
        name: source_of(value)
        for name, value in vars(module).items()
        if (inspect.isfunction(value) or inspect.isclass(value)) and getattr(value, "__module__", "").startswith("tests")
    }
    calls = set(CRAWL_CALLS)
    while True:
        found = {f"{name}(" for name, source in defined.items() if any(call in source for call in calls)}
        if found <= calls:
            return calls
        calls |= found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``crawl`` every test that runs a crawl: itself, through a
    function of its module, or through one of its fixtures."""
    by_module: dict[str, set[str]] = {}
    for item in items:
        module = getattr(item, "module", None)
        if module is None:
            continue
        calls = by_module.setdefault(module.__name__, crawling_names(module))
        fixtures = getattr(item, "_fixtureinfo", None)
        definitions = fixtures.name2fixturedefs.values() if fixtures else ()
        sources = [source_of(getattr(item, "function", None)), *(source_of(d.func) for defs in definitions for d in defs)]
        if any(call in source for source in sources for call in calls):
            item.add_marker(pytest.mark.crawl)


@pytest.fixture
def fresh_db():
    """A new Sieve database in memory, at the current schema (sqlite-utils'
    own tests have the same fixture), wrapped in the Database extension."""
    from crawler.storage.database import Database

    database = Database(":memory:", batch_size=100, flush_seconds=60, busy_timeout=1)
    database.open()
    yield database
    database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sieve.db"


@pytest.fixture
def rows(db_path: Path):
    def query(sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return read_rows(db_path, sql, params)

    return query


@pytest.fixture
def crawl(db_path: Path):
    def run(spider: str, **kwargs) -> subprocess.CompletedProcess[str]:
        return scrapy_crawl(spider, db=db_path, **kwargs)

    return run


@pytest.fixture
def seeds_dir() -> Path:
    return FIXTURES / "seeds"


@pytest.fixture
def chdir_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture
def stages():
    """The document stages (those before the ones that use the database), as
    configured in ITEM_PIPELINES, applied in order to one item."""
    from scrapy.utils.conf import build_component_list
    from scrapy.utils.misc import build_from_crawler, load_object

    def process(item, **overrides):
        crawler = project_crawler(**overrides)
        for path in build_component_list(crawler.settings.getwithbase("ITEM_PIPELINES")):
            if path.startswith(("pipelines.cross_dedup.", "pipelines.store.")):
                continue
            item = build_from_crawler(load_object(path), crawler).process_item(item)
        return item

    return process


@pytest.fixture(scope="module")
def site():
    """The fixture news site, served on 127.0.0.1 for the tests of a module."""
    from tests.fixture_site import SiteServer

    server = SiteServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_site():
    """The fixture site, its request log for this test alone."""
    from tests.fixture_site import SiteServer

    server = SiteServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def socket_dir(tmp_path_factory) -> Iterator[Path]:
    """A folder for the Unix sockets of the servers tests start: a socket of
    its own is one no other test run can bind or answer on. pytest's own
    folder unless its path is too long for a socket (108 bytes at most)."""
    folder = tmp_path_factory.mktemp("sockets")
    if len(str(folder)) <= 80:
        yield folder
        return
    short = Path(tempfile.mkdtemp(dir="/tmp", prefix="sieve-"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)
