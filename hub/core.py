"""The hub: wires storage, registry, state, bus, dispatcher, supervisor and services together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from adapters.sdk.discovery import AdapterLoadError, load_adapter
from dhi.catalog import Catalog, default_catalog
from dhi.errors import ConfigError
from dhi.models import CommandRequest, CommandResult
from dhi.models.envelope import StateChange, wire_json
from dhi.timefmt import isoformat
from hub import meta
from hub.bus import EventBus
from hub.clock import Clock
from hub.commands import CommandDispatcher
from hub.config import HubConfig, adapter_config
from hub.consent.audit import command_entry
from hub.dirlock import DataDirLock
from hub.lanes import Lanes
from hub.metrics import Metrics, QueueReading
from hub.private import private_dir
from hub.registry import Registry
from hub.services import AlertService, PlatformLinkService, SubscriptionService
from hub.state import StateStore
from hub.storage import Storage
from hub.supervisor import Backoff, Supervisor

log = logging.getLogger(__name__)

DB_NAME = "dhome.db"
_EVENT_LOG = "INSERT INTO events (seq, type, time, device, message) VALUES (?,?,?,?,?)"
#: telemetry rows queued from which a read of the log no longer waits for them (one batch)
_SETTLE_WAIT_ROWS = 2000
#: longest a read of the log waits for the rows published before it (then: the settled part)
_SETTLE_WAIT_SECONDS = 1.0
_SETTLE_POLL = 0.005


class Service(Protocol):
    """Something that runs beside the core (API server, alert engine, outbox, mDNS)."""

    name: str

    async def start(self, hub: Hub) -> None: ...

    async def stop(self) -> None: ...


def _events_query(
    since: int, limit: int, types: Iterable[str], devices: Iterable[str], upto: int | None
) -> tuple[str, list[Any]]:
    """The one query of the event log: after ``since``, up to ``upto``, of these types and devices."""
    sql = "SELECT seq, message FROM events WHERE seq > ?"
    params: list[Any] = [since]
    if upto is not None:
        sql += " AND seq <= ?"
        params.append(upto)
    for column, values in (("type", sorted(types)), ("device", sorted(devices))):
        if values:
            sql += f" AND {column} IN ({','.join('?' * len(values))})"
            params.extend(values)
    sql += " ORDER BY seq LIMIT ?"
    params.append(limit)
    return sql, params


class Hub:
    def __init__(
        self,
        config: HubConfig,
        *,
        data_dir: Path | None = None,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        backoff: Backoff | None = None,
        config_source: str = "<config>",
        adapter_classes: dict[str, type[Any]] | None = None,
    ) -> None:
        self.config = config
        self.data_dir = (data_dir or config.data_dir or Path(".dhome")).resolve()
        self.dir_lock = DataDirLock(self.data_dir)
        #: rows of the event log from this seq on are this version's wire JSON (hub/meta.py)
        self.events_as_stored_from = 1
        self.clock = clock or Clock(start=config.clock.start, speed=config.clock.speed)
        self.catalog = catalog or default_catalog()
        self.metrics = Metrics()
        self.storage = Storage(
            self.data_dir / DB_NAME,
            batch_interval=config.storage.batch_interval,
            telemetry_max=config.storage.max_queued_rows,
        )
        self.lanes = Lanes(self.catalog)
        self.bus = EventBus(drill=config.drill)
        self.registry = Registry(self.storage, self.bus, self.catalog, self.clock, config.home.id)
        self.state = StateStore(self.storage)
        self.supervisor = Supervisor(self, backoff=backoff)
        self.dispatcher = CommandDispatcher(
            self.registry,
            self.catalog,
            self.supervisor.target,
            timeout=config.command_timeout,
            on_result=self._command_done,
        )
        self.services: list[Service] = []
        # attached by the alert engine and consent services when they start (hub/services.py)
        self.alerts: AlertService | None = None
        self.subscriptions: SubscriptionService | None = None
        self.platform_links: PlatformLinkService | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._started = False
        self._configure_adapters(config_source, adapter_classes or {})

    @property
    def drill(self) -> bool:
        """A drill hub: what it raises and shares is an exercise, never an emergency."""
        return self.config.drill

    def __repr__(self) -> str:
        return f"Hub(home={self.config.home.id!r}, data_dir={str(self.data_dir)!r}, devices={len(self.registry)})"

    # ------------------------------------------------------------ setup
    def _configure_adapters(self, source: str, overrides: dict[str, type[Any]]) -> None:
        """Resolve every adapter entry now, so a bad config fails before anything starts."""
        for i, entry in enumerate(self.config.adapters):
            if not entry.enabled:
                continue
            try:
                cls = overrides.get(entry.type) or load_adapter(entry.type)
            except AdapterLoadError as exc:
                raise ConfigError(f"{source}: adapters[{i}].type: {exc}") from None
            cfg = adapter_config(entry, cls.config_model, source, i)
            self.supervisor.add(entry.instance, cls, cfg)

    def add_service(self, service: Service) -> None:
        if self._started:
            raise RuntimeError("services must be added before the hub starts")
        self.services.append(service)

    async def settled(self) -> None:
        """Returns once every service that acts on bus messages has handled what was published
        so far (``caught_up``) and every queued write is committed."""
        for service in self.services:
            caught_up = getattr(service, "caught_up", None)
            if caught_up is not None:
                await caught_up()
        await self.storage.flush()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        private_dir(self.data_dir)
        self.dir_lock.acquire()  # one hub per data directory (hub/dirlock.py)
        try:
            await self.storage.open()
        except BaseException as exc:
            self.dir_lock.release()
            raise exc  # by name (mypyc, see below)
        await self.registry.load()
        await self.state.load()
        row = await self.storage.fetchone("SELECT MAX(seq) FROM events")
        last_seq = int(row[0]) if row and row[0] is not None else 0
        self.bus.resume_from(last_seq)
        self.events_as_stored_from = await meta.events_as_stored_from(self.storage, last_seq + 1)
        self.bus.tap(self._persist_event, raw=True, many=self._persist_events)
        self.metrics.bus_published.read = lambda: self.bus.published
        self.metrics.queues.sources.append(self._queue_readings)
        self.metrics.queues.coalesced = lambda: dict(self.storage.coalesced)
        self.metrics.queues.stalls = lambda: self.storage.stalls
        self.metrics.queues.commits = lambda: (
            self.storage.batches,
            self.storage.writes_committed,
            self.storage.commit_seconds,
        )
        # Adapters report availability themselves once they reconnect; until then: unknown.
        for rec in self.registry.all():
            self.registry.set_available(rec.id, False, "hub restarted")
        self._started = True
        started: list[Service] = []
        try:
            for svc in self.services:
                await svc.start(self)
                started.append(svc)
        except BaseException as exc:
            for svc in reversed(started):
                await svc.stop()
            await self.storage.close()
            self.dir_lock.release()
            # by name: compiled with mypyc, a bare `raise` after an `await` in the handler
            # lost the exception being handled (a TypeError came out instead of a ConfigError)
            raise exc
        self._tasks.append(asyncio.create_task(self.supervisor.run(), name="dhome-supervisor"))
        self._tasks.append(asyncio.create_task(self._maintenance(), name="dhome-maintenance"))
        log.info("hub %s started: data in %s", self.config.home.id, self.storage.path)

    async def stop(self, timeout: float = 10.0) -> None:
        if not self._started:
            return
        self._started = False
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for svc in reversed(self.services):
            try:
                async with asyncio.timeout(timeout):
                    await svc.stop()
            except Exception as exc:
                log.warning("service %s did not stop cleanly: %s", svc.name, exc)
        await self.storage.close()
        self.dir_lock.release()
        log.info("hub stopped")

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ API used by services
    async def execute(
        self, cmd: CommandRequest, *, actor: str | None = None, subscription: str | None = None
    ) -> CommandResult:
        """Run a command on the validated path (never raises). A command a sharing partner sends
        into the home (a bridge acting under its subscription) names ``actor`` and
        ``subscription``: it is then audited with what it asked and how it ended
        (``command.executed`` / ``command.failed``), like every other act under a consent."""
        result = await self.dispatcher.execute(cmd)
        if actor is not None:
            self.storage.write(
                *command_entry(self.clock.now(), actor, cmd, result, subscription=subscription)
            )
        return result

    def _command_done(self, cmd: CommandRequest, result: CommandResult, adapter: str, seconds: float) -> None:
        from dhi.models.envelope import CommandResultData, CommandResultMessage, source_for

        self.metrics.command_latency.labels(adapter, result.status.value).observe(seconds)
        self.bus.publish(
            CommandResultMessage(
                source=source_for(self.config.home.id, cmd.device),
                subject=cmd.device,
                time=self.clock.now(),
                data=CommandResultData(result=result),
            )
        )

    def _queue_readings(self) -> list[QueueReading]:
        """The storage telemetry queue and the bus subscribers' queues (grouped by name up to
        the first ``:``: one reading for all WebSocket clients, with the deepest one's peak)."""
        s = self.storage
        out = {
            "storage.telemetry": QueueReading(
                "storage.telemetry", s.telemetry_depth, s.telemetry_bound, s.telemetry_peak
            )
        }
        for sub in self.bus.subscribers():
            name = "bus." + sub.name.split(":", 1)[0]
            seen = out.get(name)
            if seen is None:
                out[name] = QueueReading(name, sub.depth, sub.maxsize, sub.peak)
            else:
                out[name] = QueueReading(
                    name, max(seen.depth, sub.depth), max(seen.bound, sub.maxsize), max(seen.peak, sub.peak)
                )
        return list(out.values())

    def _persist_event(self, msg: Any) -> None:
        self._persist_events([msg])

    def _persist_events(self, msgs: list[Any]) -> None:
        """The event log's rows of these messages (one ingestion batch: one chunk). A bulk
        reading's row may give way to a newer one of the same property when storage falls
        behind (docs/ingestion.md); anything else is always logged."""
        rows: list[tuple[Any, ...]] = []
        keys: list[tuple[str, str, str, str] | None] = []
        seqs: list[int] = []
        last_time, stamp = None, ""
        for msg in msgs:
            key = None
            if type(msg) is StateChange and not msg.priority:
                d = msg.data
                key = (d.device, d.component, d.capability, d.property)
            if msg.time is not last_time:  # a batch shares one time: one text for all
                last_time, stamp = msg.time, isoformat(msg.time)
            rows.append((msg.seq, str(msg.type), stamp, msg.subject, wire_json(msg)))
            keys.append(key)
            seqs.append(msg.seq)
        # the seq as the row's order: readers of the log take what is settled below the floor
        self.storage.write_telemetry_many(_EVENT_LOG, rows, keys, seqs)

    async def stored_events(
        self,
        since: int,
        limit: int,
        types: Iterable[str],
        devices: Iterable[str],
        encode: Callable[[list[tuple[int, str]]], bytes],
    ) -> bytes:
        """``encode`` of the event log after ``since`` (oldest first, at most ``limit``): each
        message's seq and wire JSON as stored, optionally only of these types / devices. The query and
        ``encode`` run together on the storage's read thread: one hop off the loop, not two
        (on a saturated hub each hop back to the loop waits for loop turns, issue 26).

        For readers paging by seq (``GET /events``): with a backlog of telemetry waiting for
        SQLite (the hub saturated) it answers at once with the settled part of the log, the
        messages below the oldest one still queued, instead of waiting for the backlog to be
        committed (which held every such request for seconds); a later page has the rest, in
        order and without gaps. Otherwise (a batch or less queued) it waits for what was
        published before it came, for at most ``_SETTLE_WAIT_SECONDS``, never for a backlog
        that grew meanwhile (``Storage.flush`` commits everything queued when it gets its turn)."""
        storage = self.storage
        published = self.bus.seq
        if storage.telemetry_pending < _SETTLE_WAIT_ROWS:
            # a batch or less behind: have it committed now and wait for it (bounded)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + _SETTLE_WAIT_SECONDS
            while (floor := storage.telemetry_floor()) is not None and floor <= published:
                if loop.time() >= deadline or storage.telemetry_pending >= _SETTLE_WAIT_ROWS:
                    break
                storage.commit_soon()
                await asyncio.sleep(_SETTLE_POLL)
        floor = storage.telemetry_floor()
        upto = published if floor is None else min(published, floor - 1)
        sql, params = _events_query(since, limit, types, devices, upto)
        return await storage.fetch_then(
            sql, params, lambda rows: encode([(int(seq), str(raw)) for seq, raw in rows])
        )

    async def stored_event_rows(
        self,
        since: int,
        limit: int,
        types: Iterable[str] = (),
        devices: Iterable[str] = (),
        upto: int | None = None,
        *,
        flush: bool = True,
    ) -> list[tuple[int, str]]:
        """``(seq, wire JSON)`` of the event log after ``since`` and up to ``upto`` (oldest first,
        at most ``limit``), optionally only of these types / devices. It runs in the storage's
        worker thread, after what is queued is committed (unless ``flush`` is false: the caller
        knows every row up to ``upto`` is)."""
        sql, params = _events_query(since, limit, types, devices, upto)
        if flush:
            await self.storage.flush()
        return [(int(seq), raw) for seq, raw in await self.storage.fetchall(sql, params)]

    async def _maintenance(self) -> None:
        """Retention: prune history and the event log (real time, hourly)."""
        cfg = self.config.storage
        while True:
            now = self.clock.now()
            self.state.prune_history(now, timedelta(days=cfg.history_days))
            self.storage.write(
                "DELETE FROM events WHERE time < ?", ((now - timedelta(days=cfg.events_days)).isoformat(),)
            )
            self.metrics.devices.set(len(self.registry))
            await asyncio.sleep(3600)
