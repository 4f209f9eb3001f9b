"""The WebSocket under load: batched delivery, drops on queue depth, coalescing, replays in pages
off the event loop, per-route request metrics (issue 26). No timings asserted: behaviour only."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from dhi.models import MessageType
from hub.api import replay, wsframe
from hub.api.fanout import Feed, Reader
from hub.api.models import Scope
from hub.bus import Filter
from tests.api.support import LAMP, TEST_SETTINGS, THERMO, Harness, hub_config, probe_ctx, running_hub
from tests.api.test_ws import StalledClient, receive_until

STATE = MessageType.STATE_CHANGED.value


async def subscribe(ws: aiohttp.ClientWebSocketResponse, sub_id: str, **request: Any) -> None:
    await receive_until(ws, "auth_ok")
    await ws.send_json({"type": "subscribe", "id": sub_id, **request})
    await receive_until(ws, "subscribed", id=sub_id)


async def collect(ws: aiohttp.ClientWebSocketResponse, into: list[dict[str, Any]], frames: list[int]) -> None:
    """Read as fast as possible: every message of ``event`` and ``events`` frames, in order."""
    async for frame in ws:
        data = orjson.loads(frame.data)
        if data["type"] == "events":
            into.extend(data["messages"])
            frames.append(len(data["messages"]))
        elif data["type"] == "event":
            into.append(data["message"])
            frames.append(1)


async def wait_for(condition: Any, what: str, bound: int = 3000) -> None:
    for _ in range(bound):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def readers(h: Harness) -> list[Reader]:
    """The live WebSocket subscriptions: readers of the fan-out's feeds."""
    return [r for feed in h.api.context.fanout.feeds for r in feed.readers]


def drops(h: Harness, reason: str = "overflow") -> float:
    return h.hub.metrics.registry.get_sample_value("dhome_ws_dropped_total", {"reason": reason}) or 0.0


@pytest.mark.parametrize("deflate", [0, 15], ids=["plain", "permessage-deflate"])
async def test_a_batch_client_reading_as_fast_as_it_can_gets_every_message_of_a_burst_beyond_its_bound(
    tmp_path: Path, http: aiohttp.ClientSession, deflate: int
) -> None:
    bound = 50
    async with running_hub(tmp_path, config=hub_config(ws_queue=bound)) as h:
        ctx = probe_ctx(h.hub)
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ), compress=deflate) as ws:
            assert ws.compress == deflate  # what was negotiated: aiohttp's client inflates the frames
            await subscribe(ws, "fast", batch=True, filter={"devices": [THERMO]})
            got: list[dict[str, Any]] = []
            frames: list[int] = []
            reader = asyncio.create_task(collect(ws, got, frames))
            total = 20 * bound
            # bursts of most of the bound between two turns of the loop: a client served one
            # frame per message would need 40 sends per turn; batched it is one
            for i in range(total):
                ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 100})
                if i % (bound - 10) == 0:
                    await asyncio.sleep(0)
            await wait_for(lambda: len(got) >= total, "every message delivered")
            reader.cancel()
        assert [m["data"]["value"] for m in got] == [i / 100 for i in range(total)]
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == total
        assert len(frames) < total and max(frames) > 1  # batched, not one frame per message
        assert drops(h) == 0


