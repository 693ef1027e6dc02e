"""Errors that stop a run before it starts, with a message of one line, and
the checks of settings that raise them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


class SieveError(Exception):
    """A problem the user can fix; ``scrapy crawl`` prints it as one line."""

    exit_status = 1


class SpiderArgumentError(SieveError, ValueError):
    """A spider argument is missing or wrong."""

    exit_status = 2


class SettingError(SieveError, ValueError):
    """A setting has a value that cannot work."""

    exit_status = 2


def setting_int(settings: BaseSettings, name: str, *, minimum: int) -> int:
    """A whole-number setting, at least ``minimum``."""
    value = settings.get(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise SettingError(f"{name} must be at least {minimum}, not {number}")
    return number
