"""Time formatting of the interface: RFC 3339 timestamps as every DHI message carries them."""

from __future__ import annotations

from datetime import datetime

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
