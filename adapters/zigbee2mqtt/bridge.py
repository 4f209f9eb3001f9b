"""The Zigbee2MQTT bridge model: MQTT messages in, hub reports out (no I/O of its own).

``Bridge.handle(topic, payload, retain)`` takes every message under the base topic:

* ``bridge/devices`` (retained): the device list — new devices are mapped and published,
  renamed ones re-published under the same id (ids are the IEEE address), removed ones
  removed, unchanged ones left alone;
* ``bridge/event``: ``device_joined`` / ``device_interview`` (a successful interview maps
  the device at once) / ``device_leave``;
* ``bridge/state``: the bridge's own availability (all devices unavailable while offline);
* ``bridge/info``: version and settings, kept for diagnostics;
* ``<friendly_name>``: device state (JSON object) -> ``publish_state`` / ``publish_event``;
* ``<friendly_name>/availability``: ``{"state": "online"}`` or legacy ``online``.

``Bridge.handle_many(messages)`` takes every message of one MQTT read: the state reports of
all of them go to the hub as one ``publish_states`` batch (one pass: decode, map, check,
store), flushed before anything else that must keep its place (an event, availability, a
bridge topic), so the hub sees everything in the order it arrived.

Bad payloads are counted through ``ctx.report_invalid`` and never raise. State that arrives
before its device is known (retained messages come in any order) is held, bounded, and
replayed once the device appears.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.sdk.adapter import AdapterContext, ReportedState
from adapters.sdk.convert import ConversionError
from adapters.sdk.mqtt.payload import PayloadError, decode_json, decode_text, json_type
from adapters.zigbee2mqtt import actions
from adapters.zigbee2mqtt.exposes import BridgeDevice, parse_devices
from adapters.zigbee2mqtt.mapping import Binding, DeviceMap, map_device
from dhi.catalog import check_value
from dhi.errors import HubError
from dhi.models import DeviceDescription

#: Sub-topics of a device that are not its state.
_COMMAND_SUFFIXES = ("/set", "/get")
_AVAILABILITY = "/availability"


class _Step:
    """One reportable property of a device's state plan (made once per mapping from its
    ``Binding``): where its value sits in the state object and how it becomes a DHI value,
    as plain attributes read per message."""

    __slots__ = (
        "accepts", "binding", "blank_unknown", "group", "key", "member", "nullable", "path", "to_hub", "transitions",
    )  # fmt: skip

    def __init__(self, b: Binding, nullable: bool) -> None:
        self.binding = b
        self.path = b.path
        #: the top-level key when the value is not nested (most are): one dict lookup
        self.key: str | None = b.path[0] if len(b.path) == 1 else None
        self.group = (b.component, b.capability)
        self.member = b.member
        self.to_hub = b.convert.to_hub
        self.accepts = b.accepts
        self.nullable = nullable
        #: z2m publishes "" for a value it does not know yet
        self.blank_unknown = b.expose.type in ("enum", "numeric", "binary")
        self.transitions = bool(b.transitions)


def _plan(mapped: DeviceMap) -> list[_Step]:
    """The state plan of a device: a step per binding that reports a property, in order."""
    return [_Step(b, b.prop.nullable) for b in mapped.bindings if b.prop is not None]


@dataclass
class _Known:
    """What the bridge knows about one device."""

    entry: BridgeDevice
    mapped: DeviceMap
    published: dict[str, Any] | None = None
    available: bool | None = None
    last: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    plan: list[_Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plan = _plan(self.mapped)


StateListener = Callable[[str, dict[str, Any]], None]


class Bridge:
    def __init__(self, ctx: AdapterContext, *, max_pending: int = 1000) -> None:
        self.ctx = ctx
        self.devices: dict[str, _Known] = {}  # by IEEE address
        self.by_name: dict[str, str] = {}  # friendly name -> IEEE address
        self.online: bool | None = None
        self.info: dict[str, Any] = {}
        self.max_pending = max_pending
        self._pending: OrderedDict[str, tuple[str, bytes, bool]] = OrderedDict()
        # (capability, event) -> {payload field: declared JSON type}
        self._payload_types: dict[tuple[str, str], dict[str, Any]] = {}
        self._listeners: list[StateListener] = []
        # state reports of the batch in progress (``handle_many``); None: published at once
        self._reports: list[ReportedState] | None = None

    # ---------------------------------------------------------------- lookups

    def by_device_id(self, device_id: str) -> _Known | None:
        for known in self.devices.values():
            if known.mapped.device_id == device_id:
                return known
        return None

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """Called with (friendly name, decoded state) for each state message (command echoes)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ---------------------------------------------------------------- entry point

    def handle(self, rest: str, payload: bytes, retain: bool = False) -> None:
        """One message; ``rest`` is the topic below ``<base>/``. Never raises."""
        try:
            self._dispatch(rest, payload, retain)
        except Exception as exc:  # a bug must cost one message, never the adapter
            self.ctx.logger.exception("zigbee2mqtt: failed to handle %s", rest)
            self.ctx.report_invalid(f"internal error handling message: {exc}", source=rest)

    def handle_many(self, messages: list[tuple[str, bytes, bool]]) -> None:
        """``(rest, payload, retain)`` of one read, in order; their state reports reach the hub
        as one batch. Never raises."""
        reports: list[ReportedState] = []
        self._reports = reports
        try:
            for rest, payload, retain in messages:
                self.handle(rest, payload, retain)
        finally:
            self._reports = None
            self._flush_reports(reports)

    def _report(self, device_id: str, component: str, capability: str, props: dict[str, Any]) -> None:
        reports = self._reports
        if reports is None:
            self.ctx.publish_state(device_id, capability, props, component=component)
        else:
            reports.append((device_id, component, capability, props))

    def _flush_reports(self, reports: list[ReportedState]) -> None:
        """Publish the reports held so far (before anything that must come after them)."""
        if reports:
            batch = reports[:]
            reports.clear()
            try:
                self.ctx.publish_states(batch)
            except Exception as exc:  # a bug must cost these reports, never the adapter
                self.ctx.logger.exception("zigbee2mqtt: failed to publish %d state reports", len(batch))
                self.ctx.report_invalid(f"internal error publishing state: {exc}")

    def _in_order(self) -> None:
        """Something other than a state report is about to reach the hub: reports first."""
        if self._reports:
            self._flush_reports(self._reports)

    def _dispatch(self, rest: str, payload: bytes, retain: bool) -> None:
        if rest.startswith("bridge/"):
            self._in_order()
            handler = {
                "bridge/devices": self._on_devices,
                "bridge/event": self._on_event,
                "bridge/state": self._on_bridge_state,
                "bridge/info": self._on_info,
            }.get(rest)
            if handler is not None:
                handler(rest, payload)
            return
        if not payload:
            return  # an empty retained message clears a topic; nothing to report
        if rest.endswith(_AVAILABILITY):
            self._in_order()
            name = rest[: -len(_AVAILABILITY)]
            if name in self.by_name:
                self._on_availability(name, rest, payload)
            else:
                self._hold(rest, payload, retain)
            return
        if rest.endswith(_COMMAND_SUFFIXES) or "/set/" in rest:
            return  # commands to devices (ours or another client's)
        if rest in self.by_name:
            self._on_state(rest, rest, payload, retain)
        else:
            self._hold(rest, payload, retain)

    # ---------------------------------------------------------------- helpers

    def _invalid(self, reason: str, topic: str, payload: Any = None) -> None:
        self.ctx.report_invalid(reason, source=topic, payload=_preview(payload))

    def _json(self, topic: str, payload: bytes) -> Any:
        try:
            return decode_json(payload)
        except PayloadError as exc:
            self._invalid(str(exc), topic, payload)
            return _INVALID

    def _hold(self, rest: str, payload: bytes, retain: bool) -> None:
        """Keep the latest message for a not-yet-known device (bounded, oldest dropped)."""
        self._pending.pop(rest, None)
        self._pending[rest] = (rest, payload, retain)
        while len(self._pending) > self.max_pending:
            self._pending.popitem(last=False)

    def _replay(self, name: str) -> None:
        for key in (name, name + _AVAILABILITY):
            held = self._pending.pop(key, None)
            if held is not None:
                self._dispatch(*held)

    # ---------------------------------------------------------------- bridge topics

    def _on_devices(self, topic: str, payload: bytes) -> None:
        data = self._json(topic, payload)
        if data is _INVALID:
            return
        if not isinstance(data, list):
            self._invalid(f"bridge/devices must be a JSON array, got {json_type(data)}", topic, payload)
            return
        entries, errors = parse_devices(data)
        for err in errors:
            self._invalid(err, topic)
        seen: set[str] = set()
        for entry in entries:
            if entry.is_coordinator:
                continue
            seen.add(entry.ieee_address)
            self._upsert(entry)
        for ieee in [i for i in self.devices if i not in seen]:
            self._remove(ieee)

    def _upsert(self, entry: BridgeDevice) -> None:
        old = self.devices.get(entry.ieee_address)
        renamed = old is not None and old.entry.friendly_name != entry.friendly_name
        if renamed and old is not None and self.by_name.get(old.entry.friendly_name) == entry.ieee_address:
            # a rename: same device id, new topic
            del self.by_name[old.entry.friendly_name]
        self.by_name[entry.friendly_name] = entry.ieee_address
        if old is not None and old.entry == entry:
            return
        mapped = map_device(entry, self.ctx.catalog, self.ctx.adapter)
        known = _Known(entry, mapped)
        if old is not None:
            known.available, known.last, known.published = old.available, old.last, old.published
        self.devices[entry.ieee_address] = known
        for problem in mapped.unmapped:
            self.ctx.logger.info(
                "zigbee2mqtt: %s: %s not mapped: %s", entry.friendly_name, problem.feature, problem.reason
            )
        self._publish_description(known)
        if entry.disabled:
            self._set_available(known, False, "disabled in Zigbee2MQTT")
        self._replay(entry.friendly_name)

    def _publish_description(self, known: _Known) -> None:
        desc: DeviceDescription | None = known.mapped.description
        if desc is None:
            return
        doc = desc.to_json()
        if doc == known.published:
            return
        if self.ctx.publish_device(desc):
            known.published = doc
            if self.online is False:
                self._set_available(known, False, "Zigbee2MQTT bridge offline")

    def _remove(self, ieee: str) -> None:
        known = self.devices.pop(ieee, None)
        if known is None:
            return
        if self.by_name.get(known.entry.friendly_name) == ieee:
            del self.by_name[known.entry.friendly_name]
        if known.published is not None:
            self.ctx.remove_device(known.mapped.device_id)

    def _on_event(self, topic: str, payload: bytes) -> None:
        data = self._json(topic, payload)
        if data is _INVALID:
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self._invalid("bridge/event must be an object with a string 'type'", topic, payload)
            return
        kind, body = data["type"], data.get("data")
        if not isinstance(body, dict):
            self._invalid(f"bridge/event {kind!r} has no 'data' object", topic, payload)
            return
        ieee, name = body.get("ieee_address"), body.get("friendly_name")
        if not isinstance(ieee, str) or not ieee:
            self._invalid(f"bridge/event {kind!r} has no 'ieee_address'", topic, payload)
            return
        if kind == "device_leave":
            self._remove(ieee)
        elif kind == "device_joined" and isinstance(name, str) and name:
            self.ctx.logger.info("zigbee2mqtt: device joined: %s (%s)", name, ieee)
        elif kind == "device_interview":
            status = body.get("status")
            if status == "successful" and isinstance(name, str) and body.get("definition") is not None:
                self._on_interviewed(ieee, name, body, topic)
            elif status == "failed":
                self.ctx.logger.warning("zigbee2mqtt: interview of %s (%s) failed", name, ieee)

    def _on_interviewed(self, ieee: str, name: str, body: dict[str, Any], topic: str) -> None:
        """Map a freshly interviewed device now; the ``bridge/devices`` republish that follows
        brings the full entry and changes nothing if it agrees."""
        if ieee in self.devices and self.devices[ieee].entry.definition is not None:
            return
        try:
            entry = BridgeDevice.model_validate(
                {
                    "ieee_address": ieee,
                    "friendly_name": name,
                    "definition": body.get("definition"),
                    "supported": body.get("supported"),
                    "interview_completed": True,
                }
            )
        except ValueError as exc:
            self._invalid(f"device_interview definition is invalid: {exc}", topic)
            return
        self._upsert(entry)

    def _on_bridge_state(self, topic: str, payload: bytes) -> None:
        state = _online_state(payload)
        if state is None:
            self._invalid('bridge/state must be online/offline (plain or {"state": …})', topic, payload)
            return
        self.online = state
        for known in self.devices.values():
            if known.published is None:
                continue
            if state:
                # back online: devices are as they last said (available unless told otherwise)
                self.ctx.set_available(known.mapped.device_id, known.available is not False, None)
            else:
                self.ctx.set_available(known.mapped.device_id, False, "Zigbee2MQTT bridge offline")

    def _on_info(self, topic: str, payload: bytes) -> None:
        data = self._json(topic, payload)
        if data is _INVALID:
            return
        if not isinstance(data, dict):
            self._invalid(f"bridge/info must be a JSON object, got {json_type(data)}", topic, payload)
            return
        self.info = {k: data[k] for k in ("version", "commit", "coordinator", "permit_join") if k in data}

    # ---------------------------------------------------------------- device topics

    def _on_availability(self, name: str, topic: str, payload: bytes) -> None:
        state = _online_state(payload)
        if state is None:
            self._invalid('availability must be online/offline (plain or {"state": …})', topic, payload)
            return
        known = self.devices.get(self.by_name[name])
        if known is None:
            return
        known.available = state
        if self.online is False:
            return  # the bridge is down: its devices stay unavailable until it is back
        self._set_available(known, state, None if state else "Zigbee2MQTT reports the device offline")

    def _set_available(self, known: _Known, state: bool, reason: str | None) -> None:
        if known.published is not None:
            self.ctx.set_available(known.mapped.device_id, state, reason)

    def _on_state(self, name: str, topic: str, payload: bytes, retain: bool) -> None:
        data = self._json(topic, payload)
        if data is _INVALID:
            return
        if not isinstance(data, dict):
            self._invalid(f"device state must be a JSON object, got {json_type(data)}", topic, payload)
            return
        known = self.devices.get(self.by_name[name])
        if known is None or known.published is None:
            return
        for listener in list(self._listeners):
            listener(name, data)
        self._publish_states(known, topic, data)
        if not retain:
            self._publish_events(known, data)

    def _publish_states(self, known: _Known, topic: str, data: dict[str, Any]) -> None:
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        changes: list[tuple[Binding, Any]] = []  # values whose change may raise an event
        for step in known.plan:
            key = step.key
            raw = data.get(key, _INVALID) if key is not None else _dig(data, step.path)
            if raw is _INVALID:
                continue
            if raw is None or (step.blank_unknown and raw == ""):
                if raw is None and step.nullable:
                    grouped.setdefault(step.group, {})[step.member] = None
                continue  # z2m publishes null/"" for values it does not know (yet)
            b = step.binding
            try:
                value = step.to_hub(raw)
                if not step.accepts(value):
                    # the hub would refuse it: say here, precisely, which vendor value was wrong
                    assert b.prop is not None  # a step is made only for a binding with one
                    check_value(b.prop, value, b.member, b.constraint)
            except (ConversionError, HubError) as exc:
                path = step.path
                self._invalid(f"{'.'.join(path)}: {exc}", topic, {path[0]: data.get(path[0])})
                continue
            group = grouped.get(step.group)
            if group is None:
                group = grouped[step.group] = {}
            group[step.member] = value
            if step.transitions:
                changes.append((b, value))
        device_id = known.mapped.device_id
        for (component, capability), props in grouped.items():
            self._report(device_id, component, capability, props)
        for b, value in changes:
            self._transition(known, b, value)

    def _transition(self, known: _Known, b: Binding, value: Any) -> None:
        key = (b.component, b.capability, b.member)
        before = known.last.get(key, _INVALID)
        known.last[key] = value
        if before == value:
            return
        for row in b.transitions:
            event = row.event_for(before if before is not _INVALID else None, value)
            if event is not None and self._declares_event(known, b.component, b.capability, event[0]):
                self._in_order()
                self.ctx.publish_event(
                    known.mapped.device_id, b.capability, event[0], event[1], component=b.component
                )

    @staticmethod
    def _declares_event(known: _Known, component: str, capability: str, event: str) -> bool:
        desc = known.mapped.description
        comp = desc.component(component) if desc is not None else None
        inst = comp.capability(capability) if comp is not None else None
        return inst is not None and (inst.events is None or event in inst.events)

    def _publish_events(self, known: _Known, data: dict[str, Any]) -> None:
        dev = known.mapped
        for a in dev.actions:
            raw = _dig(data, a.path)
            if not isinstance(raw, str) or not raw.strip():
                continue
            fields = {}
            for f in dev.fields:
                if f.component == a.component:
                    v = _dig(data, f.path)
                    if v is not _INVALID and v is not None:
                        fields[(f.capability, f.field)] = v
            own = a.vocabulary.device_events.get(raw)
            if own is not None and self._declares_event(known, a.component, own.capability, own.event):
                self._in_order()
                own_payload = dict(own.payload) | self._companions(own.capability, own.event, fields)
                self.ctx.publish_event(
                    dev.device_id, own.capability, own.event, own_payload, component=a.component
                )
                continue
            parsed = actions.parse(raw)
            if parsed.gesture is not None and a.button is not None:
                payload: dict[str, Any] = {}
                if parsed.button:
                    payload["button"] = parsed.button
                if parsed.gesture.count is not None:
                    payload["count"] = parsed.gesture.count
                payload |= self._companions(a.button, parsed.gesture.event, fields)
                if self._declares_event(known, a.component, a.button, parsed.gesture.event):
                    self._in_order()
                    self.ctx.publish_event(
                        dev.device_id, a.button, parsed.gesture.event, payload, component=a.component
                    )
            elif parsed.command is not None and a.remote is not None:
                payload = {"command": parsed.command} | self._companions(a.remote, "command_sent", fields)
                if self._declares_event(known, a.component, a.remote, "command_sent"):
                    self._in_order()
                    self.ctx.publish_event(
                        dev.device_id, a.remote, "command_sent", payload, component=a.component
                    )

    def _companions(self, capability: str, event: str, fields: dict[tuple[str, str], Any]) -> dict[str, Any]:
        """The companion values (``action_code``, ``action_group`` …) of ``capability`` that
        ``event``'s payload declares, as the declared type where that loses nothing (a
        keypad code z2m sends as a number is text in DHI); undeclared ones are left out."""
        declared = self._payload_types.get((capability, event))
        if declared is None:
            definition = self.ctx.catalog.get(capability)
            ev = definition.event(event) if definition is not None else None
            props = ev.payload.get("properties", {}) if ev is not None else {}
            declared = {
                name: schema.get("type") for name, schema in props.items() if isinstance(schema, dict)
            }
            self._payload_types[(capability, event)] = declared
        out: dict[str, Any] = {}
        for (cap, name), value in fields.items():
            if cap == capability and name in declared:
                out[name] = _as_json_type(value, declared[name])
        return out


