"""The WebSocket: auth, filtered subscriptions, commands correlated by id, replay, back-pressure."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from dhi.models import MessageType
from hub.api.models import Scope
from hub.bus import Overflow
from tests.api.support import LAMP, TEST_SETTINGS, THERMO, Harness, hub_config, probe_ctx, running_hub

STATE = MessageType.STATE_CHANGED.value


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    data: dict[str, Any] = orjson.loads(msg.data)
    return data


async def receive_until(ws: aiohttp.ClientWebSocketResponse, wanted: str, **match: Any) -> dict[str, Any]:
    """The next message of type ``wanted`` whose fields match, skipping others (bounded)."""
    for _ in range(500):
        data = await receive(ws)
        if data["type"] == wanted and all(data.get(k) == v for k, v in match.items()):
            return data
    raise AssertionError(f"no {wanted} {match} within 500 messages")


@pytest.fixture
async def ws_read(
    api_hub: Harness, http: aiohttp.ClientSession
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with http.ws_connect(api_hub.ws_url, headers=api_hub.auth(Scope.READ)) as ws:
        hello = await receive(ws)
        assert hello == {"type": "auth_ok", "scopes": ["read"], "seq": api_hub.hub.bus.seq}
        yield ws


async def test_auth_with_a_first_message(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(api_hub.ws_url) as ws:
        await ws.send_json({"type": "auth", "token": api_hub.tokens[Scope.CONTROL]})
        hello = await receive(ws)
        assert hello["type"] == "auth_ok" and hello["scopes"] == ["read", "control"]
        await ws.send_json({"type": "ping", "id": "p1"})
        assert await receive(ws) == {"type": "pong", "id": "p1"}


@pytest.mark.parametrize(
    "first",
    [{"type": "auth", "token": "dhk_wrong"}, {"type": "subscribe", "id": "s1"}, {"type": "auth"}],
    ids=["bad-token", "not-auth", "no-token"],
)
async def test_failed_auth_closes_with_1008(
    api_hub: Harness, http: aiohttp.ClientSession, first: dict[str, Any]
) -> None:
    async with http.ws_connect(api_hub.ws_url) as ws:
        await ws.send_json(first)
        msg = await ws.receive(timeout=10)
        if msg.type is aiohttp.WSMsgType.TEXT:
            assert orjson.loads(msg.data)["error"]["code"] == "unauthorized"
            msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 1008 and msg.extra


async def test_token_without_read_cannot_connect(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(api_hub.ws_url, headers=api_hub.auth(Scope.ALERTS))
    assert info.value.status == 403


async def test_plain_http_get_is_426(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    async with http.get(api_hub.url + "/ws", headers=api_hub.auth(Scope.READ)) as r:
        assert r.status == 426
        assert r.headers["Upgrade"] == "websocket"


async def test_subscription_filters_by_device_and_type(
    api_hub: Harness, ws_read: aiohttp.ClientWebSocketResponse
) -> None:
    await ws_read.send_json(
        {"type": "subscribe", "id": "t", "filter": {"devices": [THERMO], "types": [STATE]}}
    )
    ack = await receive(ws_read)
    assert ack["type"] == "subscribed" and ack["id"] == "t"
    ctx = probe_ctx(api_hub.hub)
    ctx.publish_state(LAMP, "dhi.level", {"level": 77})
    ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 25.5})
    event = await receive(ws_read)
    assert event["type"] == "event" and event["subscription"] == "t"
    msg = event["message"]
    assert msg["specversion"] == "1.0" and msg["type"] == STATE and msg["subject"] == THERMO
    assert msg["data"]["value"] == 25.5 and msg["seq"] > ack["seq"]


async def test_subscription_filters_by_capability(
    api_hub: Harness, ws_read: aiohttp.ClientWebSocketResponse
) -> None:
    await ws_read.send_json({"type": "subscribe", "id": "lvl", "filter": {"capabilities": ["dhi.level"]}})
    await receive_until(ws_read, "subscribed")
    ctx = probe_ctx(api_hub.hub)
    ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 19.0})
    ctx.publish_state(LAMP, "dhi.level", {"level": 33})
    event = await receive(ws_read)
    assert event["message"]["data"]["capability"] == "dhi.level"
    await ws_read.send_json({"type": "unsubscribe", "id": "lvl"})
    assert await receive(ws_read) == {"type": "unsubscribed", "id": "lvl"}
    ctx.publish_state(LAMP, "dhi.level", {"level": 34})
    await ws_read.send_json({"type": "ping", "id": "after"})
    assert await receive(ws_read) == {"type": "pong", "id": "after"}  # no event in between


async def test_bad_requests_get_error_replies_and_the_socket_stays_open(
    api_hub: Harness, ws_read: aiohttp.ClientWebSocketResponse
) -> None:
    await ws_read.send_str("{not json")
    assert (await receive(ws_read))["error"]["code"] == "bad_request"
    await ws_read.send_json({"type": "teleport", "id": "x1"})
    reply = await receive(ws_read)
    assert reply["id"] == "x1" and reply["error"]["code"] == "invalid_params"
    await ws_read.send_json({"type": "subscribe", "id": "s", "filter": {"types": ["org.dhi.v1.nope"]}})
    reply = await receive(ws_read)
    assert reply["id"] == "s" and reply["error"]["field"].startswith("filter.types")
    await ws_read.send_json({"type": "subscribe", "id": "s"})
    await receive_until(ws_read, "subscribed", id="s")
    await ws_read.send_json({"type": "subscribe", "id": "s"})
    assert (await receive_until(ws_read, "error", id="s"))["error"]["code"] == "conflict"
    await ws_read.send_json({"type": "unsubscribe", "id": "nope"})
    assert (await receive_until(ws_read, "error", id="nope"))["error"]["code"] == "invalid_params"


async def test_commands_need_control(api_hub: Harness, ws_read: aiohttp.ClientWebSocketResponse) -> None:
    command = {"id": "c1", "device": LAMP, "capability": "dhi.on_off", "command": "on"}
    await ws_read.send_json({"type": "command", "id": "c1", "command": command})
    reply = await receive(ws_read)
    assert reply == {"type": "error", "id": "c1", "error": reply["error"]}
    assert reply["error"]["code"] == "forbidden"
    assert api_hub.hub.state.get(LAMP, "main", "dhi.on_off", "on").value is False  # type: ignore[union-attr]


async def test_command_reaches_a_virtual_device_and_its_change_comes_back_on_the_socket(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path, config=hub_config(virtual=True)) as h:
        hub = h.hub
        device = next(
            rec.id
            for rec in hub.registry.all()
            if rec.adapter == "virtual"
            and any(c.capability("dhi.on_off") for c in rec.description.components)
        )
        before = hub.state.get(device, "main", "dhi.on_off", "on")
        target = not (before.value if before is not None else False)
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.CONTROL)) as ws:
            await receive_until(ws, "auth_ok")
            await ws.send_json(
                {"type": "subscribe", "id": "dev", "filter": {"devices": [device], "types": [STATE]}}
            )
            await receive_until(ws, "subscribed", id="dev")
            command = {"id": "cmd-1", "device": device, "capability": "dhi.on_off", "command": "set",
                       "params": {"on": target}}  # fmt: skip
            await ws.send_json({"type": "command", "id": "req-1", "command": command})
            got: dict[str, dict[str, Any]] = {}
            while len(got) < 2:
                data = await receive(ws)
                if data["type"] == "result":
                    got["result"] = data
                elif data["type"] == "event" and data["message"]["data"]["property"] == "on":
                    got["event"] = data
        assert got["result"]["id"] == "req-1"
        assert got["result"]["result"]["id"] == "cmd-1" and got["result"]["result"]["status"] == "ok"
        change = got["event"]["message"]["data"]
        assert change["device"] == device and change["value"] is target and change["source"] == "virtual"
        assert hub.state.get(device, "main", "dhi.on_off", "on").value is target  # type: ignore[union-attr]


async def test_command_errors_come_back_as_results(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(api_hub.ws_url, headers=api_hub.auth(Scope.CONTROL)) as ws:
        await receive_until(ws, "auth_ok")
        command = {
            "id": "bad",
            "device": LAMP,
            "capability": "dhi.level",
            "command": "set",
            "params": {"level": 900},
        }
        await ws.send_json({"type": "command", "id": "r9", "command": command})
        reply = await receive_until(ws, "result", id="r9")
    assert reply["result"]["status"] == "error"
    assert reply["result"]["error"]["code"] == "out_of_range"
    assert reply["result"]["error"]["field"] == "params.level"


async def test_subscribe_since_replays_stored_messages_without_gaps_or_duplicates(
    api_hub: Harness, ws_read: aiohttp.ClientWebSocketResponse
) -> None:
    ctx = probe_ctx(api_hub.hub)
    start = api_hub.hub.bus.seq
    for i in range(5):
        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 10.0 + i})
    await ws_read.send_json({"type": "subscribe", "id": "r", "since": start, "filter": {"devices": [THERMO]}})
    await receive_until(ws_read, "subscribed", id="r")
    for i in range(5, 8):
        ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 10.0 + i})
    values = [(await receive(ws_read))["message"]["data"]["value"] for _ in range(8)]
    assert values == [10.0 + i for i in range(8)]


async def test_hub_shutdown_closes_sockets_with_1001(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_hub(tmp_path) as h:
        ws = await http.ws_connect(h.ws_url, headers=h.auth(Scope.READ))
        await receive_until(ws, "auth_ok")
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1001
    await ws.close()


# ------------------------------------------------------------------ back-pressure


class StalledClient:
    """A WebSocket client that completes the handshake, subscribes, then never reads again.

    Written on a raw socket with a tiny receive buffer, so the hub sees a client that stops
    accepting data; no client library would let us stop reading so completely.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def connect(cls, h: Harness) -> StalledClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, (h.api.host, h.api.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /api/v1/ws HTTP/1.1\r\n"
            f"Host: {h.api.host}:{h.api.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {h.tokens[Scope.READ]}\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await loop.sock_recv(sock, 1024)
            assert chunk, "connection closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head[:200]
        client = cls(sock)
        await client.send_json({"type": "subscribe", "id": "all"})
        return client

    async def send_json(self, data: dict[str, Any]) -> None:
        payload = orjson.dumps(data)
        mask = os.urandom(4)
        assert len(payload) < 126
        frame = (
            bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        )
        await asyncio.get_running_loop().sock_sendall(self.sock, frame)

    async def drain_until_closed(self) -> bytes:
        """Read what the kernel kept until the hub's side of the connection is gone."""
        loop = asyncio.get_running_loop()
        kept = bytearray()
        while True:
            try:
                chunk = await loop.sock_recv(self.sock, 65536)
            except ConnectionResetError:
                return bytes(kept)
            if not chunk:
                return bytes(kept)
            kept += chunk

    def close(self) -> None:
        self.sock.close()


async def test_a_client_that_never_reads_is_dropped_while_ingestion_continues(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path, config=hub_config(ws_queue=200)) as h:
        hub, ctx = h.hub, probe_ctx(h.hub)
        watcher = hub.bus.subscribe("test-watcher", maxsize=1_000_000, overflow=Overflow.DROP_OLDEST)
        stalled = await StalledClient.connect(h)
        received: list[float] = []
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as fast:
            await receive_until(fast, "auth_ok")
            await fast.send_json(
                {"type": "subscribe", "id": "t", "filter": {"devices": [THERMO], "types": [STATE]}}
            )
            await receive_until(fast, "subscribed", id="t")

            async def read_fast() -> None:
                async for frame in fast:
                    data = orjson.loads(frame.data)
                    if data["type"] == "event":
                        received.append(data["message"]["data"]["value"])

            reader = asyncio.create_task(read_fast())
            published_before = hub.bus.published
            sent = 0

            def drops() -> float:
                return sum(
                    hub.metrics.registry.get_sample_value("dhome_ws_dropped_total", {"reason": r}) or 0.0
                    for r in ("overflow", "send_timeout")
                )

            assert drops() == 0
            # ingest until the hub gives up on the stalled client (bounded), then some more
            after_drop = None
            while after_drop is None or sent < after_drop + 500:
                for _ in range(20):
                    sent += 1
                    assert ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 20.0 + sent / 1000})
                await asyncio.sleep(0)
                if after_drop is None and drops() >= 1:
                    after_drop = sent
                assert sent < 200_000, "the stalled client was never dropped"
            async with asyncio.timeout(30):
                while len(received) < sent:
                    await asyncio.sleep(0.01)
            reader.cancel()

        # the stalled client was disconnected and its connection cut
        assert drops() == 1
        try:
            async with asyncio.timeout(30):
                await stalled.drain_until_closed()
                while h.api.context.sockets:
                    await asyncio.sleep(0.01)
        finally:
            stalled.close()
        # ...and the hub never slowed down: every reading was published and delivered elsewhere
        assert hub.bus.published - published_before == sent
        assert received == [20.0 + i / 1000 for i in range(1, sent + 1)]
        seen = 0
        while (msg := watcher.get_nowait()) is not None:
            seen += msg.type == STATE and msg.subject == THERMO
        assert seen == sent and watcher.dropped == 0
        assert not h.api.context.fanout.feeds  # every subscription's feed was released


