"""Replays of the event log for ``subscribe`` with ``since``: read and encoded off the event loop.

A replay is streamed in pages (``ws_replay_page`` rows each) until it reaches the live stream,
so a client may resume after any number of messages. Each page is read in the storage's
worker thread and validated + encoded in a thread of its own; at most ``ws_replay_concurrent``
pages are in flight at once, so many clients reconnecting together neither block the loop
(``/health``, REST, live delivery) nor hold every backlog in memory at the same time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from pydantic import TypeAdapter, ValidationError

from dhi.models import Message
from dhi.models.envelope import MessageType
from hub.bus import Filter

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)
MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)


@dataclass(frozen=True)
class Page:
    #: the highest seq read from the log (matching or not): the cursor for the next page
    cursor: int
    #: ``(seq, message JSON)`` of the rows that match the filter, oldest first
    frames: list[tuple[int, bytes]]
    #: the log had fewer rows than asked for: this page reached its end
    last: bool


def encode_rows(rows: list[tuple[int, str]], flt: Filter) -> list[tuple[int, bytes]]:
    """Validate stored rows (written by any version) and encode the matching ones as sent.

    Runs in a worker thread. A row that no longer validates is logged and left out."""
    out: list[tuple[int, bytes]] = []
    for seq, raw in rows:
        try:
            msg = MESSAGE.validate_json(raw)
        except ValidationError as exc:
            log.warning("replay: skipping stored message %d that does not validate: %s", seq, str(exc)[:200])
            continue
        if flt.matches(msg):
            out.append((seq, orjson.dumps(msg.model_dump(mode="json", by_alias=True, exclude_none=True))))
    return out


class Replayer:
    """Pages of the event log for replays, with a bound on how many are read at once."""

    def __init__(self, hub: Hub, page_size: int, concurrent: int) -> None:
        self._hub = hub
        self.page_size = page_size
        self._slots = asyncio.Semaphore(concurrent)

    async def page(self, since: int, flt: Filter, upto: int | None = None) -> Page:
        types = sorted(flt.types or ())
        if flt.types is not None and set(types) >= {t.value for t in MessageType}:
            types = []  # every type: no need to filter in SQL
        async with self._slots:
            rows = await self._hub.stored_event_rows(
                since, self.page_size, types, sorted(flt.devices or ()), upto=upto
            )
            frames = await asyncio.to_thread(encode_rows, rows, flt) if rows else []
        cursor = rows[-1][0] if rows else since
        return Page(cursor, frames, len(rows) < self.page_size)

    async def pages(self, since: int, flt: Filter, upto: int | None = None) -> AsyncIterator[Page]:
        """Pages after ``since`` (up to ``upto``) until the log's end."""
        cursor = since
        while True:
            page = await self.page(cursor, flt, upto)
            cursor = page.cursor
            yield page
            if page.last:
                return
