"""The modules one page visits on its way from ``scrapy crawl files`` to its
row, from a call trace of Sieve's own modules: each hand-off from one module
to another is counted once, however often a loop repeats it (clean calling a
text helper per paragraph is one hand-off there and one back), and a
hand-off to a module the page has already been through is a return. Run from
the repo root: ``python bench/data_path.py [FILE]`` (default: an example
HTML article)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "examples" / "articles" / "riverton-council-budget.html"
    folder = Path(tempfile.mkdtemp())
    shutil.copy(source, folder / source.name)
    visits: list[str] = []
    tracing = done = False

    def module_of(frame) -> str | None:
        name = frame.f_code.co_filename
        if not name.startswith(str(REPO)) or "/bench/" in name:
            return None
        return str(Path(name).relative_to(REPO))

    def profile(frame, event, arg):
        nonlocal tracing, done
        if event != "call" or done:
            return
        code = frame.f_code
        if code.co_name == "document" and code.co_filename.endswith("crawler/spiders/files.py"):
            tracing = True
        if not tracing:
            return
        module = module_of(frame)
        if module is not None and (not visits or visits[-1] != module):
            visits.append(module)
        if code.co_name == "document_done" and code.co_filename.endswith("crawler/storage/database.py"):
            done = True

    settings = get_project_settings()
    settings.set("SIEVE_DB", str(folder / "sieve.db"))
    settings.set("SIEVE_WORKERS", 0)  # one process: the trace sees every stage
    settings.set("LOG_LEVEL", "WARNING")
    process = CrawlerProcess(settings)
    process.crawl("files", path=str(folder))
    sys.setprofile(profile)
    process.start()
    sys.setprofile(None)
    path, handoffs = visits[:1], set()
    for before, after in zip(visits, visits[1:]):
        if (before, after) not in handoffs:
            handoffs.add((before, after))
            path.append(after)
    seen: set[str] = set()
    returns = 0
    for number, module in enumerate(path, 1):
        again = module in seen
        returns += again
        seen.add(module)
        print(f"{number:3} {'  (again)' if again else '         '} {module}")
    print(f"\n{len(path)} visits to {len(seen)} modules; {returns} return to a module already left")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
