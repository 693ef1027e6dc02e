"""Document stages that misbehave on purpose, for the worker-pool and
exit-status tests: one kills its process, hangs, raises, or takes memory
for a moment, on pages that ask for it; one is slow, so that a test can stop a crawl half-way."""

from __future__ import annotations

import os
import time
from typing import Any

from crawler.items import Page
from pipelines.stage import DocumentStage


class FaultInjector(DocumentStage):
    @classmethod
    def build(cls, settings, stats) -> FaultInjector:
        return cls()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Page):
            if b"CRASH-THE-WORKER" in item.body:
                os._exit(13)
            if b"HANG-THE-WORKER" in item.body:
                time.sleep(3600)
            if b"RAISE-IN-THE-STAGE" in item.body:
                raise RuntimeError("this stage fails on purpose")
            if b"TAKE-300-MB-A-MOMENT" in item.body:
                taken = b"x" * (300 * 2**20)  # written, so resident
                del taken
            if b"RAISE-WITH-THE-BODY" in item.body:
                raise ValueError(f"cannot use {item.body.decode()}")
        return item


class SlowStage(DocumentStage):
    """Takes ``SECONDS_PER_PAGE`` over each page (in each worker process)."""

    SECONDS_PER_PAGE = 0.05

    @classmethod
    def build(cls, settings, stats) -> SlowStage:
        return cls()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Page):
            time.sleep(self.SECONDS_PER_PAGE)
        return item