async def test_a_subscription_whose_queue_overflows_is_closed_with_1013_and_the_reason(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path, config=hub_config(ws_queue=50)) as h:
        ctx = probe_ctx(h.hub)
        async with http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as ws:
            await receive_until(ws, "auth_ok")
            await ws.send_json({"type": "subscribe", "id": "burst", "filter": {"devices": [THERMO]}})
            await receive_until(ws, "subscribed", id="burst")
            # a burst of more than the hub keeps for a filter (twice the bound) within one turn
            # of the loop: the client cannot have been served what it has not had
            for i in range(500):
                ctx.publish_state(THERMO, "dhi.temperature", {"temperature": 30.0 + i / 100})
            events = 0
            while (msg := await ws.receive(timeout=10)).type is aiohttp.WSMsgType.TEXT:
                events += orjson.loads(msg.data)["type"] == "event"
            assert msg.type is aiohttp.WSMsgType.CLOSE
            assert msg.data == 1013
            assert "queue overflow" in msg.extra and "burst" in msg.extra
            assert events <= 50
        assert h.hub.metrics.registry.get_sample_value("dhome_ws_dropped_total", {"reason": "overflow"}) == 1
        # the hub published the whole burst regardless
        assert h.hub.state.get(THERMO, "main", "dhi.temperature", "temperature").value == 34.99  # type: ignore[union-attr]


