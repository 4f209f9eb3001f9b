"""Malformed HTTP requests (a NUL in a header, a request line past the limit …) are answered
400 by aiohttp's parser, which then logs a full traceback at ERROR for each one: anyone on the
network could fill the log. This filter turns those records into one line without traceback,
at most one every ``interval`` seconds, and counts every one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

LOGGER = "aiohttp.server"


class MalformedRequestFilter(logging.Filter):
    def __init__(self, count: Callable[[], None], interval: float = 10.0) -> None:
        super().__init__()
        self._count = count
        self._interval = interval
        self._last = -1e9
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True  # a real failure keeps its traceback
        self._count()
        now = time.monotonic()
        if now - self._last < self._interval:
            self._suppressed += 1
            return False
        self._last = now
        reason = str(exc.message).splitlines()[0].strip() if exc.message else type(exc).__name__
        extra = f" (+{self._suppressed} more since the last line)" if self._suppressed else ""
        self._suppressed = 0
        original = record.getMessage()
        record.msg = "%s: malformed HTTP request answered %s (%s)%s"
        record.args = (original, exc.code, reason[:120], extra)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = None
        record.exc_text = None
        return True


def install(count: Callable[[], None]) -> Callable[[], None]:
    """Add the filter to aiohttp's server logger; returns its removal."""
    logger = logging.getLogger(LOGGER)
    flt = MalformedRequestFilter(count)
    logger.addFilter(flt)
    return lambda: logger.removeFilter(flt)
