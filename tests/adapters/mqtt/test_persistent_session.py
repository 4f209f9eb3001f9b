"""Persistent sessions through a real Mosquitto: QoS 1 messages published while the hub is away
arrive when it is back, are held until their handler is registered, and are acknowledged only
after the acknowledgement gate (the hub: "what it caused is durable") — so a message that was
not acknowledged comes again, and one that was does not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.sdk.mqtt import BrokerSettings, MqttConnection, MqttMessage
from tests.support.mosquitto import Mosquitto, MqttPeer, find_mosquitto


def settings(broker: Mosquitto, client_id: str, protocol: str) -> BrokerSettings:
    return BrokerSettings(
        url=broker.url, client_id=client_id, protocol=protocol, session_expiry=600,
        reconnect_min_delay=0.05, reconnect_max_delay=0.5,
    )  # fmt: skip


def collector() -> tuple[list[bytes], Callable[[MqttMessage], None]]:
    got: list[bytes] = []
    return got, lambda m: got.append(m.payload)


async def until(predicate: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_messages_sent_while_away_are_held_for_their_handler_and_acked_after_the_gate(
    mosquitto: Mosquitto, protocol: str
) -> None:
    cfg = settings(mosquitto, f"persist-{protocol}", protocol)
    first, on_first = collector()
    async with MqttConnection(cfg) as conn:
        await conn.subscribe("persist/#", on_first)  # the session now holds the subscription
    with MqttPeer(mosquitto, "persist-sender") as peer:
        peer.publish("persist/sos", b"pressed while the hub was away")

    gate_calls: list[int] = []

    async def gate() -> None:
        gate_calls.append(1)

    second, on_second = collector()
    conn = MqttConnection(cfg)
    conn.set_ack_gate(gate)
    async with conn:
        await until(lambda: conn.connects == 1, "connected")
        await asyncio.sleep(0.2)  # the broker replays the session's message right after CONNACK
        assert second == []  # ... and it is held: no handler yet
        await conn.subscribe("persist/#", on_second)
        await until(lambda: second == [b"pressed while the hub was away"], "the held message")
        await until(lambda: conn.acked == 1, "the acknowledgement")
        assert gate_calls  # ... which waited for the gate
    assert first == []
    third, on_third = collector()
    async with MqttConnection(cfg) as conn3:
        await conn3.subscribe("persist/#", on_third)
        await asyncio.sleep(0.3)
    assert third == []  # acknowledged after the gate: not delivered again


async def test_a_message_not_acknowledged_before_a_crash_comes_again(mosquitto: Mosquitto) -> None:
    cfg = settings(mosquitto, "persist-crash", "5")
    async with MqttConnection(cfg) as conn:
        await conn.subscribe("crash/#", lambda m: None)
    with MqttPeer(mosquitto, "crash-sender") as peer:
        peer.publish("crash/sos", b"press")
    stuck = asyncio.Event()

    async def never() -> None:
        await stuck.wait()  # the hub dies before what the press caused is stored

    got, on_message = collector()
    conn = MqttConnection(cfg)
    conn.set_ack_gate(never)
    async with conn:
        await conn.subscribe("crash/#", on_message)
        await until(lambda: got == [b"press"], "the press")
    again, on_again = collector()
    async with MqttConnection(cfg) as conn2:
        await conn2.subscribe("crash/#", on_again)
        await until(lambda: again == [b"press"], "the redelivered press")


async def test_a_backlog_goes_to_the_filter_it_matches_when_the_subscriptions_come_in_another_order(
    tmp_path: Path,
) -> None:
    """A resumed session's backlog carries the subscription identifiers of the process that
    subscribed; the next process may subscribe the same filters in another order (an adapter
    that learns its topics at run time), and its identifiers then name other filters. A
    broker that sends one QoS 1 message at a time makes the second of the backlog arrive after
    the new process has given the first filter's old identifier to another one."""
    broker = Mosquitto(find_mosquitto(), tmp_path, max_inflight=1)
    broker.start()
    try:
        cfg = settings(broker, "persist-order", "5")
        async with MqttConnection(cfg) as conn:
            await conn.subscribe("order/sos/#", lambda m: None)  # identifier 1
            await conn.subscribe("order/plug/#", lambda m: None)  # identifier 2
        with MqttPeer(broker, "order-sender") as peer:
            peer.publish("order/plug/1", b"switched while the hub was away")
            peer.publish("order/sos/1", b"pressed while the hub was away")
        sos, on_sos = collector()
        plug, on_plug = collector()
        async with MqttConnection(cfg) as conn:
            await until(lambda: conn.connects == 1, "connected")
            # the plug's message is held; this handler (identifier 1 here) takes it, its
            # acknowledgement lets the broker send the press, under the old identifier 1
            await conn.subscribe("order/plug/#", on_plug)
            await until(lambda: conn.acked == 1, "the plug's message acknowledged")
            await conn.subscribe("order/sos/#", on_sos)
            await until(lambda: sos == [b"pressed while the hub was away"], "the press, to its own handler")
            await until(lambda: conn.acked == 2, "the acknowledgement")
        assert plug == [b"switched while the hub was away"]
    finally:
        broker.stop()
