"""Times as dhome writes and reads them: RFC 3339 timestamps (every DHI message) and the
durations people write in config and scenario files."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_CLOCK = re.compile(r"^(\d{1,4}):([0-5]\d)(?::([0-5]\d))?$")
_COMPACT = re.compile(r"^(?=\d)(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?$")


def parse_duration_text(text: str) -> timedelta | None:
    """``'HH:MM[:SS]'`` (hours may exceed 23) or compact ``'1d2h30m15s'`` (any non-empty subset,
    in this order); ``None`` when the text is neither. The one duration grammar of dhome: the
    alert config and scenario files wrap it with their own extra forms and messages."""
    if m := _COMPACT.match(text):
        d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if m := _CLOCK.match(text):
        return timedelta(hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3] or 0))
    return None


_last_formatted: tuple[datetime | None, str] = (None, "")


def isoformat(t: datetime) -> str:
    """``t.isoformat()``, remembered for the last datetime *object*: one state report stamps
    all its properties, their history rows and event-log rows with the same object."""
    global _last_formatted
    last, text = _last_formatted
    if t is not last:
        text = t.isoformat()
        _last_formatted = (t, text)
    return text
