"""``GET /events``: the stored event log, paged by sequence number (``since=`` cursor)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from hub.api.context import api
from hub.api.http import JSON, q_int, q_list
from hub.api.models import EventPage, MessageTypeValue
from hub.api.replay import MESSAGE

log = logging.getLogger(__name__)


def stored_messages(raws: list[str]) -> list[Any]:
    """Messages from the events table, normalised through the envelope model.

    A row that no longer validates (written by another version) is logged and left out rather
    than failing the whole page.
    """
    out = []
    for raw in raws:
        try:
            out.append(MESSAGE.validate_python(orjson.loads(raw)))
        except (ValidationError, orjson.JSONDecodeError) as exc:
            log.warning("events: skipping a stored message that does not validate: %s", str(exc)[:200])
    return out


def event_page(raws: list[str], since: int) -> bytes:
    """The JSON of a page of the log (``EventPage``) from its stored rows."""
    items = stored_messages(raws)
    page = EventPage(items=items, next=items[-1].seq if items else since)
    return orjson.dumps(page.model_dump(mode="json", by_alias=True, exclude_none=True))


async def list_events(request: web.Request) -> web.Response:
    since = q_int(request, "since", 0, 0)
    limit = q_int(request, "limit", 100, 1, 1000)
    types = [t.value for t in q_list(request, "type", MessageTypeValue, max_items=10)]
    devices = q_list(request, "device", min_length=1)
    # validating and encoding a page of stored rows is the costly part (~3 ms per 100 rows):
    # done on the read thread with the query, so the loop only writes the bytes
    body = await api(request).hub.stored_events(
        since, limit, types, devices, lambda rows: event_page(rows, since)
    )
    return web.Response(body=body, content_type=JSON)
