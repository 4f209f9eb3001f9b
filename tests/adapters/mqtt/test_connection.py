"""MqttConnection against a real Mosquitto: pub/sub, wildcards, QoS 1, retained, reconnect."""

from __future__ import annotations

import asyncio
import logging
import select
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.sdk.mqtt import (
    BrokerSettings,
    MqttClosed,
    MqttConnectError,
    MqttConnection,
    MqttMessage,
    MqttPublishError,
    MqttRefused,
    shared_connection,
)
from adapters.sdk.mqtt.shared import shared_count
from tests.support.mosquitto import Mosquitto, MqttPeer, TlsFiles, find_mosquitto, make_tls_files

pytestmark = pytest.mark.slow

PROTOCOLS = ["5", "3.1.1"]


def settings(broker: Mosquitto, **kw: object) -> BrokerSettings:
    base: dict[str, object] = {"url": broker.url, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.5}
    base.update(kw)
    return BrokerSettings.model_validate(base)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[MqttMessage] = []
        self._changed = asyncio.Event()

    def __call__(self, msg: MqttMessage) -> None:
        self.messages.append(msg)
        self._changed.set()

    async def wait(self, count: int = 1, timeout: float = 10) -> list[MqttMessage]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.messages

    def topics(self) -> list[str]:
        return [m.topic for m in self.messages]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_publish_subscribe_round_trip(mosquitto: Mosquitto, protocol: str) -> None:
    async with MqttConnection(settings(mosquitto, protocol=protocol)) as conn:
        assert conn.connected
        inbox = Inbox()
        await conn.subscribe("t/+/x", inbox)
        await conn.publish("t/a/x", b"one")  # QoS 1: returns after PUBACK
        await conn.publish("t/a/y", b"not matched")
        await conn.publish("t/b/x", "two", qos=0)
        msgs = await inbox.wait(2)
        assert [(m.topic, m.payload, m.retain) for m in msgs] == [
            ("t/a/x", b"one", False),
            ("t/b/x", b"two", False),
        ]
        assert msgs[0].qos == 1 and msgs[1].qos == 0
    assert conn.closed and not conn.connected


async def test_wildcards_and_unsubscribe(mosquitto: Mosquitto) -> None:
    async with MqttConnection(settings(mosquitto)) as conn:
        hash_box, plus_box = Inbox(), Inbox()
        stop_hash = await conn.subscribe("w/#", hash_box)
        await conn.subscribe("w/+", plus_box)
        await conn.publish("w", b"0")
        await conn.publish("w/a", b"1")
        await conn.publish("w/a/b", b"2")
        await hash_box.wait(3)
        await plus_box.wait(1)
        # MQTT 5 subscription ids: each filter sees a message exactly once despite the overlap
        assert hash_box.topics() == ["w", "w/a", "w/a/b"]
        assert plus_box.topics() == ["w/a"]
        stop_hash()
        stop_hash()  # idempotent
        await conn.publish("w/c", b"3")
        await plus_box.wait(2)
        assert hash_box.topics() == ["w", "w/a", "w/a/b"]


async def test_retained_replayed_to_new_subscribers(mosquitto: Mosquitto) -> None:
    with MqttPeer(mosquitto) as peer:
        peer.publish("r/dev1/state", b"on", retain=True)
        peer.publish("r/dev2/state", b"off", retain=True)
    async with MqttConnection(settings(mosquitto)) as conn:
        first = Inbox()
        await conn.subscribe("r/+/state", first)
        await first.wait(2)
        assert sorted((m.topic, m.payload, m.retain) for m in first.messages) == [
            ("r/dev1/state", b"on", True),
            ("r/dev2/state", b"off", True),
        ]
        # a second handler on the same filter still gets the stored state
        second = Inbox()
        await conn.subscribe("r/+/state", second)
        await second.wait(2)
        assert all(m.retain for m in second.messages)
        # live messages are not flagged retained
        await conn.publish("r/dev1/state", b"off", retain=True)
        await second.wait(3)
        assert second.messages[-1] == MqttMessage("r/dev1/state", b"off", 1, False)


async def test_handler_errors_are_contained(mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture) -> None:
    async with MqttConnection(settings(mosquitto)) as conn:
        good = Inbox()

        def bad(msg: MqttMessage) -> None:
            raise RuntimeError("boom")

        async def bad_async(msg: MqttMessage) -> None:
            raise RuntimeError("async boom")

        await conn.subscribe("e/#", bad)
        await conn.subscribe("e/#", bad_async)
        await conn.subscribe("e/#", good)
        with caplog.at_level(logging.ERROR, logger="dhome.mqtt"):
            await conn.publish("e/1", b"x")
            await conn.publish("e/2", b"y")
            await good.wait(2)
            await asyncio.sleep(0)  # let the async handler's task finish
        assert conn.connected
        assert "handler for e/1 failed" in caplog.text
        assert "async boom" in caplog.text


