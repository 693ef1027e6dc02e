"""The README's two set-up commands stay true."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess

from tests.helpers import REPO


def readme_command(marker: str) -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.+?)\n```", readme)
    assert match, f"README has no {marker} block"
    return match.group(1)


def test_ci_runs_the_readme_test_command():
    assert readme_command("test-command") in (REPO / ".ci" / "run").read_text().splitlines()


def test_readme_main_command_cleans_the_examples_into_sieve_db(tmp_path):
    copy = tmp_path / "sieve"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".git", "*.db", "*.db-*", "__pycache__", ".hypothesis"))
    result = subprocess.run(["bash", "-c", readme_command("main-command")], cwd=copy, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(copy / "sieve.db")
    examples = [p for p in (copy / "examples" / "articles").iterdir() if not p.name.startswith(".")]
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(examples)
    assert conn.execute("SELECT count(*) FROM skipped").fetchone()[0] == 0
    titles = {row[0] for row in conn.execute("SELECT title FROM articles")}
    assert "La crème brûlée, reine des desserts de bistrot" in titles
