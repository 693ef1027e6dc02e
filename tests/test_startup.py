"""Start-up: what a crawl's processes import. Each import named here cost a
tenth of a second or more of every start (see docs/operations.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import settings as project_settings
from tests.helpers import REPO, write_articles


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, list[set[str]]]:
    """The packages each process of a two-worker ``files`` crawl imported,
    the crawl started by the ``scrapy`` console script, as users start it."""
    folder = tmp_path_factory.mktemp("startup")
    write_articles(folder / "in", 8)
    report = folder / "modules.jsonl"
    command = [
        str(Path(sys.executable).with_name("scrapy")), "crawl", "files", "-a", f"path={folder / 'in'}",
        "-s", f"SIEVE_DB={folder / 'sieve.db'}", "-s", "SIEVE_WORKERS=2",
        "-s", "ITEM_PIPELINES=" + json.dumps({"tests.module_report.WorkerModules": 50, **project_settings.ITEM_PIPELINES}),
        "-s", "EXTENSIONS=" + json.dumps({**project_settings.EXTENSIONS, "tests.module_report.CrawlModules": 0}),
    ]  # fmt: skip
    env = {**os.environ, "MODULES_REPORT": str(report), "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    by_process: dict[str, list[set[str]]] = {"crawl": [], "worker": []}
    for line in report.read_text().splitlines():
        entry = json.loads(line)
        by_process[entry["process"]].append(set(entry["packages"]))
    return by_process


def test_worker_processes_do_not_import_scrapy(imported):
    assert len(imported["worker"]) == 2
    for packages in imported["worker"]:
        assert "trafilatura" in packages
        assert "scrapy" not in packages


@pytest.mark.parametrize("package", ["aiohttp", "tldextract", "protego", "scipy", "trafilatura"])
def test_crawl_process_does_not_import_what_a_files_crawl_does_not_use(imported, package):
    [packages] = imported["crawl"]
    assert "scrapy" in packages
    assert package not in packages