async def test_async_handler_can_publish(mosquitto: Mosquitto) -> None:
    """A handler that answers a request (what the adapters do) runs as a task."""
    async with MqttConnection(settings(mosquitto)) as conn:
        replies = Inbox()

        async def echo(msg: MqttMessage) -> None:
            await conn.publish("rpc/reply", msg.payload.upper())

        await conn.subscribe("rpc/request", echo)
        await conn.subscribe("rpc/reply", replies)
        await conn.publish("rpc/request", b"ping")
        assert (await replies.wait(1))[0].payload == b"PING"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_survives_broker_restart(mosquitto: Mosquitto, protocol: str) -> None:
    changes: list[bool] = []
    async with MqttConnection(settings(mosquitto, protocol=protocol)) as conn:
        conn.on_connection_change(changes.append)
        inbox = Inbox()
        await conn.subscribe("s/#", inbox)
        await conn.publish("s/retained", b"kept", retain=True)
        await inbox.wait(1)

        mosquitto.stop()
        async with asyncio.timeout(10):
            while conn.connected:
                await asyncio.sleep(0.02)
        # QoS 1 while the broker is down: queued, delivered after the reconnect
        pending = asyncio.create_task(conn.publish("s/queued", b"late", timeout=30))
        mosquitto.start()
        await conn.wait_connected(timeout=20)
        await pending
        assert conn.connects == 2
        assert changes == [False, True]
        # re-subscribed: the retained message is replayed, the queued and new ones arrive
        await conn.publish("s/new", b"fresh")
        async with asyncio.timeout(10):
            while not {"s/queued", "s/new"} <= set(inbox.topics()):
                await inbox.wait(len(inbox.messages) + 1)
        replay = [m for m in inbox.messages[1:] if m.topic == "s/retained"]
        assert replay and replay[0].retain and replay[0].payload == b"kept"


async def test_shared_connection_is_refcounted(mosquitto: Mosquitto) -> None:
    s = settings(mosquitto)
    async with shared_connection(s) as a:
        async with shared_connection(settings(mosquitto)) as b:
            assert a is b
            async with shared_connection(settings(mosquitto, client_id="other")) as c:
                assert c is not a
            assert c.closed and not a.closed
        assert (a.closed, shared_count()) == (False, 1)
    assert (a.closed, shared_count()) == (True, 0)


async def test_connect_failure_is_reported(tmp_path: Path) -> None:
    refusing = Mosquitto(find_mosquitto(), tmp_path, allow_anonymous=False)
    refusing.start()
    try:
        with pytest.raises(MqttRefused, match="Not authorized"):
            async with MqttConnection(settings(refusing, connect_timeout=5)):
                pass
    finally:
        refusing.stop()
    # nothing listens on the port any more
    with pytest.raises(MqttConnectError, match="cannot connect"):
        async with MqttConnection(settings(refusing, connect_timeout=0.5)):
            pass


async def test_closed_connection_rejects_use(mosquitto: Mosquitto) -> None:
    conn = MqttConnection(settings(mosquitto))
    with pytest.raises(MqttClosed, match="not open"):
        await conn.publish("a", b"x")
    async with conn:
        with pytest.raises(MqttPublishError, match="not connected"):
            mosquitto.stop()
            async with asyncio.timeout(10):
                while conn.connected:
                    await asyncio.sleep(0.02)
            await conn.publish("a", b"x", qos=0)
    with pytest.raises(MqttClosed, match="closed"):
        await conn.subscribe("a", lambda m: None)


def _burst_payloads(count: int) -> list[bytes]:
    """Small JSON-ish payloads with a few larger than one read chunk mixed in."""
    out = []
    for i in range(count):
        size = 700_000 if i % 997 == 500 else (i * 37) % 300
        out.append(f"{i:06d}:".encode() + bytes([65 + i % 26]) * size)
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_burst_arrives_complete_and_in_order(mosquitto: Mosquitto, protocol: str) -> None:
    """Many QoS 0 messages arrive back to back (several per socket read, some split
    across reads): every one is delivered once, intact, in order."""
    payloads = _burst_payloads(3000)
    batches: list[list[MqttMessage]] = []
    async with MqttConnection(settings(mosquitto, protocol=protocol)) as conn:
        inbox = Inbox()
        await conn.subscribe("burst/#", inbox, qos=0)
        # a batch handler on the same filter: the same messages, a read's worth per call
        await conn.subscribe_batch("burst/#", batches.append, qos=0)
        await _publish_burst(mosquitto, payloads)
        msgs = await inbox.wait(len(payloads), timeout=60)
    assert [m.payload for m in msgs] == payloads
    assert [m.topic for m in msgs] == [f"burst/{i % 7}" for i in range(len(payloads))]
    assert [m for batch in batches for m in batch] == msgs
    assert max(len(batch) for batch in batches) > 1  # one call per read, not per message