async def test_a_client_that_reads_nothing_is_dropped_on_queue_depth_without_delaying_others(
    tmp_path: Path, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    bound = 100
    # a send timeout that never fires within the test: only the queue depth can drop the client
    settings = dataclasses.replace(TEST_SETTINGS, ws_send_timeout=3600.0)
    async with running_hub(tmp_path, config=hub_config(ws_queue=bound), settings=settings) as h:
        ctx = probe_ctx(h.hub)
        stalled = await StalledClient.connect(h)
        await wait_for(lambda: len(readers(h)) == 1, "the stalled client subscribed")
        stalled_reader = readers(h)[0]
        stalled_conn = next(iter(h.api.context.sockets))
        # when the hub had cut the stalled client, counted in messages published (a bus tap)
        cut_at: list[int] = []
        h.hub.bus.tap(lambda m: cut_at.append(h.hub.bus.seq) if stalled_conn.dropped and not cut_at else None)
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as fast:
            await subscribe(fast, "t", batch=True, filter={"devices": [THERMO], "types": [STATE]})
            got: list[dict[str, Any]] = []
            reader = asyncio.create_task(collect(fast, got, []))
            sent = 0
            with caplog.at_level(logging.WARNING, logger="hub.api.ws"):
                # publish in small steps until the stalled client is dropped, then as many again
                while stalled_reader.feed is not None:
                    for _ in range(10):
                        sent += 1
                        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": sent / 1000})
                    await asyncio.sleep(0)
                    assert sent < 100_000, "the stalled client was never dropped"
                dropped_at = sent
                seq_at_overflow = h.hub.bus.seq
                for _ in range(dropped_at):
                    sent += 1
                    ctx.publish_state(THERMO, "dhi.temperature", {"temperature": sent / 1000})
                    if sent % 10 == 0:
                        await asyncio.sleep(0)
                await wait_for(lambda: len(got) >= sent, "the fast client got everything")
                try:
                    kept = await asyncio.wait_for(stalled.drain_until_closed(), 30)
                finally:
                    stalled.close()
                await wait_for(lambda: len(h.api.context.sockets) == 1, "the stalled client is gone")
            reader.cancel()
        # dropped for its queue (the send timeout never fired), with the bound as the reason
        assert drops(h, "overflow") == 1 and drops(h, "send_timeout") == 0
        assert (
            stalled_conn.dropped
            == f"subscription all: queue overflow: more than {bound} messages or 10 s not consumed"
        )
        assert any("queue overflow" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records)
        # more than its bound was pending when it was cut, and that backlog was thrown away
        # (counted), not sent: what reached its socket is at most what was published before
        thrown_away = h.hub.metrics.registry.get_sample_value("dhome_bus_dropped_total", {"subscriber": "ws"})
        assert thrown_away is not None and thrown_away > bound
        assert kept.count(b'"subscription":"all"') <= dropped_at - bound
        # it was cut right after the overflow (within a turn of the loop), while the hub kept
        # publishing, not after a send timeout; the fast client lost nothing meanwhile
        assert cut_at and cut_at[0] <= seq_at_overflow + 20
        assert [m["data"]["value"] for m in got] == [i / 1000 for i in range(1, sent + 1)]


async def test_coalescing_keeps_the_latest_value_per_property_and_every_other_message(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path, config=hub_config()) as h:
        ctx = probe_ctx(h.hub)
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as ws:
            await subscribe(ws, "dash", coalesce_ms=50)
            got: list[dict[str, Any]] = []
            reader = asyncio.create_task(collect(ws, got, []))
            await wait_for(lambda: len(readers(h)) == 1, "subscribed")
            dash = readers(h)[0]
            await wait_for(lambda: dash.feed is not None and dash.position == dash.feed.head, "idle")
            # all in one turn of the loop: the pump sees them only once they are all pending
            for i in range(200):
                ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 10})
                ctx.publish_state(LAMP, "dhi.on_off", {"on": i % 2 == 0})
            ctx.set_available(LAMP, False)
            for i in range(200, 300):
                ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 10})
            await wait_for(
                lambda: any(
                    m["data"].get("value") == 29.9 for m in got if m["type"].endswith("state.changed")
                ),
                "the latest temperature",
            )
            reader.cancel()
        states = [m for m in got if m["type"] == STATE]
        temps = [m["data"]["value"] for m in states if m["subject"] == THERMO]
        lamps = [m["data"]["value"] for m in states if m["subject"] == LAMP]
        assert temps == [29.9] and lamps == [False]  # only the latest of each property
        assert [m["type"] for m in got if m["type"] != STATE] == [MessageType.DEVICE_AVAILABILITY.value]


