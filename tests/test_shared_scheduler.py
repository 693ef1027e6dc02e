"""crawler.shared_scheduler: the scrapy-redis methods it copies and mends
are still the ones it copied. When this fails, scrapy-redis changed them:
compare its new code with crawler/shared_scheduler.py and copy again."""

from __future__ import annotations

import hashlib
import inspect
from importlib.metadata import version

import pytest

from crawler.shared_scheduler import COPIED_FROM, TARGET


def test_installed_scrapy_redis_is_the_version_targeted():
    assert version("scrapy-redis") == TARGET


@pytest.mark.parametrize("method", COPIED_FROM)
def test_guard_copied_method_is_unchanged_in_scrapy_redis(method):
    from scrapy_redis.scheduler import Scheduler

    assert hashlib.sha256(inspect.getsource(getattr(Scheduler, method)).encode()).hexdigest()[:16] == COPIED_FROM[method]