async def _publish_burst(mosquitto: Mosquitto, payloads: list[bytes]) -> None:
    """Publish ``payloads`` to ``burst/<i % 7>`` (QoS 0) from a paho client of its own;
    returns once every one has left it."""
    publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="burst-pub", protocol=paho.MQTTv311)
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    try:
        infos = [publisher.publish(f"burst/{i % 7}", p, qos=0) for i, p in enumerate(payloads)]
        await asyncio.to_thread(lambda: [info.wait_for_publish(30) for info in infos])
    finally:
        publisher.loop_stop()
        publisher.disconnect()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, TlsFiles]]:
    tls = make_tls_files(tmp_path)
    broker = Mosquitto(find_mosquitto(), tmp_path, tls=tls)
    broker.start()
    try:
        yield broker, tls
    finally:
        broker.stop()


async def test_tls_burst_arrives_complete(tls_broker: tuple[Mosquitto, TlsFiles]) -> None:
    """Over TLS, decrypted bytes wait in the SSL object: none may be left behind."""
    broker, tls = tls_broker
    async with MqttConnection(settings(broker, tls_ca=tls.ca)) as conn:
        inbox = Inbox()
        await conn.subscribe("burst/#", inbox, qos=0)
        payloads = _burst_payloads(1200)
        for i, p in enumerate(payloads):
            await conn.publish(f"burst/{i}", p, qos=0)
        msgs = await inbox.wait(len(payloads), timeout=60)
        assert [m.payload for m in msgs] == payloads


