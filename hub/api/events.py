"""``GET /events``: the stored event log, paged by sequence number (``since=`` cursor)."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web
from pydantic import ValidationError

from hub.api.context import api
from hub.api.http import JSON, q_int, q_list
from hub.api.models import MessageTypeValue
from hub.api.replay import MESSAGE

log = logging.getLogger(__name__)


def _normalised(raw: str) -> bytes | None:
    """A row an earlier version wrote, through the envelope model; None (logged) if it no longer
    validates: left out rather than failing the whole page."""
    try:
        message = MESSAGE.validate_python(orjson.loads(raw))
    except (ValidationError, orjson.JSONDecodeError) as exc:
        log.warning("events: skipping a stored message that does not validate: %s", str(exc)[:200])
        return None
    return orjson.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True))


def event_page(rows: list[tuple[int, str]], since: int, as_stored_from: int) -> bytes:
    """The JSON of a page of the log (``EventPage``) from its stored ``(seq, wire JSON)`` rows.
    A row from ``as_stored_from`` on is this version's wire JSON (``hub.meta``) and goes in as
    stored: no model pass, which cost ~3 ms per 100 rows of the read thread's time with the GIL
    held; an older row is read through the envelope model. ``next`` is the last row's seq, so a
    page that ends in rows left out is not asked for again."""
    items = [raw.encode() if seq >= as_stored_from else _normalised(raw) for seq, raw in rows]
    last = rows[-1][0] if rows else since
    return b'{"items":[' + b",".join(i for i in items if i is not None) + b'],"next":%d}' % last


async def list_events(request: web.Request) -> web.Response:
    since = q_int(request, "since", 0, 0)
    limit = q_int(request, "limit", 100, 1, 1000)
    types = [t.value for t in q_list(request, "type", MessageTypeValue, max_items=10)]
    devices = q_list(request, "device", min_length=1)
    hub = api(request).hub
    as_stored_from = hub.events_as_stored_from
    # the query and the page's encoding run together on the read thread: the loop only writes the bytes
    body = await hub.stored_events(
        since, limit, types, devices, lambda rows: event_page(rows, since, as_stored_from)
    )
    return web.Response(body=body, content_type=JSON)
