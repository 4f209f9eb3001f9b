"""The alert engine: a hub service that reads the event bus, keeps each rule's conditions and
timers, and raises, updates, escalates and clears alerts (DESIGN §6).

Every change to an alert is published on the bus (``alert.raised`` / ``alert.updated`` /
``alert.cleared``) and then committed together with whatever the consent filter queued for
it, so an alert and its outbox entries are durable in one transaction.

Timers (door open too long, device offline, inactivity, escalation) run on the hub clock,
so a scenario played 3600 times faster raises its 12-hour inactivity alert in 12 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson
from prometheus_client import Counter

from adapters.sdk.giveway import GIVE_WAY, HOLD, POLL, SLICE
from dhi.errors import NotFound
from dhi.models.alert import Alert, AlertKind, AlertState
from dhi.models.envelope import (
    AlertClearedMessage,
    AlertData,
    AlertRaisedMessage,
    AlertUpdatedMessage,
    DeviceAvailabilityData,
    EventOccurredData,
    MessageType,
    StateChange,
    StateChangeData,
    source_for,
)
from hub.alerts import signals
from hub.alerts.config import AlertsConfig, RulesConfig, ThresholdRule, alerts_config
from hub.alerts.durations import format_duration
from hub.alerts.kinds import KIND_INFO, where
from hub.alerts.rule import AlertRule, Scope, changed
from hub.alerts.schedule import in_window, inactivity_due, local_time
from hub.bus import Filter, Subscription, SubscriptionClosed

if TYPE_CHECKING:
    from hub.core import Hub
    from hub.registry import DeviceRecord

log = logging.getLogger(__name__)

WATCHED = (
    MessageType.STATE_CHANGED,
    MessageType.EVENT_OCCURRED,
    MessageType.DEVICE_AVAILABILITY,
    MessageType.DEVICE_ADDED,
    MessageType.DEVICE_UPDATED,
    MessageType.DEVICE_REMOVED,
)
#: Cleared alerts kept in memory for ``list_alerts`` (older ones stay in the database).
KEEP_CLEARED = 500
_BATCH = 500  # bus messages handled per turn of the engine's lock
#: ... and at most this long (seconds) before the engine gives the event loop back: a get()
#: from a non-empty queue does not suspend, so without it a backlog of 50 000 bulk readings
#: was handled in one loop turn (seconds) while the safety lane's reads and the outbox waited
_SLICE_SECONDS = SLICE
#: The timer loop re-checks at least this often (real seconds), whatever the next deadline.
MAX_TIMER_SLEEP = 2.0
#: A timer waits at most this long (real seconds) for the messages queued before it to be
#: handled: a saturated queue delays a door or inactivity timer by no more than this.
_BACKLOG_WAIT = 1.0
#: Capabilities whose presence makes the inactivity rule meaningful (they see a person).
ACTIVITY_SENSORS = frozenset(
    {"dhi.motion", "dhi.occupancy", "dhi.presence", "dhi.activity", "dhi.contact", "dhi.water_meter",
     "dhi.bed_occupancy"}
)  # fmt: skip


@dataclass
class _Track:
    """An open alert with what the engine knows beyond the wire model."""

    alert: Alert
    conditions: set[str] = field(default_factory=set)  # "<device>/<component>/<capability>/<prop>"
    restored: bool = False  # an end signal came and no condition is active
    last_sent: datetime | None = None
    update_pending: bool = False


def _threshold_only() -> dict[tuple[str, str], tuple[AlertRule, ...]]:
    """(capability, property) -> its threshold rules, for the properties that nothing but
    threshold rules reads (a thermometer's temperature): no trigger, door, activity or battery
    signal. A bulk reading of one of these that is below every threshold can only end
    conditions, which it cannot while no alert of those kinds is open (``_changes_nothing``)."""
    out: dict[tuple[str, str], tuple[AlertRule, ...]] = {}
    for key in signals.WATCHED_PROPERTIES:
        rules = signals.thresholds_for(*key)
        if (
            rules
            and not signals.triggers_for_property(*key)
            and signals.door_for_property(*key) is None
            and signals.activity_for_property(*key) is None
            and key != signals.BATTERY_READING
        ):
            out[key] = rules
    return out


_THRESHOLD_ONLY = _threshold_only()


def _is_priority(msg: Any) -> bool:
    """The safety lane of the engine's queue: events, availability and device changes are
    always taken first; readings when the hub marked them so (hub/lanes.py)."""
    return msg.type is not MessageType.STATE_CHANGED or bool(getattr(msg, "priority", False))


def _scope_key(kind: AlertKind, device: str | None, room: str | None) -> str:
    scope = KIND_INFO[kind].scope
    if scope is Scope.HOME or device is None:
        return f"{kind}|home"
    if scope is Scope.ROOM and room:
        return f"{kind}|room:{room}"
    return f"{kind}|device:{device}"


class AlertEngine:
    name = "alerts"

    def __init__(self, config: AlertsConfig | None = None) -> None:
        self._given_config = config
        self._hub: Hub | None = None
        self.config = config or AlertsConfig()
        self._tz = ZoneInfo("UTC")
        self._alerts: dict[str, Alert] = {}
        self._open: dict[str, _Track] = {}  # scope key -> track
        self._door_open_since: dict[str, datetime] = {}
        self._offline_since: dict[str, datetime] = {}
        self._fired: set[tuple[str, str]] = set()  # ("door"|"offline", device) timers already fired
        self._last_activity: datetime | None = None
        self._night_signals: deque[datetime] = deque()
        #: property -> bus seq of its last priority reading (bulk ones older than it are stale)
        self._overtaken: dict[tuple[str, str, str, str], int] = {}
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._busy = False  # a batch taken off the queue is being handled
        self._on_priority = False  # a priority message is being handled (its alert committed)
        self._msg_time: datetime | None = None  # the time of the message being handled
        self._no_give_way: Callable[[], None] | None = None
        self._batch_done = asyncio.Event()
        #: a wait for safety work elsewhere ran to HOLD: one batch of bulk before the next
        self._owed_batch = False
        #: times bulk readings waited for safety work in flight elsewhere (observability)
        self.bulk_holds = 0
        self.raised_total: Counter | None = None

    def __repr__(self) -> str:
        return f"AlertEngine(open={len(self._open)}, known={len(self._alerts)})"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self.config = self._given_config or alerts_config(hub.config.alerts)
        self._tz = ZoneInfo(hub.config.home.timezone)
        self.raised_total = Counter(
            "dhome_alerts_raised", "Alerts raised, by kind", ["kind"], registry=hub.metrics.registry
        )
        await self._load()
        hub.alerts = self
        if not self.config.enabled:
            return
        self._watch_thresholds()
        self._sub = hub.bus.subscribe(
            "alert-engine",
            # a change no rule reads (a humidity, a power reading) never enters the queue
            Filter.of(types=[t.value for t in WATCHED], state_properties=signals.WATCHED_PROPERTIES),
            maxsize=self.config.queue,
            raw=True,
            lane=_is_priority,
        )
        await self._sweep()
        self._no_give_way = GIVE_WAY.add_source(self._safety_in_flight)
        self._tasks = [
            asyncio.create_task(self._consume(self._sub), name="dhome-alerts"),
            asyncio.create_task(self._timer_loop(), name="dhome-alert-timers"),
        ]

    async def stop(self) -> None:
        if self._no_give_way is not None:
            self._no_give_way()
            self._no_give_way = None
        if self._sub is not None:
            self._sub.close("hub stopping")
        self._batch_done.set()  # nobody waits for a consumer that is gone
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def replace_rules(self, rules: RulesConfig) -> None:
        """Judge by ``rules`` from now on (a resident changed a threshold in the settings).

        Deadlines are computed from the config on every pass, so waking the timer loop is
        enough for a pending inactivity or door timer to follow the new limit at once."""
        self.config = self.config.model_copy(update={"rules": rules})
        if self._given_config is not None:
            # a restart of this engine object must keep the change too
            self._given_config = self._given_config.model_copy(update={"rules": rules})
        if self._hub is not None:
            self._watch_thresholds()
        self._wake.set()

    def _watch_thresholds(self) -> None:
        """Readings near a threshold rule's limit take the safety lane (hub/lanes.py): from
        ``threshold - hysteresis``, where a reading can start or keep the condition."""
        for rule in signals.THRESHOLDS:
            assert rule.threshold is not None
            config = self.config.rules.for_kind(rule.kind.value)
            near = None
            if config.enabled and isinstance(config, ThresholdRule):
                near = config.threshold - config.hysteresis
            self.hub.lanes.watch(*rule.threshold, near)

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the alert engine is not started")
        return self._hub

    async def _load(self) -> None:
        rows = await self.hub.storage.fetchall(
            "SELECT body FROM alerts WHERE state != 'cleared' UNION ALL "
            "SELECT body FROM (SELECT body FROM alerts WHERE state = 'cleared' ORDER BY last_seen DESC LIMIT ?)",
            (KEEP_CLEARED,),
        )
        for (body,) in rows:
            alert = Alert.model_validate_json(body)
            self._alerts[alert.id] = alert
            if alert.state is not AlertState.CLEARED:
                room = None
                if KIND_INFO[alert.kind].scope is Scope.ROOM:
                    room = alert.room
                key = _scope_key(alert.kind, alert.devices[0] if alert.devices else None, room)
                self._open[key] = _Track(alert, last_sent=alert.last_seen)
        log.info("alerts: %d open alerts loaded", len(self._open))

    async def _sweep(self) -> None:
        """Evaluate the state the hub already holds: conditions that are true right now (a
        smoke alarm still sounding after a restart) and whether open alerts are restored."""
        hub = self.hub
        now = _utc(hub.clock.now())
        for rec in hub.registry.all():
            if not rec.available and self._is_safety(rec):
                self._offline_since[rec.id] = now
            for comp, caps in hub.state.of_device(rec.id).items():
                for cap, props in caps.items():
                    for prop, value in props.items():
                        await self._on_property(rec, comp, cap, prop, value.value, None, now, initial=True)
                        if signals.activity_for_property(cap, prop) is not None:
                            # after a restart: the last change of an activity sensor is the best
                            # estimate of the last sign of life (the rule arms only once one is seen)
                            self._last_activity = max(self._last_activity or value.time, value.time)
        for track in list(self._open.values()):
            if not track.conditions and self._has_property_trigger(track.alert):
                await self._condition_over(track, now)

    def _has_property_trigger(self, alert: Alert) -> bool:
        """Whether any device of the alert has a state property that tells its condition."""
        for dev in alert.devices:
            rec = self.hub.registry.get(dev)
            if rec is None:
                continue
            caps = {c.id for comp in rec.description.components for c in comp.capabilities}
            if any(t.kind is alert.kind and t.property and t.capability in caps for t in signals.TRIGGERS):
                return True
        return False

    # ------------------------------------------------------------------ AlertService

    def list_alerts(self, state: AlertState | None = None, limit: int = 100) -> list[Alert]:
        alerts = [a for a in self._alerts.values() if state is None or a.state is state]
        alerts.sort(key=lambda a: a.last_seen, reverse=True)
        return alerts[:limit]

    def get_alert(self, alert_id: str) -> Alert | None:
        return self._alerts.get(alert_id)

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        async with self._lock:
            track = self._track_of(alert_id)
            if track is None or track.alert.state is not AlertState.ACTIVE:
                return self._require(alert_id)
            now = _utc(self.hub.clock.now())
            alert = track.alert.model_copy(
                update={"state": AlertState.ACKNOWLEDGED, "acknowledged_by": by, "acknowledged_at": now}
            )
            track.alert = alert
            if track.restored and not track.conditions:
                await self._clear(track, now)
            else:
                await self._publish_update(track, now)
            self._wake.set()  # a resolve deadline starts now
            return track.alert

    async def clear(self, alert_id: str, by: str) -> Alert:
        async with self._lock:
            track = self._track_of(alert_id)
            if track is None:
                return self._require(alert_id)
            now = _utc(self.hub.clock.now())
            if track.alert.acknowledged_by is None:
                track.alert = track.alert.model_copy(update={"acknowledged_by": by, "acknowledged_at": now})
            await self._clear(track, now)
            self._wake.set()
            return track.alert

    def _require(self, alert_id: str) -> Alert:
        alert = self._alerts.get(alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id!r}", field="id")
        return alert

    def _track_of(self, alert_id: str) -> _Track | None:
        return next((t for t in self._open.values() if t.alert.id == alert_id), None)

    # ------------------------------------------------------------------ bus

    async def _consume(self, sub: Subscription) -> None:
        while True:
            await self._give_way(sub)
            try:
                msg = await sub.get()
            except SubscriptionClosed:
                return
            self._busy = True
            before = self._timer_inputs()
            async with self._lock:
                # what is already queued, in one turn of the lock (bounded: an API call
                # acknowledging an alert waits for the lock too)
                handled = 0
                deadline = time.perf_counter() + _SLICE_SECONDS
                while msg is not None:
                    if not self._changes_nothing(msg):
                        self._on_priority = _is_priority(msg)
                        try:
                            await self._handle(msg)
                        except Exception:
                            log.exception("alert engine: failed on %s", getattr(msg, "type", msg))
                        finally:
                            self._on_priority = False
                    handled += 1
                    # after a priority message the rest waits for the next turn: what it set
                    # in motion (the outbox's delivery) may want the bulk readings to wait
                    more = handled < _BATCH and time.perf_counter() < deadline and not _is_priority(msg)
                    msg = sub.get_nowait() if more else None
            self._busy = sub.depth > 0
            self._batch_done.set()
            if self._timer_inputs() != before:
                self._wake.set()
            if self._busy:
                await asyncio.sleep(0)  # the rest on the next loop turn: others' turn first

    async def _give_way(self, sub: Subscription) -> None:
        """Bulk readings wait while safety work is in flight elsewhere (adapters.sdk.giveway:
        the outbox delivering a fresh alert). Every step of that work waits for a loop turn,
        and each turn would also carry a batch of them. A priority message never waits; bulk
        waits at most ``HOLD``, then one batch is handled before the next wait. Not on a clock
        faster than real time (a simulated scenario): there the hold's real milliseconds are
        minutes of hub time, and a rule's timer (a door left open) would fire before the
        reading that ends it."""
        if self._owed_batch or self.hub.clock.speed > 1.0:
            self._owed_batch = False
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        held = False
        while sub.priority_depth == 0 and sub.depth > 0 and not sub.closed and GIVE_WAY.urgent():
            if loop.time() - started >= HOLD:
                self._owed_batch = True
                return
            if not held:
                held = True
                self.bulk_holds += 1
            await asyncio.sleep(POLL)

    def _changes_nothing(self, msg: Any) -> bool:
        """A bulk reading that handling would only take through no-ops: of a property only
        threshold rules read, below each rule's threshold (or not a number), with no alert of
        those kinds open (so there is no condition it could end). Most of a thermometer's
        readings; skipping them saves the whole handling chain per reading."""
        if type(msg) is not StateChange or msg.priority:
            return False
        data = msg.data
        rules = _THRESHOLD_ONLY.get((data.capability, data.property))
        if rules is None:
            return False
        value = data.value
        number = isinstance(value, int | float) and not isinstance(value, bool)
        for rule in rules:
            config = self.config.rules.for_kind(rule.kind.value)
            if number and (not isinstance(config, ThresholdRule) or value >= config.threshold):
                return False
        if self._open:
            for track in self._open.values():
                if any(track.alert.kind is rule.kind for rule in rules):
                    return False
        return True

    def _safety_in_flight(self) -> bool:
        """Bulk readers give way (adapters.sdk.giveway) while a priority message waits for the
        engine or is being handled, its alert's commit included."""
        sub = self._sub
        return self._on_priority or (sub is not None and sub.priority_depth > 0)

    async def caught_up(self) -> None:
        """Returns once every message published so far is handled: what it raised is persisted
        (the MQTT adapters acknowledge a QoS 1 message only after this, spec §12)."""
        while self._sub is not None and not self._sub.closed and (self._busy or self._sub.depth > 0):
            self._batch_done.clear()
            await self._batch_done.wait()

    def _timer_inputs(self) -> tuple[int, int, int, int, int, bool]:
        """What decides whether a new, earlier deadline may exist. Waking the timer loop
        for every message (thousands a second) would cost more than the messages; a
        deadline that only moved later needs no wake-up (the loop re-checks when due)."""
        return (
            len(self._door_open_since),
            len(self._offline_since),
            len(self._fired),
            len(self._open),
            sum(1 for t in self._open.values() if t.update_pending),
            self._last_activity is None,
        )

    async def _handle(self, msg: Any) -> None:
        now = _utc(msg.time if msg.time is not None else self.hub.clock.now())
        self._msg_time = now
        try:
            await self._handle_at(msg, now)
        finally:
            self._msg_time = None

    async def _handle_at(self, msg: Any, now: datetime) -> None:
        hub = self.hub
        data = msg.data
        match msg.type:
            case MessageType.STATE_CHANGED:
                assert isinstance(data, StateChangeData)
                if (data.capability, data.property) not in signals.WATCHED_PROPERTIES:
                    return
                key = (data.device, data.component, data.capability, data.property)
                if _is_priority(msg):
                    self._overtaken[key] = msg.seq
                elif self._overtaken.get(key, -1) > msg.seq:
                    return  # a newer reading of this property took the safety lane past this one
                rec = hub.registry.get(data.device)
                if rec is not None:
                    await self._on_property(
                        rec, data.component, data.capability, data.property, data.value, data.previous, now
                    )
            case MessageType.EVENT_OCCURRED:
                assert isinstance(data, EventOccurredData)
                rec = hub.registry.get(data.device)
                if rec is not None:
                    await self._on_event(rec, data.capability, data.event, now)
            case MessageType.DEVICE_AVAILABILITY:
                assert isinstance(data, DeviceAvailabilityData)
                rec = hub.registry.get(data.device)
                if rec is not None:
                    await self._on_availability(rec, data.available, now)
            case MessageType.DEVICE_REMOVED:
                device = msg.subject or ""
                self._door_open_since.pop(device, None)
                self._offline_since.pop(device, None)
                self._fired -= {("door", device), ("offline", device)}
            case _:
                pass

    # ------------------------------------------------------------------ signals

    def _is_safety(self, rec: DeviceRecord) -> bool:
        catalog = self.hub.catalog
        for comp in rec.description.components:
            for inst in comp.capabilities:
                definition = catalog.get(inst.id)
                if definition is not None and definition.category == "safety":
                    return True
        return False

    async def _on_property(  # noqa: PLR0917 - one reading, spelled out
        self,
        rec: DeviceRecord,
        component: str,
        capability: str,
        prop: str,
        value: Any,
        previous: Any,
        now: datetime,
        *,
        initial: bool = False,
    ) -> None:
        cond_key = f"{rec.id}/{component}/{capability}/{prop}"
        room = rec.description.room
        for trig in signals.triggers_for_property(capability, prop):
            if trig.safety_only and not self._is_safety(rec):
                continue
            if trig.active(value):
                await self._activate(trig.kind, rec, cond_key, now, initial=initial)
            else:
                await self._deactivate(trig.kind, rec, cond_key, now)
        if (capability, prop) == signals.BATTERY_READING and self._is_safety(rec):
            low = isinstance(value, int | float) and value <= self.config.rules.low_battery.threshold
            if low:
                await self._activate(AlertKind.LOW_BATTERY, rec, cond_key, now, initial=initial)
            else:
                await self._deactivate(AlertKind.LOW_BATTERY, rec, cond_key, now)
        for rule in signals.thresholds_for(capability, prop):
            await self._on_threshold(rule, rec, cond_key, value, now, initial=initial)
        door = signals.door_for_property(capability, prop)
        if door is not None:
            await self._on_door(rec, door.is_open(value), now, initial=initial)
        act = signals.activity_for_property(capability, prop)
        if act is not None and not initial and act.active(value):
            if act.active is changed and previous is None:
                return  # the device's first report is its initial state, not somebody acting
            await self._on_activity(room, now)

    async def _on_threshold(
        self, rule: AlertRule, rec: DeviceRecord, cond_key: str, value: Any, now: datetime, *, initial: bool
    ) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return  # null: the sensor does not know; that neither starts nor ends the condition
        config = self.config.rules.for_kind(rule.kind.value)
        assert isinstance(config, ThresholdRule)  # register() refuses a threshold rule without one
        if value >= config.threshold:
            await self._activate(rule.kind, rec, cond_key, now, initial=initial)
        elif value < config.threshold - config.hysteresis:
            await self._deactivate(rule.kind, rec, cond_key, now)

    async def _on_event(self, rec: DeviceRecord, capability: str, event: str, now: datetime) -> None:
        for trig in signals.triggers_for_event(capability, event):
            if trig.safety_only and not self._is_safety(rec):
                continue
            if trig.ends:
                await self._deactivate(trig.kind, rec, None, now)
            else:
                await self._activate(trig.kind, rec, None, now)
        if signals.activity_for_event(capability, event) is not None:
            await self._on_activity(rec.description.room, now)

    async def _on_availability(self, rec: DeviceRecord, available: bool, now: datetime) -> None:
        if not self._is_safety(rec):
            return
        cond_key = f"{rec.id}/availability"
        if available:
            self._offline_since.pop(rec.id, None)
            self._fired.discard(("offline", rec.id))
            await self._deactivate(AlertKind.DEVICE_OFFLINE, rec, cond_key, now)
        else:
            self._offline_since.setdefault(rec.id, now)

    async def _on_door(self, rec: DeviceRecord, is_open: bool, now: datetime, *, initial: bool) -> None:
        cond_key = f"{rec.id}/door"
        if not is_open:
            self._door_open_since.pop(rec.id, None)
            self._fired.discard(("door", rec.id))
            await self._deactivate(AlertKind.DOOR_OPEN, rec, cond_key, now)
            return
        self._door_open_since.setdefault(rec.id, now)
        rule = self.config.rules.night_activity
        if (
            not initial
            and rule.enabled
            and rec.description.room in rule.exit_rooms
            and in_window(local_time(now, self._tz), rule.start, rule.end)
        ):
            await self._activate(AlertKind.NIGHT_ACTIVITY, rec, None, now)

    async def _on_activity(self, room: str | None, now: datetime) -> None:
        self._last_activity = now if self._last_activity is None else max(self._last_activity, now)
        home_key = _scope_key(AlertKind.INACTIVITY, None, None)
        track = self._open.get(home_key)
        if track is not None and not track.conditions:
            # somebody is up and about: the inactivity alert is over (it latches until acknowledged)
            await self._condition_over(track, now)
        rule = self.config.rules.night_activity
        if not rule.enabled or not in_window(local_time(now, self._tz), rule.start, rule.end):
            return
        signals_ = self._night_signals
        signals_.append(now)
        while signals_ and now - signals_[0] > rule.within:
            signals_.popleft()
        if len(signals_) >= rule.min_signals:
            signals_.clear()
            await self._activate_home(AlertKind.NIGHT_ACTIVITY, room, now)

    # ------------------------------------------------------------------ alert lifecycle

    def _rule_allows(self, kind: AlertKind, device: str | None, room: str | None) -> bool:
        rule = self.config.rules.for_kind(kind.value)
        if not rule.enabled:
            return False
        return device is None or rule.applies_to(device, room)

    async def _activate(
        self,
        kind: AlertKind,
        rec: DeviceRecord,
        cond_key: str | None,
        now: datetime,
        *,
        initial: bool = False,
    ) -> None:
        room = rec.description.room
        if not self._rule_allows(kind, rec.id, room):
            return
        key = _scope_key(kind, rec.id, room)
        track = self._open.get(key)
        if track is None:
            await self._raise(key, kind, now, room=room, device=rec.id, cond_key=cond_key)
            return
        if cond_key is not None and cond_key in track.conditions:
            return  # the same condition re-reported: nothing new
        if cond_key is None and rec.id in track.alert.devices and now <= track.alert.last_seen:
            return  # an event already counted (a broker's redelivery after a crash) or an older one
        if initial and rec.id in track.alert.devices and cond_key is not None:
            track.conditions.add(cond_key)  # after a restart: the condition this alert was raised for
            track.restored = False
            return
        await self._repeat(track, now, device=rec.id, cond_key=cond_key)

    async def _activate_home(
        self, kind: AlertKind, room: str | None, now: datetime, quiet: timedelta | None = None
    ) -> None:
        if not self._rule_allows(kind, None, None):
            return
        key = _scope_key(kind, None, None)
        track = self._open.get(key)
        if track is None:
            await self._raise(key, kind, now, room=room, device=None, cond_key=None, quiet=quiet)
        else:
            await self._repeat(track, now, device=None, cond_key=None)

    async def _deactivate(
        self, kind: AlertKind, rec: DeviceRecord, cond_key: str | None, now: datetime
    ) -> None:
        """End a condition: ``cond_key`` None is an end event for everything of this device."""
        key = _scope_key(kind, rec.id, rec.description.room)
        track = self._open.get(key)
        if track is None or rec.id not in track.alert.devices:
            return
        if cond_key is None:
            track.conditions = {c for c in track.conditions if not c.startswith(rec.id + "/")}
        elif cond_key in track.conditions:
            track.conditions.discard(cond_key)
        else:
            return  # this property was never what raised the alert
        if not track.conditions:
            await self._condition_over(track, now)

    async def _condition_over(self, track: _Track, now: datetime) -> None:
        track.restored = True
        info = KIND_INFO[track.alert.kind]
        if not info.latching or track.alert.state is AlertState.ACKNOWLEDGED:
            await self._clear(track, now)
        else:
            await self._persist(track.alert)

    def _texts(self, kind: AlertKind, room: str | None, quiet: timedelta | None) -> tuple[str, str]:
        info = KIND_INFO[kind]
        en, zh = where(room if info.scope is not Scope.HOME or kind is AlertKind.NIGHT_ACTIVITY else None)
        if quiet is not None:
            quiet = timedelta(minutes=int(quiet.total_seconds() // 60))
        q = format_duration(quiet) if quiet is not None else "a long time"
        q_zh = _duration_zh(quiet) if quiet is not None else "长时间"
        return (
            info.summary_en.format(where=en, quiet=q),
            info.summary_zh.format(where=zh, quiet=q_zh),
        )

    async def _raise(
        self,
        key: str,
        kind: AlertKind,
        now: datetime,
        *,
        room: str | None,
        device: str | None,
        cond_key: str | None,
        quiet: timedelta | None = None,
    ) -> None:
        info = KIND_INFO[kind]
        rule = self.config.rules.for_kind(kind.value)
        summary_en, summary_zh = self._texts(kind, room, quiet)
        alert = Alert(
            id=f"{kind.value.replace('_', '-')}-{uuid.uuid4().hex[:16]}",
            kind=kind,
            severity=rule.severity or info.severity,
            urgency=info.urgency,
            home=self.hub.config.home.id,
            room=room,
            devices=[device] if device else [],
            summary=summary_en,
            summary_zh=summary_zh,
            first_seen=now,
            last_seen=now,
            drill=True if self.hub.drill else None,
        )
        track = _Track(alert, conditions={cond_key} if cond_key else set(), last_sent=now)
        self._open[key] = track
        self._alerts[alert.id] = alert
        if self.raised_total is not None:
            self.raised_total.labels(kind.value).inc()
        if self._msg_time is not None and self.hub.clock.real:
            seconds = (datetime.now(UTC) - self._msg_time).total_seconds()
            self.hub.metrics.alert_raise_seconds.labels(kind.value).observe(max(seconds, 0.0))
        log.warning("alert raised: %s %s (%s) %s", alert.kind, alert.id, alert.severity, summary_en)
        self.hub.bus.publish(
            AlertRaisedMessage(
                id=f"{alert.id}.raised",
                source=source_for(alert.home),
                subject=alert.id,
                time=now,
                data=AlertData(alert=alert),
            )
        )
        await self._persist(alert)

    async def _repeat(
        self, track: _Track, now: datetime, *, device: str | None, cond_key: str | None
    ) -> None:
        alert = track.alert
        devices = alert.devices if device is None or device in alert.devices else [*alert.devices, device]
        track.alert = alert.model_copy(
            update={"count": alert.count + 1, "last_seen": now, "devices": devices}
        )
        if cond_key is not None:
            track.conditions.add(cond_key)
        track.restored = False
        interval = self.config.update_interval
        if track.last_sent is None or now - track.last_sent >= interval:
            await self._publish_update(track, now)
        else:
            track.update_pending = True  # sent by the timer loop once the interval is over
            await self._persist(track.alert)

    async def _publish_update(self, track: _Track, now: datetime) -> None:
        track.last_sent = now
        track.update_pending = False
        alert = track.alert
        self._alerts[alert.id] = alert
        self.hub.bus.publish(
            AlertUpdatedMessage(
                id=f"{alert.id}.{uuid.uuid4().hex[:12]}",
                source=source_for(alert.home),
                subject=alert.id,
                time=now,
                data=AlertData(alert=alert),
            )
        )
        await self._persist(alert)

    async def _clear(self, track: _Track, now: datetime) -> None:
        alert = track.alert.model_copy(update={"state": AlertState.CLEARED, "cleared_at": now})
        track.alert = alert
        self._alerts[alert.id] = alert
        for key, t in list(self._open.items()):
            if t is track:
                del self._open[key]
        log.info("alert cleared: %s %s", alert.kind, alert.id)
        if alert.kind is AlertKind.INACTIVITY and self._last_activity is not None:
            # cleared by hand while still quiet: start counting again rather than re-alerting at once
            self._last_activity = max(self._last_activity, now)
        self.hub.bus.publish(
            AlertClearedMessage(
                id=f"{alert.id}.cleared",
                source=source_for(alert.home),
                subject=alert.id,
                time=now,
                data=AlertData(alert=alert),
            )
        )
        await self._persist(alert)
        self._trim()

    def _trim(self) -> None:
        cleared = [a for a in self._alerts.values() if a.state is AlertState.CLEARED]
        if len(cleared) > KEEP_CLEARED:
            cleared.sort(key=lambda a: a.last_seen)
            for a in cleared[: len(cleared) - KEEP_CLEARED]:
                del self._alerts[a.id]

    async def _persist(self, alert: Alert) -> None:
        """Commit the alert with everything queued before it (the consent filter's outbox rows)."""
        self._alerts[alert.id] = alert
        await self.hub.storage.execute(
            "INSERT INTO alerts (id, kind, state, first_seen, last_seen, body) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET state=excluded.state, last_seen=excluded.last_seen, body=excluded.body",
            (
                alert.id,
                alert.kind.value,
                alert.state.value,
                alert.first_seen.isoformat(),
                alert.last_seen.isoformat(),
                orjson.dumps(alert.to_json()).decode(),
            ),
        )

    # ------------------------------------------------------------------ timers

    async def _timer_loop(self) -> None:
        clock = self.hub.clock
        while True:
            try:
                await self._timers_after_the_queue()
            except Exception:
                log.exception("alert engine: timer evaluation failed")
            now = clock.now()
            due = self.next_due(now)
            delay = MAX_TIMER_SLEEP if due is None else (due - now).total_seconds() / clock.speed
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(max(delay, 0.005), MAX_TIMER_SLEEP))

    async def _timers_after_the_queue(self) -> None:
        """Fire the due timers on the state after every message already queued for the engine:
        a door's close waiting in the queue means the door is not open any more. Without this a
        stall of the event loop let a due timer run before messages stamped before its deadline
        (on a scenario's 20 000x clock a 45 ms stall is 15 minutes: night_wander's door, open for
        one minute, was "left open"). A saturated queue delays timers by ``_BACKLOG_WAIT`` at most."""
        give_up = time.monotonic() + _BACKLOG_WAIT
        while True:
            left = give_up - time.monotonic()
            if self._queued() and left > 0:
                self._batch_done.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._batch_done.wait(), left)
                continue
            async with self._lock:
                # what was queued while this waited for the lock goes first too (within the bound)
                if not self._queued() or time.monotonic() >= give_up:
                    await self.evaluate_timers()
                    return

    def _queued(self) -> bool:
        sub = self._sub
        return sub is not None and not sub.closed and sub.depth > 0

    def _deadlines(self, now: datetime) -> list[tuple[datetime, str, str]]:
        """(when, what, which) for every timer that may fire."""
        cfg = self.config
        out: list[tuple[datetime, str, str]] = []
        if cfg.rules.door_open.enabled:
            out += [
                (t + cfg.rules.door_open.max_open, "door", d)
                for d, t in self._door_open_since.items()
                if ("door", d) not in self._fired
            ]
        if cfg.rules.device_offline.enabled:
            out += [
                (t + cfg.rules.device_offline.grace, "offline", d)
                for d, t in self._offline_since.items()
                if ("offline", d) not in self._fired
            ]
        inactivity = cfg.rules.inactivity
        home_key = _scope_key(AlertKind.INACTIVITY, None, None)
        if (
            inactivity.enabled
            and self._last_activity is not None
            and home_key not in self._open
            and self._watches_activity()
        ):
            due = inactivity_due(self._last_activity, now, inactivity.windows, self._tz)
            if due is not None:
                out.append((due, "inactivity", ""))
        for track in self._open.values():
            alert = track.alert
            if track.update_pending and track.last_sent is not None:
                out.append((track.last_sent + cfg.update_interval, "update", alert.id))
            if (
                alert.state is AlertState.ACTIVE
                and cfg.escalation.enabled
                and alert.escalation < cfg.escalation.max_level
            ):
                interval = cfg.escalation.interval(alert.severity)
                if interval is not None:
                    out.append((alert.first_seen + interval * (alert.escalation + 1), "escalate", alert.id))
            if alert.state is AlertState.ACKNOWLEDGED and not track.conditions and alert.acknowledged_at:
                out.append((alert.acknowledged_at + cfg.resolve_after, "resolve", alert.id))
        return out

    def next_due(self, now: datetime) -> datetime | None:
        deadlines = self._deadlines(now)
        return min((d[0] for d in deadlines), default=None)

    def _watches_activity(self) -> bool:
        for rec in self.hub.registry.all():
            for comp in rec.description.components:
                if any(c.id in ACTIVITY_SENSORS for c in comp.capabilities):
                    return True
        return False

    async def evaluate_timers(self) -> None:
        """Fire every timer that is due at the hub clock's now (the loop calls this; tests may too)."""
        now = _utc(self.hub.clock.now())
        for when, what, which in sorted(self._deadlines(now)):
            if when > now:
                continue
            match what:
                case "door" | "offline":
                    self._fired.add((what, which))
                    rec = self.hub.registry.get(which)
                    if rec is None:
                        continue
                    if what == "door":
                        await self._activate(AlertKind.DOOR_OPEN, rec, f"{which}/door", now)
                    else:
                        await self._activate(AlertKind.DEVICE_OFFLINE, rec, f"{which}/availability", now)
                case "inactivity":
                    assert self._last_activity is not None
                    await self._activate_home(
                        AlertKind.INACTIVITY, None, now, quiet=now - self._last_activity
                    )
                case "update" | "escalate" | "resolve":
                    track = self._track_of(which)
                    if track is None:
                        continue
                    if what == "escalate":
                        track.alert = track.alert.model_copy(
                            update={"escalation": track.alert.escalation + 1}
                        )
                        log.warning(
                            "alert %s not acknowledged: escalation level %d", which, track.alert.escalation
                        )
                        await self._publish_update(track, now)
                    elif what == "update":
                        await self._publish_update(track, now)
                    else:
                        await self._clear(track, now)


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


def _duration_zh(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}小时{minutes}分钟"
    if hours:
        return f"{hours}小时"
    return f"{minutes}分钟"
