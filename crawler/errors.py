"""Errors that stop a run before it starts, with a message of one line."""


class SieveError(Exception):
    """A problem the user can fix; ``scrapy crawl`` prints it as one line."""

    exit_status = 1


class SpiderArgumentError(SieveError, ValueError):
    """A spider argument is missing or wrong."""

    exit_status = 2


class SettingError(SieveError, ValueError):
    """A setting has a value that cannot work."""

    exit_status = 2

