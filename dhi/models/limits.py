"""The DHI-MQTT binding's message limits (BINDING R12.2-3, R12.2-4): one table and one bucket,
used by the hub's DHI-MQTT adapter to enforce them and by the conformance suite to check them."""

from __future__ import annotations

from dataclasses import dataclass, field

KIB = 1024
#: topic kind -> largest payload in bytes; every kind not listed has ``DEFAULT_PAYLOAD_LIMIT``
PAYLOAD_LIMITS: dict[str, int] = {"desc": 256 * KIB}
DEFAULT_PAYLOAD_LIMIT = 64 * KIB
#: a device's state and event messages: a burst of this many …
RATE_BURST = 100
#: … then this many per second on average
RATE_PER_SECOND = 10.0
#: topic kinds the rate limit counts (answers on cmd/result are paced by the requester)
RATE_LIMITED = frozenset({"state", "event"})


def payload_limit(kind: str) -> int:
    """The largest payload allowed on topics of ``kind`` (``desc``, ``state``, ``event`` …)."""
    return PAYLOAD_LIMITS.get(kind, DEFAULT_PAYLOAD_LIMIT)


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; each message takes one."""

    capacity: float = RATE_BURST
    rate: float = RATE_PER_SECOND
    tokens: float = field(default=-1.0)
    last: float | None = None

    def take(self, now: float) -> bool:
        """Spend a token at time ``now`` (seconds, any monotonic clock); False when none is left."""
        if self.last is None:
            self.tokens = self.capacity
        else:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True