# ---------------------------------------------------------------- payload helpers


def _as_json_type(value: Any, declared: Any) -> Any:
    """``value`` as the JSON Schema ``type`` declared for it, when the conversion is exact;
    otherwise unchanged (the hub's payload check then says precisely what is wrong)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if declared == "string" and number:
        return str(value)
    if declared == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if declared in ("integer", "number") and isinstance(value, str):
        try:
            return int(value) if declared == "integer" else float(value)
        except ValueError:
            return value
    return value


_INVALID: Any = object()


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested objects, ``_INVALID`` if there is none."""
    cur = data
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return _INVALID
        cur = cur[key]
    return cur


def _online_state(payload: bytes) -> bool | None:
    """``{"state": "online"}`` (Zigbee2MQTT >= 1.22) or the legacy plain ``online``."""
    try:
        text = decode_text(payload).strip()
    except PayloadError:
        return None
    value: Any = text
    if text.startswith("{"):
        try:
            obj = decode_json(payload)
        except PayloadError:
            return None
        value = obj.get("state") if isinstance(obj, dict) else None
    if value == "online":
        return True
    if value == "offline":
        return False
    return None


def _preview(payload: Any, limit: int = 512) -> Any:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload[:limit]).decode("utf-8", "replace")
    return payload


async def wait_for(bridge: Bridge, name: str, expected: dict[str, Any], timeout: float) -> bool:
    """Wait until a state message of ``name`` carries every key of ``expected`` (the echo
    Zigbee2MQTT publishes after a ``/set``)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bool] = loop.create_future()

    def listener(friendly: str, data: dict[str, Any]) -> None:
        if friendly == name and all(k in data for k in expected) and not done.done():
            done.set_result(True)

    remove = bridge.add_state_listener(listener)
    try:
        return await asyncio.wait_for(done, timeout)
    except TimeoutError:
        return False
    finally:
        remove()