async def test_tls_connection(tls_broker: tuple[Mosquitto, TlsFiles]) -> None:
    broker, tls = tls_broker
    async with MqttConnection(settings(broker, tls_ca=tls.ca)) as conn:
        inbox = Inbox()
        await conn.subscribe("tls/#", inbox)
        await conn.publish("tls/x", b"secret")
        assert (await inbox.wait(1))[0].payload == b"secret"
    # the system CA store does not trust the test CA: the handshake fails, clearly
    with pytest.raises(MqttConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        async with MqttConnection(settings(broker, connect_timeout=0.5)):
            pass


async def test_silent_server_times_out_cleanly() -> None:
    """A TCP server that never answers CONNECT: open() gives up after connect_timeout."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        s = BrokerSettings(url=f"mqtt://127.0.0.1:{port}", connect_timeout=0.5, reconnect_min_delay=0.05)
        with pytest.raises(MqttConnectError, match="no CONNACK"):
            async with MqttConnection(s):
                pass
        assert held  # it did reach the server
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_mixed_packets_keep_order_and_overlapping_filters(mosquitto: Mosquitto, protocol: str) -> None:
    """QoS 0 PUBLISH packets are read past paho, everything else by paho: interleaved QoS
    0 and 1 messages and MQTT 5 user properties (paho's path) all arrive, once per matching
    filter, and in publish order within each QoS level (MQTT promises no order across QoS
    levels: Mosquitto may hold a QoS 1 message back while QoS 0 ones go ahead)."""
    async with MqttConnection(settings(mosquitto, protocol=protocol)) as conn:
        everything, odd = Inbox(), Inbox()
        await conn.subscribe("mix/#", everything, qos=1)
        await conn.subscribe("mix/odd/+", odd, qos=1)
        publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="mix-pub", protocol=paho.MQTTv5)
        publisher.connect(mosquitto.host, mosquitto.port)
        publisher.loop_start()
        try:
            sent, infos = [], []
            for i in range(600):
                topic = f"mix/{'odd' if i % 2 else 'even'}/{i % 5}"
                props = None
                if i % 7 == 3:  # an MQTT 5 property the fast reader leaves to paho
                    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    props.UserProperty = ("k", str(i))
                infos.append(publisher.publish(topic, f"{i}".encode(), qos=(i % 4) // 2, properties=props))
                sent.append((topic, f"{i}".encode()))
            await asyncio.to_thread(lambda: [info.wait_for_publish(30) for info in infos])
            await everything.wait(len(sent), timeout=30)
            await odd.wait(len(sent) // 2, timeout=30)
        finally:
            publisher.loop_stop()
            publisher.disconnect()

    def by_qos(messages: list[MqttMessage], qos: int) -> list[tuple[str, bytes]]:
        return [(m.topic, m.payload) for m in messages if m.qos == qos]

    def sent_with(qos: int, part: str = "") -> list[tuple[str, bytes]]:
        return [s for i, s in enumerate(sent) if (i % 4) // 2 == qos and part in s[0]]

    for qos in (0, 1):
        assert by_qos(everything.messages, qos) == sent_with(qos)
        assert by_qos(odd.messages, qos) == sent_with(qos, "/odd/")
    assert len(everything.messages) == len(sent)
    assert conn.read_directly > 0  # the test did exercise the fast reader


async def test_a_bulk_connection_gives_way_while_safety_work_is_in_flight(mosquitto: Mosquitto) -> None:
    """A connection marked ``gives_way`` (an adapter's main connection beside its safety
    lane) holds its reads while a give-way source says safety work is in flight; another
    connection (the lane's) reads on. Nothing is lost: once the work is done, every held
    message arrives, in order (adapters/sdk/giveway.py)."""
    from adapters.sdk.giveway import GIVE_WAY

    payloads = _burst_payloads(3000)
    in_flight = {"safety": True}
    remove = GIVE_WAY.add_source(lambda: in_flight["safety"])
    holds = GIVE_WAY.holds
    try:
        async with (
            MqttConnection(settings(mosquitto, protocol="3.1.1")) as bulk,
            MqttConnection(settings(mosquitto, protocol="3.1.1")) as lane,
        ):
            bulk.gives_way = True
            bulk_inbox, lane_inbox = Inbox(), Inbox()
            await bulk.subscribe("burst/#", bulk_inbox, qos=0)
            await lane.subscribe("burst/#", lane_inbox, qos=0)
            await _publish_burst(mosquitto, payloads)
            await lane_inbox.wait(len(payloads), timeout=60)
            # the lane's connection read everything while the bulk one held back
            assert len(bulk_inbox.messages) < len(payloads)
            assert GIVE_WAY.holds > holds
            in_flight["safety"] = False
            msgs = await bulk_inbox.wait(len(payloads), timeout=60)
    finally:
        remove()
    assert [m.payload for m in msgs] == payloads
    assert [m.payload for m in lane_inbox.messages] == payloads


async def test_a_bulk_turn_reads_the_lane_between_its_chunks(mosquitto: Mosquitto) -> None:
    """A safety message that reaches the lane's socket while a bulk connection beside it is
    in the middle of a read turn is handled inside that turn (``GIVE_WAY.serve_lanes``), not
    after the turn and the selector's next look; the bulk connection still gets everything,
    in order."""
    from adapters.sdk.giveway import GIVE_WAY

    loop = asyncio.get_running_loop()
    payloads = _burst_payloads(600)
    turn_over: list[bool] = []
    seen: list[tuple[bool, int]] = []  # (the bulk turn was over, bulk messages handled) at the alarm
    bulk_msgs: list[MqttMessage] = []
    alarm = paho.Client(CallbackAPIVersion.VERSION2, client_id="alarm-pub", protocol=paho.MQTTv311)
    alarm.connect(mosquitto.host, mosquitto.port)
    alarm.loop_start()
    async with (
        MqttConnection(settings(mosquitto, protocol="3.1.1")) as bulk,
        MqttConnection(settings(mosquitto, protocol="3.1.1")) as lane,
    ):
        bulk.gives_way = True
        remove = GIVE_WAY.add_lane(lane)

        def on_batch(msgs: list[MqttMessage]) -> None:
            if not bulk_msgs:  # the first chunk of a turn: the alarm reaches the lane's socket now
                loop.call_soon(turn_over.append, True)  # runs once this loop turn is over
                alarm.publish("alarm", b"smoke", qos=0).wait_for_publish(10)
                fd = lane.fileno()
                assert fd is not None
                assert select.select([fd], [], [], 10)[0] == [fd]
            bulk_msgs.extend(msgs)

        def on_alarm(msg: MqttMessage) -> None:
            seen.append((bool(turn_over), len(bulk_msgs)))

        try:
            await lane.subscribe("alarm", on_alarm, qos=0)
            await bulk.subscribe_batch("burst/#", on_batch, qos=0)
            await _publish_burst(mosquitto, payloads)
            async with asyncio.timeout(60):
                while len(bulk_msgs) < len(payloads) or not seen:
                    await asyncio.sleep(0.01)
        finally:
            remove()
            alarm.loop_stop()
            alarm.disconnect()
    [(over, handled)] = seen
    assert not over  # handled inside the bulk turn that was reading when it arrived
    assert 0 < handled < len(payloads)
    assert [m.payload for m in bulk_msgs] == payloads
