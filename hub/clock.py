"""The hub's clock. Scenarios run faster than real time, so every rule timer asks this."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time; ``speed`` > 1 makes simulated time run faster from ``start``."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()
        self._real = start is None and speed == 1.0

    @property
    def real(self) -> bool:
        """Whether this is the wall clock (no simulated start, speed 1)."""
        return self._real

    def now(self) -> datetime:
        if self._real:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of hub time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def __repr__(self) -> str:
        return f"Clock(now={self.now().isoformat()}, speed={self.speed})"
