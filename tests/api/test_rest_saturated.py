"""REST on a saturated hub (issue 26): what a request needs from threads and the loop.

Ordering observed, never timed: a known token and the device list are answered while the
storage's read thread is held; an event page is read and encoded on that thread in one go;
the device list's encoded entries follow their records.
"""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import orjson
import pytest

import hub.api.events
from hub.api.devices import _entry
from hub.api.models import DevicePage, Scope
from tests.api.support import LAMP, THERMO, Harness, probe_ctx


async def _status(http: aiohttp.ClientSession, h: Harness, path: str) -> int:
    async with http.get(h.url + path, headers=h.auth(Scope.READ)) as resp:
        await resp.read()
        return resp.status


async def test_a_known_token_is_answered_while_the_read_thread_is_busy(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    assert await _status(http, api_hub, "/devices") == 200  # the token is read once
    gate = threading.Event()
    held = asyncio.ensure_future(api_hub.hub.storage.fetch_then("SELECT 1", (), lambda rows: gate.wait(10)))
    try:
        await asyncio.sleep(0)
        for path in ("/devices", f"/devices/{THERMO}/state"):
            assert await _status(http, api_hub, path) == 200
        assert not held.done()  # answered while the read thread was still held
    finally:
        gate.set()
        assert await held is True
    # an unknown token still goes to the database (and is refused)
    async with http.get(api_hub.url + "/devices", headers={"Authorization": "Bearer dhk_nope"}) as resp:
        assert resp.status == 401


async def test_an_event_page_is_read_and_encoded_on_the_read_thread(
    api_hub: Harness, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    encode = hub.api.events.event_page

    def recording(rows: list[tuple[int, str]], since: int, as_stored_from: int) -> bytes:
        threads.append(threading.current_thread().name)
        return encode(rows, since, as_stored_from)

    monkeypatch.setattr(hub.api.events, "event_page", recording)
    probe_ctx(api_hub.hub).publish_state(THERMO, "dhi.temperature", {"temperature": 22.5})
    async with http.get(api_hub.url + "/events", headers=api_hub.auth(Scope.READ)) as resp:
        page = await resp.json()
    assert resp.status == 200 and page["items"] and page["next"] == page["items"][-1]["seq"]
    assert len(threads) == 1 and threads[0].startswith("dhome-sqlite-read")


async def test_the_device_list_is_the_page_model_and_follows_changes(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    registry = api_hub.hub.registry

    async def listed(limit: int) -> bytes:
        async with http.get(
            api_hub.url + "/devices", params={"limit": str(limit)}, headers=api_hub.auth(Scope.READ)
        ) as resp:
            assert resp.status == 200
            return await resp.read()

    def expected(limit: int) -> bytes:
        records = registry.all()
        more = len(records) > limit
        page = DevicePage(
            items=[_entry(r) for r in records[:limit]], next=records[limit - 1].id if more else None
        )
        return orjson.dumps(page.model_dump(mode="json", by_alias=True, exclude_none=True))

    for limit in (1, 2, 100):
        assert await listed(limit) == expected(limit)
    assert registry.set_available(LAMP, False, "unplugged")
    body = orjson.loads(await listed(100))
    assert body["items"][0]["device"]["id"] == LAMP and body["items"][0]["available"] is False
    assert await listed(100) == expected(100)
