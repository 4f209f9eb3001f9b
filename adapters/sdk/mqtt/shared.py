"""One ref-counted connection per broker: adapters with equal ``BrokerSettings`` share it."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.sdk.mqtt.connection import MqttConnection
from adapters.sdk.mqtt.settings import BrokerSettings


@dataclass(eq=False)
class _Entry:
    conn: MqttConnection
    refs: int = 0


# Keyed by event loop too: a connection's sockets and futures belong to the loop that opened it.
_entries: dict[tuple[asyncio.AbstractEventLoop, BrokerSettings], _Entry] = {}
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def shared_connection(
    settings: BrokerSettings, *, logger: logging.Logger | None = None
) -> AsyncIterator[MqttConnection]:
    """``async with shared_connection(cfg.broker) as conn:`` — the first user opens the
    connection (errors propagate to it), later users with equal settings get the same one,
    the last one to leave closes it. Each user must remove its own subscriptions."""
    loop = asyncio.get_running_loop()
    key = (loop, settings)
    lock = _locks.setdefault(loop, asyncio.Lock())
    async with lock:
        entry = _entries.get(key)
        if entry is None or entry.conn.closed:
            conn = MqttConnection(settings, logger=logger)
            await conn.open()
            entry = _Entry(conn)
            _entries[key] = entry
        entry.refs += 1
    try:
        yield entry.conn
    finally:
        entry.refs -= 1
        if entry.refs == 0:
            if _entries.get(key) is entry:
                del _entries[key]
            await entry.conn.close()


def shared_count() -> int:
    """Open shared connections (for tests and diagnostics)."""
    return len(_entries)
