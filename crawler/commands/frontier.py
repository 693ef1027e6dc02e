"""``scrapy frontier SPIDER [--clear]``: the shared frontier of a spider's
crawlers (``SIEVE_REDIS_URL``): how many requests wait and how many were
seen; ``--clear`` empties both, which starts a new run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.cluster import DUPEFILTER_KEY, QUEUE_KEY

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "SPIDER [--clear]"

    def short_desc(self) -> str:
        return "Show, or clear to start a new run, the shared frontier on SIEVE_REDIS_URL"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--clear", action="store_true", help="empty the queue and the seen requests: a new run")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give the spider's name, e.g. scrapy frontier site", print_help=False)
        url = self.settings.get("SIEVE_REDIS_URL")
        if not url:
            raise UsageError("no shared frontier: set SIEVE_REDIS_URL (-s SIEVE_REDIS_URL=redis://host:6379/0)", print_help=False)
        try:
            import redis
        except ImportError:
            raise UsageError("pip install -r requirements-cluster.txt", print_help=False) from None
        keys = {"queue": QUEUE_KEY % {"spider": args[0]}, "seen": DUPEFILTER_KEY % {"spider": args[0]}}
        client = redis.Redis.from_url(url)
        try:
            counts = {name: client.zcard(key) if name == "queue" else client.scard(key) for name, key in keys.items()}
            if opts.clear:
                client.delete(*keys.values())
        except redis.RedisError as exc:
            raise UsageError(f"cannot reach {url}: {exc}", print_help=False) from None
        action = "cleared" if opts.clear else "holds"
        print(f"{args[0]}: the frontier {action} {counts['queue']} waiting requests, {counts['seen']} seen")
