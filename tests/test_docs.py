"""The documentation keeps up with the code: every setting, skip reason and
"unchanged" reason the code has is documented, and every relative link in
the Markdown files leads to a file.

The reasons are read from the source of crawler/ and pipelines/ with the
``ast`` module, not listed by hand, so a new one fails here until it is
documented. Nothing is imported from those packages: the scan does not
depend on which module a class lives in.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import settings

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SCANNED = ("crawler", "pipelines")
#: What an f-string's replacement fields become: f"http-{status}" is http-NNN.
PLACEHOLDER = "NNN"


def strings(node: ast.AST | None) -> Iterator[str]:
    """The strings an argument can be: a constant, an f-string (its fields
    as NNN), or either branch of a conditional expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(
            part.value if isinstance(part, ast.Constant) else PLACEHOLDER for part in node.values
        )
    elif isinstance(node, ast.IfExp):
        yield from strings(node.body)
        yield from strings(node.orelse)


def called_name(call: ast.Call) -> str | None:
    """``Skipped`` for ``Skipped(...)``, ``items.Skipped(...)`` and ``self.Skipped(...)``."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def argument(call: ast.Call, index: int, keyword: str | None) -> ast.AST | None:
    """The positional argument at ``index``, else the keyword argument."""
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if keyword and k.arg == keyword), None)


def calls() -> Iterator[ast.Call]:
    for package in SCANNED:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, ast.Call):
                    yield node


def reasons_in_code(where: dict[str, tuple[int, str | None]]) -> list[str]:
    """Every string passed to the named callables at the given argument
    (``{name: (position, keyword)}``), sorted, without repeats."""
    found: set[str] = set()
    for call in calls():
        name = called_name(call)
        if name in where:
            found.update(strings(argument(call, *where[name])))
    return sorted(found)


SKIP_REASONS = reasons_in_code(
    {
        "Skipped": (1, "reason"),
        "Unreadable": (0, "reason"),
        # Requests the downloader middlewares refuse (crawler/guards.py).
        "Refused": (0, "reason"),
        # The worker pool: self._replace(worker, "worker-crashed", detail).
        "_replace": (1, None),
    }
)
UNCHANGED_REASONS = reasons_in_code({"Unchanged": (1, "reason")})
SIEVE_SETTINGS = sorted(name for name in vars(settings) if name.isupper() and name.startswith("SIEVE_"))


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SIEVE_SETTINGS)
def test_every_sieve_setting_is_documented(name):
    assert re.search(rf"^\|\s*`{name}`\s*\|", doc("settings.md"), re.MULTILINE), (
        f"{name} has no row in the table of docs/settings.md"
    )


@pytest.mark.parametrize("reason", SKIP_REASONS)
def test_every_skip_reason_is_documented(reason):
    assert f"`{reason}`" in doc("spiders.md")


def test_skip_reason_scan_finds_the_reasons():
    # A scan broken by a refactor would find nothing and pass vacuously.
    assert len(SKIP_REASONS) >= 15, SKIP_REASONS
    assert "http-NNN" in SKIP_REASONS


@pytest.mark.parametrize("why", UNCHANGED_REASONS)
def test_every_unchanged_reason_is_documented(why):
    assert f"`{why}`" in doc("spiders.md")


def test_unchanged_reason_scan_finds_the_reasons():
    # crawler/items.py names five; fewer found means the scan missed some.
    assert len(UNCHANGED_REASONS) >= 5, UNCHANGED_REASONS


FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MARKDOWN_FILES = [REPO / "README.md", REPO / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCED_CODE.sub("", path.read_text(encoding="utf-8")))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE) and not t.startswith("#")]


def test_the_docs_have_relative_links():
    # The link test below must have something to check.
    assert DOCS.is_dir() and relative_links(REPO / "README.md")


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_readme_links_resolve(path):
    broken = [t for t in relative_links(path) if not (path.parent / t.split("#", 1)[0]).exists()]
    assert not broken, f"{path.relative_to(REPO)} links to missing files: {broken}"


def settings_rows() -> dict[str, str]:
    """docs/settings.md's rows of Sieve's settings: name -> default column."""
    return dict(re.findall(r"^\|\s*`(SIEVE_\w+)`\s*\|([^|]*)\|", doc("settings.md"), re.MULTILINE))


def test_settings_doc_has_one_row_per_declared_setting_and_no_other():
    from crawler.sieve_settings import BY_NAME

    rows = re.findall(r"^\|\s*`(SIEVE_\w+)`\s*\|", doc("settings.md"), re.MULTILINE)
    assert sorted(rows) == sorted(BY_NAME) == SIEVE_SETTINGS


@pytest.mark.parametrize("name", SIEVE_SETTINGS)
def test_documented_default_is_the_declared_one(name):
    from crawler.sieve_settings import BY_NAME

    default = BY_NAME[name].default
    column = settings_rows()[name].strip()
    if isinstance(default, list):
        assert all(f"`{value}`" in column for value in default[:2]) if default else column == "`[]`"
    elif default == "":
        assert column == "empty"
    else:
        assert column.startswith(f"`{default}`"), f"docs/settings.md gives {column} for {name}, declared {default!r}"


def counters_in_code() -> list[str]:
    """Every ``sieve/...`` stats name the code writes; an f-string's field
    ends the name there (``sieve/skipped/{reason}`` is ``sieve/skipped/``)."""
    found: set[str] = set()
    for package in SCANNED:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                    prefix = str(node.values[0].value)
                    if prefix.startswith("sieve/"):
                        found.add(prefix)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"sieve/[a-z_/.-]+", node.value):
                    found.add(node.value)
    return sorted(found)


COUNTERS = counters_in_code()


def test_counter_scan_finds_the_counters():
    assert len(COUNTERS) >= 15 and "sieve/articles_stored" in COUNTERS


@pytest.mark.parametrize("counter", COUNTERS)
def test_every_counter_is_explained(counter):
    assert f"`{counter}" in (DOCS / "operations.md").read_text()
