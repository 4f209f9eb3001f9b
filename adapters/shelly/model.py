"""A Shelly Gen2+ device as DHI: description, states and events from RPC data (pure functions).

Used by the live adapter (GetDeviceInfo/GetConfig/GetStatus replies, NotifyStatus frames)
and by ``map_offline`` (device dumps) alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.sdk.convert import ConversionError
from adapters.sdk.mqtt import PayloadError
from adapters.sdk.mqtt.describe import DescriptionBuilder, Features, flatten
from adapters.shelly.mapping import (
    BUTTON_EVENTS,
    EVENTS,
    FIELDS,
    IGNORED,
    INFRASTRUCTURE,
    KINDS,
    FieldRow,
    KindRow,
    commands_of,
)
from dhi.models import DeviceDescription
from dhi.models.common import DEVICE_ID

_KEY = re.compile(r"^(?P<kind>[a-z][a-z0-9_]*)(?::(?P<id>\d{1,5}))?$")
_ROWS: dict[tuple[str, str], FieldRow] = {(r.kind, r.path): r for r in FIELDS}
_KINDS: dict[str, KindRow] = {k.kind: k for k in KINDS}


@dataclass(frozen=True)
class Part:
    """Where a DHI component comes from."""

    kind: str
    index: int


@dataclass
class ShellyDevice:
    native: str
    description: DeviceDescription
    parts: dict[str, Part]  # DHI component -> Shelly component
    button_inputs: frozenset[int]
    features: Features
    info: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    status_keys: frozenset[str] = frozenset()
    #: (status key, field path) -> the component the no-collision rule placed it in
    placed: dict[tuple[str, str], str] = field(default_factory=dict)


def split_key(key: str) -> tuple[str, int] | None:
    m = _KEY.match(key)
    if m is None:
        return None
    return m["kind"], int(m["id"]) if m["id"] is not None else 0


def _component(kind_row: KindRow, index: int, sub: str | None) -> str:
    base = kind_row.component or f"{kind_row.status_of or kind_row.kind}_{index}"
    return f"{base}_{sub}" if sub else base


def native_id(info: Mapping[str, Any], instance: str) -> str:
    dev = info.get("id")
    if not isinstance(dev, str) or not re.match(DEVICE_ID, f"{instance}:{dev}") or len(dev) > 150:
        raise PayloadError(f"device info: id must be the Shelly device id string, got {dev!r}")
    return dev


def describe(
    info: Mapping[str, Any], config: Mapping[str, Any] | None, status: Mapping[str, Any], instance: str
) -> ShellyDevice:
    """Raises ``PayloadError`` when the data is not a Shelly Gen2+ device."""
    gen = info.get("gen")
    if not isinstance(gen, int) or isinstance(gen, bool) or gen < 2:
        raise PayloadError(f"device info: gen must be 2 or later (Gen2+ RPC device), got {gen!r}")
    native = native_id(info, instance)
    config = config or {}
    builder = DescriptionBuilder()
    features = Features()
    parts: dict[str, Part] = {}
    buttons: set[int] = set()
    placed: dict[tuple[str, str], str] = {}
    for key, value in status.items():
        parsed = split_key(key)
        kind = parsed[0] if parsed else key
        if kind in INFRASTRUCTURE:
            continue
        kind_row = _KINDS.get(kind)
        if parsed is None or kind_row is None:
            features.drop(key, "Shelly component type not mapped")
            continue
        index = parsed[1]
        if not isinstance(value, Mapping):
            features.drop(key, "status is not an object")
            continue
        comp_cfg = config.get(key) if isinstance(config.get(key), Mapping) else {}
        label = comp_cfg.get("name") if isinstance(comp_cfg, Mapping) else None
        if kind == "input" and isinstance(comp_cfg, Mapping) and comp_cfg.get("type") == "button":
            # a push button has no lasting state: it reports NotifyEvent pushes
            comp = features.bind(key, _component(kind_row, index, None), "dhi.button")
            builder.component(comp, label if isinstance(label, str) else None)
            builder.add(comp, "dhi.button", commands=[], events=BUTTON_EVENTS)
            parts[comp] = Part(kind, index)
            buttons.add(index)
            continue
        for path, _ in flatten(value).items():
            row = _ROWS.get((kind, path))
            if row is None:
                if kind_row.strict and path not in IGNORED:
                    features.drop(f"{key}.{path}", "no mapping for this Shelly status field")
                continue
            comp = features.bind(
                f"{key}.{path}", _component(kind_row, index, row.sub), row.capability, row.property
            )
            placed[(key, path)] = comp
            builder.component(comp, label if isinstance(label, str) and not row.sub else None)
            parts.setdefault(comp, Part(kind_row.status_of or kind, index))
            if row.vendor is not None:
                builder.add_vendor(comp, row.capability, row.vendor)
            else:
                builder.add(comp, row.capability, row.property, commands=commands_of(kind, row.capability))
    components = builder.build()
    sys_cfg = config.get("sys") if isinstance(config.get("sys"), Mapping) else {}
    dev_cfg = sys_cfg.get("device") if isinstance(sys_cfg, Mapping) else None
    name = (dev_cfg or {}).get("name") if isinstance(dev_cfg, Mapping) else None
    name = name or info.get("name") or info.get("app") or native
    description = None
    if components:
        description = DeviceDescription(
            id=f"{instance}:{native}",
            name=str(name)[:200],
            adapter=instance,
            manufacturer="Shelly",
            model=_text(info.get("model")),
            firmware=_text(info.get("ver")),
            serial=_text(info.get("mac")),
            components=components,
        )
    if description is None:
        raise PayloadError(f"{native}: no component of this device maps to DHI")
    return ShellyDevice(
        native,
        description,
        parts,
        frozenset(buttons),
        features,
        dict(info),
        dict(config),
        frozenset(status) - {"ts"},
        placed,
    )


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


@dataclass
class States:
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def states(device: ShellyDevice, status: Mapping[str, Any]) -> States:
    """DHI state reports from a (full or partial) status; bad values become errors."""
    out = States()
    for key, value in status.items():
        if key == "ts":
            continue
        parsed = split_key(key)
        kind_row = _KINDS.get(parsed[0]) if parsed else None
        if parsed is None or kind_row is None:
            continue  # infrastructure or unmapped: nothing to report
        kind, index = parsed
        if not isinstance(value, Mapping):
            out.errors.append(f"{key}: status must be an object, got {type(value).__name__}")
            continue
        if kind == "input" and index in device.button_inputs:
            continue
        for path, raw in flatten(value).items():
            row = _ROWS.get((kind, path))
            if row is None:
                continue
            comp = device.placed.get((key, path)) or _component(kind_row, index, row.sub)
            if comp not in device.parts:
                continue  # appeared after the description was built
            try:
                converted = row.convert(raw) if raw is not None else None
            except ConversionError as exc:
                out.errors.append(f"{key}.{path}: {exc}")
                continue
            out.reports.setdefault((comp, row.capability), {})[row.property] = converted
    return out


def event(device: ShellyDevice, item: Any) -> tuple[str, str, str, dict[str, Any]] | None:
    """A NotifyEvent entry -> (component, capability, event, payload); None if unmapped.
    Raises ``PayloadError`` when the entry itself is malformed."""
    if not isinstance(item, Mapping):
        raise PayloadError(f"events[] entry must be an object, got {type(item).__name__}")
    key, name = item.get("component"), item.get("event")
    if not isinstance(key, str) or not isinstance(name, str):
        raise PayloadError("events[] entry needs string 'component' and 'event'")
    parsed = split_key(key)
    if parsed is None:
        raise PayloadError(f"events[].component {key!r} is not '<type>:<id>'")
    kind, index = parsed
    row = next((r for r in EVENTS if r.kind == kind and r.event == name), None)
    if row is None:
        return None
    comp = device.description.component(f"{kind}_{index}")
    if comp is None or comp.capability(row.capability) is None:
        return None  # e.g. a push on an input configured as a switch
    return comp.id, row.capability, row.dhi_event, dict(row.payload or {})