async def test_revoking_a_token_closes_its_sockets_at_once(
    api_hub: Harness, http: aiohttp.ClientSession
) -> None:
    admin = api_hub.auth(Scope.ADMIN)
    async with http.post(
        api_hub.url + "/tokens", json={"name": "tablet", "scopes": ["control"]}, headers=admin
    ) as r:
        created = await r.json()
    other = api_hub.auth(Scope.READ)
    async with (
        http.ws_connect(api_hub.ws_url, headers={"Authorization": f"Bearer {created['token']}"}) as ws,
        http.ws_connect(api_hub.ws_url, headers=other) as bystander,
    ):
        assert (await receive(ws))["type"] == "auth_ok"
        assert (await receive(bystander))["type"] == "auth_ok"
        await ws.send_json({"type": "subscribe", "id": "s1"})
        assert (await receive(ws))["type"] == "subscribed"
        async with http.delete(api_hub.url + f"/tokens/{created['id']}", headers=admin) as r:
            assert r.status == 200
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 1008 and msg.extra == "the token was revoked"
        # nothing more is accepted: the command never runs
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await ws.send_json({"type": "command", "id": "c1", "device": LAMP, "capability": "dhi.switch",
                                "command": "toggle"})  # fmt: skip
        assert ws.closed
        await bystander.send_json({"type": "ping", "id": "p"})
        assert await receive(bystander) == {"type": "pong", "id": "p"}  # another token's socket stays


async def test_subscriptions_per_connection_are_capped_with_a_clear_error(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = replace(TEST_SETTINGS, ws_max_subscriptions=3)
    async with (
        running_hub(tmp_path, settings=settings) as h,
        http.ws_connect(h.ws_url, headers=h.auth(Scope.READ)) as ws,
    ):
        await receive(ws)
        for i in range(3):
            await ws.send_json({"type": "subscribe", "id": f"s{i}"})
            assert (await receive(ws))["type"] == "subscribed"
        await ws.send_json({"type": "subscribe", "id": "s3"})
        error = await receive(ws)
        assert error["id"] == "s3" and error["error"]["code"] == "conflict"
        assert "3 subscriptions" in error["error"]["message"]
        await ws.send_json({"type": "unsubscribe", "id": "s0"})
        assert (await receive(ws))["type"] == "unsubscribed"
        await ws.send_json({"type": "subscribe", "id": "s3"})
        assert (await receive(ws))["type"] == "subscribed"
