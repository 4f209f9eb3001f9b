"""The safety lane beside a persistent session, on a real Mosquitto (issue 23 meets spec §12).

The main ("bulk") connection skips the copies of the topics the lane owns; with a persistent
session it must not acknowledge such a copy before the lane's copy is durable, or a hub killed
in between loses the message: the broker holds it for nobody (the lane's session is a clean
one). Here the hub "dies" at exactly that moment — the lane has handled the SOS presses,
nothing they caused by the lane is durable yet (its acknowledgement gate never passes, while
the main connection's own work is durable at once), and then both connections go away —
and at the next start every press comes again, in order, before what is published after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from adapters.sdk.mqtt import BrokerSettings, MqttConnection, MqttMessage
from adapters.sdk.mqtt.lanes import SafetyLane, lane_settings
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

SOS = "flat/sos-1/event"
Gate = Callable[[], Awaitable[None]]


async def durable() -> None:
    return None


def settings(broker: Mosquitto) -> BrokerSettings:
    return BrokerSettings(
        url=broker.url, client_id="lane-persist", session_expiry=600,
        reconnect_min_delay=0.05, reconnect_max_delay=0.5,
    )  # fmt: skip


async def until(predicate: Callable[[], object], what: str) -> None:
    async with asyncio.timeout(20):
        while not predicate():
            await asyncio.sleep(0.02)


class Hub:
    """The two connections of one adapter, and what each handled, in order."""

    def __init__(self, broker: Mosquitto, lane_gate: Gate, bulk_gate: Gate | None = None) -> None:
        self.handled: list[str] = []  # payloads, in the order handled (either connection)
        self.by_lane: list[str] = []
        self.bulk = MqttConnection(settings(broker))
        self.bulk.set_ack_gate(bulk_gate or lane_gate)
        self.lane = SafetyLane(self._on_lane)
        self._gate = lane_gate

    def _on_lane(self, msg: MqttMessage) -> None:
        self.by_lane.append(msg.payload.decode())
        self.handled.append(msg.payload.decode())

    def _on_bulk(self, msg: MqttMessage) -> None:
        self.handled.append(msg.payload.decode())

    async def start(self) -> None:
        await self.bulk.open()
        await self.lane.open(
            self.bulk, lane_settings(self.bulk.settings, self.bulk.client_id), ack_gate=self._gate
        )
        await self.bulk.subscribe("flat/#", self.lane.bulk(self._on_bulk))

    async def claim(self) -> None:
        await self.lane.claim(["flat/sos-1/#"])
        await until(lambda: self.lane.owns(SOS), "the SOS button on the lane")

    async def stop(self) -> None:
        await self.lane.close()
        await self.bulk.close()


async def test_a_press_skipped_by_the_main_connection_survives_a_crash_before_the_lane_commits(
    mosquitto: Mosquitto,
) -> None:
    dead = asyncio.Event()

    async def never() -> None:  # the hub dies before what the lane's presses caused is stored
        await dead.wait()

    # what the main connection handled itself is durable at once: nothing but the lane's
    # commit holds its acknowledgement of the skipped copies back
    first = Hub(mosquitto, never, durable)
    await first.start()
    await first.claim()
    with MqttPeer(mosquitto, "sos-button") as button:
        for n in ("1", "2", "3"):
            button.publish(SOS, n)  # QoS 1: back once the broker has it
        # the critical moment: the lane handled the presses, the main connection skipped its copies
        await until(lambda: first.by_lane == ["1", "2", "3"] and first.lane.withheld == 3, "skipped")
        await asyncio.sleep(0.3)  # time to acknowledge, if anything did it too early
        assert first.bulk.acked == 1  # the hand-over's marker only
        # killed: both connections go away without acknowledging (closed while nothing more
        # is handled: the lane's closing would hand its copies to the main connection)
        await first.bulk.close()
        await first.stop()
        assert first.bulk.acked == 1

        second = Hub(mosquitto, durable)
        await second.start()
        # the main connection's session gives the presses again: handled there (the lane has
        # not taken the topic over yet)
        await until(lambda: second.handled[:3] == ["1", "2", "3"], "the presses again")
        await second.claim()
        for n in ("4", "5"):
            button.publish(SOS, n)
        await until(lambda: "5" in second.handled, "the later presses")
        await asyncio.sleep(0.3)  # any duplicate would come now
        # nothing lost, each press once, in order; the later ones took the lane
        assert second.handled == ["1", "2", "3", "4", "5"]
        assert second.by_lane == ["4", "5"]
        # ... and the main connection acknowledged the skipped copies once the lane's were durable
        await until(lambda: second.bulk.acked >= 5, "every copy acknowledged")
        await second.stop()
    third = Hub(mosquitto, durable)
    await third.start()
    await asyncio.sleep(0.5)
    assert third.handled == []  # everything was acknowledged: nothing comes a third time
    await third.stop()


async def test_a_backlog_kept_while_the_hub_was_away_is_the_main_connections_whenever_it_is_handled(
    mosquitto: Mosquitto,
) -> None:
    """A press published while the hub was away waits in the main connection's session. At the
    next start the broker sends it at connect, before any handler exists, so it waits for its
    handler — and the lane may take its topic over before that handler is added (a device's
    claim follows its description, which another filter replays first). The lane never had a
    copy of it: the main connection must handle it, not skip it (it did: the SOS was
    acknowledged and lost, one kill -9 in two under load)."""
    first = Hub(mosquitto, durable)
    await first.start()
    await first.claim()
    await first.stop()  # the main connection's session stays, with its subscription
    with MqttPeer(mosquitto, "sos-button") as button:
        button.publish(SOS, "away")
        second = Hub(mosquitto, durable)
        await second.bulk.open()  # the press arrives now: no handler yet, it waits
        await second.lane.open(
            second.bulk, lane_settings(second.bulk.settings, second.bulk.client_id), ack_gate=durable
        )
        await second.claim()  # the lane owns the topic before the main connection's handler exists
        await second.bulk.subscribe("flat/#", second.lane.bulk(second._on_bulk))
        await until(lambda: second.handled == ["away"], "the press kept while the hub was away")
        button.publish(SOS, "later")
        await until(lambda: "later" in second.handled, "the later press")
        await asyncio.sleep(0.3)  # any duplicate would come now
        assert second.handled == ["away", "later"]
        assert second.by_lane == ["later"]  # published after the hand-over: the lane's
        await second.stop()
    third = Hub(mosquitto, durable)
    await third.start()
    await asyncio.sleep(0.5)
    assert third.handled == []  # both acknowledged: nothing comes again
    await third.stop()
