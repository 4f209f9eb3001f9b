"""City scale against a real three-server NATS cluster (JetStream, MQTT listener) and a real
PostgreSQL: the hubs' own uplink bridge publishes (MQTT 3.1.1, QoS 1, failover list), platform
worker processes (``dhome-community worker``) take the alerts from the replicated stream.

Each test has its own topic prefix and durable consumer, so tests sharing the module's cluster
never see each other's messages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from aiohttp.test_utils import TestServer
from nats.errors import Error as NatsError
from nats.js.api import ConsumerInfo
from sqlalchemy import text

from bench.cityhome import alert_entry, subscription
from bench.cityplatform import Workers, committed, enrol, write_settings
from bench.natscluster import NatsCluster
from community.app import create_app
from community.config import NatsSettings, load
from community.db import make_engine
from community.jetstream import STREAM, ensure_consumer
from community.web import LIVE
from hub.alerts.config import UplinkBroker
from hub.bridges.mqtt_uplink import MqttUplinkBridge, UplinkConnections
from hub.bridges.uplink_consent import notice
from hub.delivery import DeliveryError, OutboxEntry

pytestmark = pytest.mark.slow

KINDS = ["smoke", "fall", "gas_leak", "sos"]
ACK_WAIT = 2.0


def broker_for(cluster: NatsCluster, i: int) -> UplinkBroker:
    """Home i starts on server i % 3 and lists the other two to fail over to."""
    urls = cluster.mqtt_urls[i % 3 :] + cluster.mqtt_urls[: i % 3]
    return UplinkBroker(
        url=urls[0], failover=tuple(urls[1:]), reconnect_min_delay=0.1, reconnect_max_delay=0.5,
        connect_timeout=10, publish_timeout=5,
    )  # fmt: skip


class Homes:
    """Simulated hubs: each its own uplink connection and bridge, sending what its outbox holds
    and retrying a failed send with the same message (as the hub's outbox does)."""

    def __init__(self, cluster: NatsCluster, prefix: str, n: int) -> None:
        self.sub = subscription(prefix)
        self.names = [f"{prefix.split('/', maxsplit=1)[0]}-home-{i}" for i in range(n)]
        self.bridges = [
            MqttUplinkBridge(home, UplinkConnections(broker_for(cluster, i), home))
            for i, home in enumerate(self.names)
        ]
        self.sent: list[str] = []
        self.retries = 0

    async def send(self, i: int, entry: OutboxEntry) -> None:
        while True:
            try:
                await self.bridges[i].send(entry)
                self.sent.append(entry.message_id)
                return
            except DeliveryError:
                self.retries += 1
                await asyncio.sleep(0.2)

    async def raise_alerts(self, per_home: int, pause: float = 0.0) -> None:
        async def one_home(i: int) -> None:
            for k in range(per_home):
                await self.send(i, alert_entry(self.names[i], KINDS[k % len(KINDS)], self.sub))
                if pause:
                    await asyncio.sleep(pause)

        await asyncio.gather(*(one_home(i) for i in range(len(self.names))))

    async def close(self) -> None:
        for b in self.bridges:
            await b.close()


def platform(tmp_path: Path, cluster: NatsCluster, database: str, homes: Homes, prefix: str) -> Path:
    enrol(database, homes.names)
    durable = prefix.split("/", maxsplit=1)[0]
    return write_settings(
        tmp_path / "platform.yaml",
        database,
        cluster,
        prefix=prefix,
        ack_wait=ACK_WAIT,
        batch=20,
        durable=durable,
    )


async def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def consumer_info(cluster: NatsCluster, durable: str) -> ConsumerInfo:
    """The consumer's state; right after a restart its stream may still be electing a leader."""
    nc = await nats.connect(cluster.nats_urls)
    try:
        for _ in range(100):
            try:
                return await nc.jetstream().consumer_info(STREAM, durable, timeout=2)
            except NatsError:
                await asyncio.sleep(0.3)
        return await nc.jetstream().consumer_info(STREAM, durable, timeout=5)
    finally:
        await nc.close()


async def test_alerts_of_many_homes_committed_once(
    nats_cluster: NatsCluster, postgres_url: str, tmp_path: Path
) -> None:
    homes = Homes(nats_cluster, "many/v1", 30)
    config = platform(tmp_path, nats_cluster, postgres_url, homes, "many/v1")
    with Workers(config, tmp_path, 2):
        await homes.raise_alerts(per_home=4)
        await homes.close()
        await wait_for(lambda: committed(postgres_url)[0] >= 120, 60, "120 alerts committed")
        await asyncio.sleep(ACK_WAIT + 0.5)  # a redelivery would have come by now
    assert len(set(homes.sent)) == 120
    assert committed(postgres_url) == (120, 120)
    info = await consumer_info(nats_cluster, "many")
    assert info.num_pending == 0 and info.num_ack_pending == 0
    nc = await nats.connect(nats_cluster.nats_urls)
    stream = await nc.jetstream().stream_info(STREAM)
    await nc.close()
    # the stream the PUBACK covers is on all three servers: a leader and two current replicas
    assert stream.config.num_replicas == 3
    assert stream.cluster is not None and stream.cluster.leader is not None
    assert len([r for r in stream.cluster.replicas or [] if r.current]) == 2


async def test_a_server_stopped_mid_run_loses_nothing(
    nats_cluster: NatsCluster, postgres_url: str, tmp_path: Path
) -> None:
    homes = Homes(nats_cluster, "stop/v1", 12)
    config = platform(tmp_path, nats_cluster, postgres_url, homes, "stop/v1")
    victim = nats_cluster.nodes[0]
    with Workers(config, tmp_path, 1):
        sending = asyncio.create_task(homes.raise_alerts(per_home=10, pause=0.05))
        await wait_for(lambda: len(homes.sent) >= 30, 30, "the first alerts sent")
        nats_cluster.kill_node(victim)  # kill -9, in the middle of the uplink
        await wait_for(lambda: len(homes.sent) >= 80, 60, "alerts sent while a server is down")
        await asyncio.to_thread(nats_cluster.start_node, victim)
        await sending
        # the homes that started on the stopped server went on through another of their list
        moved = [b for i, b in enumerate(homes.bridges) if i % 3 == 0]
        assert all(conn.connects >= 2 for b in moved for conn in b._conns._conns.values())
        await homes.close()
        await wait_for(lambda: committed(postgres_url)[0] >= 120, 60, "every alert committed")
        await asyncio.sleep(ACK_WAIT + 0.5)
    assert committed(postgres_url) == (120, 120)


async def test_a_puback_means_the_alert_is_in_the_replicated_stream(
    nats_cluster: NatsCluster, postgres_url: str, tmp_path: Path
) -> None:
    """The durable path: once the hub has its PUBACK, all three servers may die at once (kill -9)
    and the alert is still there when they come back."""
    homes = Homes(nats_cluster, "puback/v1", 10)
    config = platform(tmp_path, nats_cluster, postgres_url, homes, "puback/v1")
    settings = NatsSettings(servers=nats_cluster.nats_urls, mqtt=nats_cluster.mqtt_urls, topic_prefix="puback/v1",
                            durable="puback", ack_wait=ACK_WAIT)  # fmt: skip
    nc = await nats.connect(nats_cluster.nats_urls)
    await ensure_consumer(nc.jetstream(), settings)  # the platform set up, no worker running
    await nc.close()
    await homes.raise_alerts(per_home=5)
    await homes.close()
    for node in nats_cluster.nodes:
        nats_cluster.kill_node(node)
    await asyncio.to_thread(nats_cluster.start)
    info = await consumer_info(nats_cluster, "puback")
    assert info.num_pending == 50
    with Workers(config, tmp_path, 1):
        await wait_for(lambda: committed(postgres_url)[0] >= 50, 60, "50 alerts committed")
    assert committed(postgres_url) == (50, 50)


async def test_a_killed_workers_unacked_alerts_go_to_another_once(
    nats_cluster: NatsCluster, postgres_url: str, tmp_path: Path
) -> None:
    homes = Homes(nats_cluster, "kill/v1", 10)
    config = platform(tmp_path, nats_cluster, postgres_url, homes, "kill/v1")
    engine = make_engine(postgres_url)
    with Workers(config, tmp_path, 1) as workers, engine.connect() as db:
        # hold the first worker inside its transaction: it has fetched alerts it cannot commit yet
        db.execute(text("LOCK TABLE messages IN EXCLUSIVE MODE"))
        await homes.raise_alerts(per_home=4)
        await homes.close()
        for _ in range(300):
            held = await consumer_info(nats_cluster, "kill")
            if held.num_ack_pending > 0:
                break
            await asyncio.sleep(0.1)
        assert held.num_ack_pending > 0 and held.num_redelivered == 0
        victim = workers.all[0]
        workers.add(1)
        victim.kill()  # kill -9 with its batch fetched and not acknowledged
        db.rollback()  # the lock goes: the other worker commits, then takes the victim's alerts
        await wait_for(lambda: committed(postgres_url)[0] >= 40, 60, "40 alerts committed")
        await asyncio.sleep(ACK_WAIT + 0.5)
        info = await consumer_info(nats_cluster, "kill")
    engine.dispose()
    assert committed(postgres_url) == (40, 40)
    assert info.num_ack_pending == 0 and info.num_pending == 0
    # deliveries (the consumer's sequence) beyond the 40 alerts: the victim's came again, to the survivor
    assert info.delivered is not None and info.delivered.consumer_seq > 40


async def test_the_web_app_takes_alerts_too_and_shows_them_live(
    nats_cluster: NatsCluster, postgres_url: str, tmp_path: Path
) -> None:
    """``dhome-community serve`` with ``nats:`` set: each process is a worker as well, and what
    it stores goes to the open consoles (the live queue) at once."""
    homes = Homes(nats_cluster, "web/v1", 3)
    config = platform(tmp_path, nats_cluster, postgres_url, homes, "web/v1")
    settings = load(config)
    assert settings.nats is not None
    nc = await nats.connect(nats_cluster.nats_urls)
    await ensure_consumer(nc.jetstream(), settings.nats)  # the platform set up before hubs publish
    await nc.close()
    app = create_app(settings)
    live: asyncio.Queue[str | None] = asyncio.Queue()
    app[LIVE].queues.add(live)  # as an open console page would
    async with TestServer(app):
        await homes.raise_alerts(per_home=2)
        frames = [await asyncio.wait_for(live.get(), 30) for _ in range(6)]
        assert all(f is not None and f.startswith("event: alert") for f in frames)
        await wait_for(lambda: committed(postgres_url)[0] >= 6, 30, "6 alerts committed")
        # a home's resident withdraws: its consent notice reaches the household record through
        # the same workers (spec §9.4), and the consoles hear of it
        gone = homes.names[0]
        await homes.bridges[0].notify_consent(homes.sub, notice(gone, homes.sub, None, datetime.now(UTC)))
        await homes.close()
        frame = await asyncio.wait_for(live.get(), 30)
        assert frame is not None and frame.startswith("event: household") and gone in frame
    assert committed(postgres_url) == (6, 6)
    engine = make_engine(postgres_url)
    with engine.connect() as db:
        withdrawn = (
            db.execute(text("SELECT home FROM households WHERE withdrawn_at IS NOT NULL")).scalars().all()
        )
    engine.dispose()
    assert withdrawn == [gone]