async def test_concurrent_replays_run_off_the_event_loop_page_by_page_and_within_the_limit(
    tmp_path: Path, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(TEST_SETTINGS, ws_replay_page=40, ws_replay_concurrent=2)
    loop_thread = threading.get_ident()
    threads: list[int] = []
    active = [0, 0]  # now, most at once
    lock = threading.Lock()
    real = replay.encode_rows

    def instrumented(rows: list[tuple[int, str]], flt: Filter) -> list[tuple[int, bytes]]:
        with lock:
            threads.append(threading.get_ident())
            active[0] += 1
            active[1] = max(active)
        try:
            return real(rows, flt)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(replay, "encode_rows", instrumented)
    async with running_hub(tmp_path, settings=settings) as h:
        ctx = probe_ctx(h.hub)
        start = h.hub.bus.seq
        for i in range(300):
            ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 10})

        async def resume(n: int) -> list[float]:
            async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as ws:
                await subscribe(ws, f"r{n}", since=start, batch=n % 2 == 0, filter={"devices": [THERMO]})
                got: list[dict[str, Any]] = []
                reader = asyncio.create_task(collect(ws, got, []))
                await wait_for(lambda: len(got) >= 300, "the whole replay")
                reader.cancel()
                return [m["data"]["value"] for m in got]

        results = await asyncio.gather(*(resume(n) for n in range(6)))
    assert all(r == [i / 10 for i in range(300)] for r in results)
    assert len(threads) >= 6 * (300 // 40)  # every client's replay, page by page
    assert loop_thread not in threads
    assert 1 <= active[1] <= 2


async def test_resume_after_more_than_the_old_cap_streams_pages_until_live_without_gaps(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    old_cap = 10_000
    async with running_hub(tmp_path) as h:
        ctx = probe_ctx(h.hub)
        start = h.hub.bus.seq
        for i in range(old_cap + 500):
            ctx.publish_state(THERMO, "dhi.temperature", {"temperature": i / 100})
            if i % 500 == 0:
                await asyncio.sleep(0)
        stored = old_cap + 500
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as ws:
            await receive_until(ws, "auth_ok")
            await ws.send_json({"type": "subscribe", "id": "r", "since": start, "batch": True})
            got: list[dict[str, Any]] = []
            reader = asyncio.create_task(collect(ws, got, []))
            # live messages keep coming while the replay runs
            live = 0
            while len(got) < stored or live < 300:
                ctx.publish_state(THERMO, "dhi.temperature", {"temperature": (stored + live) / 100})
                live += 1
                await asyncio.sleep(0.001 if live < 300 else 0.01)
                assert live < 100_000
            await wait_for(lambda: len([m for m in got if m["type"] == STATE]) >= stored + live, "all")
            reader.cancel()
        values = [m["data"]["value"] for m in got if m["type"] == STATE and m["subject"] == THERMO]
        assert values == [i / 100 for i in range(stored + live)]
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(set(seqs))


async def test_every_api_request_is_counted_and_timed_per_route(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    for _ in range(3):
        async with http.get(api_hub.url + "/health") as r:
            assert r.status == 200
    async with http.get(api_hub.url + f"/devices/{THERMO}", headers=api_hub.auth(Scope.READ)) as r:
        assert r.status == 200
    async with http.get(api_hub.url + "/devices/probe:nope", headers=api_hub.auth(Scope.READ)) as r:
        assert r.status == 404
    async with http.get(api_hub.url + "/devices") as r:
        assert r.status == 401
    value = api_hub.hub.metrics.registry.get_sample_value
    base = "/api/v1"
    assert (
        value("dhome_api_requests_total", {"method": "GET", "route": base + "/health", "status": "200"}) == 3
    )
    route = base + "/devices/{id}"
    assert value("dhome_api_requests_total", {"method": "GET", "route": route, "status": "200"}) == 1
    assert value("dhome_api_requests_total", {"method": "GET", "route": route, "status": "404"}) == 1
    assert (
        value("dhome_api_requests_total", {"method": "GET", "route": base + "/devices", "status": "401"}) == 1
    )
    assert value("dhome_api_request_seconds_count", {"method": "GET", "route": route}) == 2


def test_a_compressed_frame_is_its_message_deflated_on_its_own() -> None:
    payload = orjson.dumps(
        {"type": "events", "subscription": "s", "messages": [{"seq": i} for i in range(300)]}
    )
    frame = wsframe.text_frame(payload, 15)
    assert frame[0] == 0xC1 and frame[1] == 126  # FIN + RSV1 (compressed) + text; 16-bit length
    body = frame[4:]
    assert len(body) == int.from_bytes(frame[2:4]) < len(payload)
    inflate = zlib.decompressobj(-15)
    # the receiver adds the sync-flush tail back; the same frame again decodes on the same
    # (continuing) stream: no context is shared between frames, so clients can share them
    assert inflate.decompress(body + b"\x00\x00\xff\xff") == payload
    assert inflate.decompress(body + b"\x00\x00\xff\xff") == payload
    assert wsframe.text_frame(b'{"type":"pong"}', 15)[0] == 0x81  # small: sent plain


class RecordingSink:
    """A socket stand-in for the fan-out's unit tests: records writes, writable on demand."""

    deflate = 0

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.open = True

    def writable(self) -> bool:
        return self.open

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # unmasked text frames, back to back (RFC 6455 §5.2)
            n, at = view[1] & 0x7F, 2
            if n == 126:
                n, at = int.from_bytes(view[2:4]), 4
            elif n == 127:
                n, at = int.from_bytes(view[2:10]), 10
            assert view[0] == 0x81
            self.frames.append(orjson.loads(view[at : at + n]))
            view = view[at + n :]

    def messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for f in self.frames:
            out.extend(f["messages"] if f["type"] == "events" else [f["message"]])
        return out


def reader(sink: RecordingSink, **kw: Any) -> Reader:
    fired: list[tuple[str, str]] = kw.pop("fired", [])
    args: dict[str, Any] = {
        "batch": True,
        "interval": None,
        "bound": 8,
        "max_age": 3600.0,
        "send_timeout": 3600.0,
    }
    args.update(kw)
    return Reader("s", sink, on_overflow=lambda reason, label: fired.append((reason, label)), **args)


def live(feed: Feed, r: Reader) -> Reader:
    """``r`` reads ``feed`` from its head (what ``FanOut.attach`` does, without a loop)."""
    r.feed, r.position = feed, feed.head
    feed.readers.append(r)
    return r


def entry(seq: int, key: Any) -> bytes:
    return orjson.dumps({"seq": seq, "key": key})


def test_a_reader_whose_socket_takes_everything_keeps_up_however_much_arrived() -> None:
    feed = Feed(Filter(), 8, 0)
    sink = RecordingSink()
    live(feed, reader(sink, bound=8))
    for seq in range(1, 15):  # more than its bound between two rounds, all still in the log
        feed.append(seq, entry(seq, seq % 2), seq % 2, now=0.0)
    sent, lost, pending = feed.serve(now=0.0, batch_max=5)
    assert (sent, lost, pending) == (14, 0, False)
    assert [len(f["messages"]) for f in sink.frames] == [5, 5, 4]  # events frames of at most 5
    assert [m["seq"] for m in sink.messages()] == list(range(1, 15))


def test_a_reader_whose_socket_stays_full_is_dropped_past_its_bound_in_messages_or_seconds() -> None:
    # (bound, max_age, messages before the socket is found full, messages after, time of the 2nd round)
    for bound, max_age, before, after, now in ((4, 3600.0, 3, 5, 0.0), (100, 1.0, 1, 0, 1.5)):
        feed = Feed(Filter(), 16, 0)
        sink = RecordingSink()
        fired: list[tuple[str, str]] = []
        r = live(feed, reader(sink, bound=bound, max_age=max_age, fired=fired))
        sink.open = False
        for seq in range(1, before + 1):
            feed.append(seq, entry(seq, None), None, now=0.0)
        # a round finds its socket full: from now on it is held to its bound
        assert feed.serve(now=0.0, batch_max=100) == (0, 0, True) and not fired
        for seq in range(before + 1, before + after + 1):
            feed.append(seq, entry(seq, None), None, now=0.0)
        _, lost, _ = feed.serve(now=now, batch_max=100)
        reason = f"subscription s: queue overflow: more than {bound} messages or {max_age:g} s not consumed"
        assert fired == [(reason, "overflow")]
        assert lost == before + after and r.feed is None and not sink.frames


def test_what_piled_up_while_the_hub_was_slow_does_not_count_against_a_reader() -> None:
    feed = Feed(Filter(), 16, 0)
    sink = RecordingSink()
    fired: list[tuple[str, str]] = []
    live(feed, reader(sink, bound=4, fired=fired))
    for seq in range(1, 13):  # three bounds' worth before the hub gets round to serving
        feed.append(seq, entry(seq, None), None, now=0.0)
    sink.open = False  # and the socket is still busy with what it was given before
    feed.serve(now=0.0, batch_max=100)
    sink.open = True
    assert feed.serve(now=0.1, batch_max=100) == (12, 0, False) and not fired
    assert [m["seq"] for m in sink.messages()] == list(range(1, 13))


def test_a_coalescing_reader_off_the_log_gets_latest_values_and_every_kept_message() -> None:
    feed = Feed(Filter(), 4, 0)
    sink = RecordingSink()
    r = live(feed, reader(sink, interval=0.25))
    sink.open = False
    seq = 0
    for i in range(30):  # far more than the log holds: it is trimmed past the reader
        for key in ("a", "b"):
            seq += 1
            feed.append(seq, entry(seq, key), key, now=0.0)
        if i in (3, 17):
            seq += 1
            feed.append(seq, entry(seq, None), None, now=0.0)  # an alert: never coalesced
    assert r.position < feed.base
    sink.open = True
    feed.serve(now=1.0, batch_max=100)
    got = sink.messages()
    assert [m["key"] for m in got] == [None, None, "a", "b"]
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got) and got[-1]["seq"] == seq
    # more uncoalesced messages than the bound pending: dropped, they cannot be replaced
    fired: list[tuple[str, str]] = []
    r2 = live(feed, reader(sink, interval=0.25, fired=fired))
    sink.open = False
    for _ in range(5):
        seq += 1
        feed.append(seq, entry(seq, None), None, now=1.0)
    feed.serve(now=2.0, batch_max=100)
    assert fired and "alerts" in fired[0][0] and r2.feed is None
