"""A Tasmota device as DHI (pure functions over the discovery config and tele/stat payloads)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.mqtt import PayloadError, is_safe_segment
from adapters.mqtt.describe import DescriptionBuilder, Features
from adapters.sdk.convert import ConversionError
from adapters.tasmota.mapping import (
    BUTTON_ACTIONS,
    LIGHT_FEATURES,
    LIGHTS,
    ON_OFF,
    RELAY_KINDS,
    SENSOR_FIELDS,
    SENSOR_IGNORED,
    SENSOR_META,
    SHUTTER_DIRECTION,
    STATE_FIELDS,
    SWITCH_VENDOR,
    SensorRow,
    commands_of,
)
from hub.models import DeviceDescription

_SENSORS: dict[str, SensorRow] = {r.key: r for r in SENSOR_FIELDS}
_POWER_KEY = re.compile(r"^POWER(\d*)$")


class DiscoveryConfig(BaseModel):
    """``tasmota/discovery/<MAC>/config`` (discovery version 1). Unknown keys are allowed:
    firmware versions add fields."""

    model_config = ConfigDict(extra="allow")

    mac: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{12}$")]
    t: Annotated[str, Field(min_length=1, max_length=100)]
    ft: Annotated[str, Field(min_length=1)] = "%prefix%/%topic%/"
    tp: Annotated[list[str], Field(min_length=3, max_length=3)] = ["cmnd", "stat", "tele"]
    dn: str | None = None
    fn: list[str | None] = Field(default_factory=list)
    hn: str | None = None
    md: str | None = None
    sw: str | None = None
    ofln: str = "Offline"
    onln: str = "Online"
    state: list[str] = Field(default_factory=lambda: ["OFF", "ON", "TOGGLE", "HOLD"])
    rl: list[int] = Field(default_factory=list)
    swc: list[int] = Field(default_factory=list)
    swn: list[str | None] = Field(default_factory=list)
    btn: list[int] = Field(default_factory=list)
    so: dict[str, int] = Field(default_factory=dict)
    lk: int = 0
    lt_st: Annotated[int, Field(ge=0, le=5)] = 0
    sho: list[int] = Field(default_factory=list)
    ver: Annotated[int, Field(ge=1)] = 1

    def topic(self, prefix_index: int, suffix: str) -> str:
        """Full topic, e.g. ``topic(2, "STATE")`` -> ``tele/<t>/STATE`` (``ft`` template)."""
        base = (
            self.ft.replace("%prefix%", self.tp[prefix_index])
            .replace("%topic%", self.t)
            .replace("%hostname%", self.hn or "")
            .replace("%id%", self.mac[-6:].upper())
        )
        return f"{base.rstrip('/')}/{suffix}"


def parse_config(data: Any) -> DiscoveryConfig:
    if not isinstance(data, Mapping):
        raise PayloadError(f"discovery config must be a JSON object, got {type(data).__name__}")
    try:
        cfg = DiscoveryConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(document)"
        raise PayloadError(f"discovery config: {loc}: {err['msg']}") from None
    if not is_safe_segment(cfg.t) or any(not is_safe_segment(p) for p in cfg.tp):
        raise PayloadError("discovery config: t/tp must be single topic levels (no '/', '+', '#')")
    return cfg


@dataclass(frozen=True)
class Part:
    kind: str  # relay | light | shutter | button | switch
    number: int  # 1-based Tasmota index (POWER<n>, Shutter<n>, Button<n>, Switch<n>)


@dataclass
class TasmotaDevice:
    native: str
    config: DiscoveryConfig
    description: DeviceDescription
    parts: dict[str, Part]  # DHI component -> Tasmota part
    power: dict[int, str]  # POWER index -> DHI component
    sensor_components: dict[str, str]  # SENSOR object name -> DHI component
    sensor_fields: dict[tuple[str, str], str]  # (SENSOR object, quantity) -> component it was placed in
    features: Features = field(default_factory=Features)

    @property
    def light_component(self) -> str | None:
        return next((c for c, p in self.parts.items() if p.kind == "light"), None)


def component_name(sensor: str) -> str:
    """``DS18B20-1`` -> ``ds18b20_1`` (a valid DHI component id)."""
    out = re.sub(r"[^a-z0-9_]+", "_", sensor.lower()).strip("_")
    return out if out[:1].isalpha() else f"s_{out}"


def describe(cfg: DiscoveryConfig, sensors: Mapping[str, Any] | None, instance: str) -> TasmotaDevice:
    native = cfg.mac.lower()
    builder = DescriptionBuilder()
    features = Features()
    parts: dict[str, Part] = {}
    power: dict[int, str] = {}
    relays = [(i + 1, RELAY_KINDS.get(kind)) for i, kind in enumerate(cfg.rl) if kind]
    light_row = next((r for r in LIGHTS if r.subtype == cfg.lt_st), None)
    shutter_no = 0
    for number, kind in relays:
        label = cfg.fn[number - 1] if number - 1 < len(cfg.fn) else None
        if kind is None:
            features.drop(f"rl[{number - 1}]", f"relay type {cfg.rl[number - 1]} not mapped")
            continue
        if kind == "shutter":
            # two relays drive one shutter; Tasmota numbers shutters on their own
            if number % 2 == 0:
                continue
            shutter_no += 1
            comp = features.bind(
                f"rl[{number - 1}]", f"shutter_{shutter_no}", "dhi.window_covering", "position", "moving"
            )
            parts[comp] = Part("shutter", shutter_no)
            builder.component(comp, label)
            for prop in ("position", "moving"):
                builder.add(
                    comp, "dhi.window_covering", prop, commands=commands_of("shutter", "dhi.window_covering")
                )
            continue
        if kind == "light" and light_row is not None and "light" not in (p.kind for p in parts.values()):
            comp = "light"
            parts[comp] = Part("light", number)
            power[number] = comp
            builder.component(comp, label)
            for cap in light_row.capabilities:
                feature, *props = LIGHT_FEATURES[cap]
                features.bind(feature.format(n=number), comp, cap, *props)
                builder.add(comp, cap, props[0], commands=commands_of("light", cap))
                for prop in props[1:]:
                    builder.add(comp, cap, prop)
            continue
        comp = features.bind(f"POWER{number}", f"relay_{number}", "dhi.on_off", "on")
        parts[comp] = Part("relay", number)
        power[number] = comp
        builder.component(comp, label)
        builder.add(comp, "dhi.on_off", "on", commands=commands_of("relay", "dhi.on_off"))
    if cfg.so.get("73") == 1:  # decoupled buttons report SINGLE/DOUBLE/… actions
        for i, present in enumerate(cfg.btn):
            if present:
                comp = features.bind(f"Button{i + 1}", f"button_{i + 1}", "dhi.button")
                parts[comp] = Part("button", i + 1)
                builder.add(
                    comp, "dhi.button", commands=[], events=sorted({e for e, _ in BUTTON_ACTIONS.values()})
                )
    for i, mode in enumerate(cfg.swc):
        if mode >= 0:
            comp = features.bind(f"Switch{i + 1}", f"switch_{i + 1}", "x.tasmota.switch", "state")
            parts[comp] = Part("switch", i + 1)
            builder.component(comp, cfg.swn[i] if i < len(cfg.swn) else None)
            builder.add_vendor(comp, "x.tasmota.switch", SWITCH_VENDOR)
    sensor_components: dict[str, str] = {}
    sensor_fields: dict[tuple[str, str], str] = {}
    for name, quantities in (sensors or {}).items():
        if name in SENSOR_META:
            continue  # units, time, shutter positions (covered by the shutter parts)
        if name.startswith("Switch") and isinstance(quantities, str):
            continue  # switch inputs are parts from 'swc'
        if not isinstance(quantities, Mapping):
            features.drop(name, "sensor value is not an object")
            continue
        comp = component_name(name)
        sensor_components[name] = comp
        for key in quantities:
            row = _SENSORS.get(key)
            if row is None:
                if key not in SENSOR_IGNORED:
                    features.drop(f"{name}.{key}", "no mapping for this Tasmota sensor quantity")
                continue
            placed = features.bind(f"{name}.{key}", comp, row.capability, row.property)
            sensor_fields[(name, key)] = placed
            if row.vendor is not None:
                builder.add_vendor(placed, row.capability, row.vendor)
            else:
                builder.add(placed, row.capability, row.property, commands=[])
    # device-level parts every Tasmota has (tele/STATE): not counted as appliance features
    builder.add("main", "dhi.connectivity", "rssi")
    builder.add("main", "dhi.diagnostics", "uptime")
    description = DeviceDescription(
        id=f"{instance}:{native}",
        name=(cfg.dn or (cfg.fn[0] if cfg.fn and cfg.fn[0] else None) or cfg.t)[:200],
        adapter=instance,
        manufacturer="Tasmota",
        model=cfg.md,
        firmware=cfg.sw,
        serial=cfg.mac.upper(),
        components=builder.build(),
    )
    return TasmotaDevice(native, cfg, description, parts, power, sensor_components, sensor_fields, features)


# ---------------------------------------------------------------- payload decoding


@dataclass
class Decoded:
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def put(self, comp: str, cap: str, prop: str, value: Any) -> None:
        self.reports.setdefault((comp, cap), {})[prop] = value


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = data
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def decode_state(device: TasmotaDevice, data: Mapping[str, Any], out: Decoded | None = None) -> Decoded:
    """``tele/<t>/STATE`` or ``stat/<t>/RESULT``: power, light, wifi, uptime, shutters, buttons."""
    out = out or Decoded()
    for key, value in data.items():
        m = _POWER_KEY.match(key)
        if m:
            number = int(m[1]) if m[1] else 1
            comp = device.power.get(number)
            if comp is None:
                continue
            try:
                out.put(comp, "dhi.on_off", "on", ON_OFF(value))
            except ConversionError as exc:
                out.errors.append(f"{key}: {exc}")
    light = device.light_component
    for row in STATE_FIELDS:
        value = _get(data, row.key)
        if value is None:
            continue
        comp = light if row.target == "light" else "main"
        if comp is None or not _declares(device, comp, row.capability):
            continue
        try:
            out.put(comp, row.capability, row.property, row.convert(value))
        except ConversionError as exc:
            out.errors.append(f"{row.key}: {exc}")
    _decode_shutters(device, data, out)
    _decode_buttons(device, data, out)
    return out


def decode_sensor(device: TasmotaDevice, data: Mapping[str, Any]) -> Decoded:
    """``tele/<t>/SENSOR``: every known quantity of every sensor object."""
    out = Decoded()
    units = {k: data.get(k) for k in ("TempUnit", "PressureUnit")}
    for name, quantities in data.items():
        if name in SENSOR_META:
            continue
        comp = device.sensor_components.get(name)
        if comp is None:
            if name.startswith("Switch") and isinstance(quantities, str):
                _decode_switch(device, name, quantities, out)
            continue
        if not isinstance(quantities, Mapping):
            out.errors.append(f"{name}: sensor value must be an object, got {type(quantities).__name__}")
            continue
        for key, value in quantities.items():
            row = _SENSORS.get(key)
            placed = device.sensor_fields.get((name, key), comp)
            if row is None or not _declares(device, placed, row.capability):
                continue
            try:
                converted = row.convert(value)
                for unit, convert in row.units:
                    if row.unit_key is not None and units.get(row.unit_key) == unit:
                        converted = convert(converted)
            except ConversionError as exc:
                out.errors.append(f"{name}.{key}: {exc}")
                continue
            out.put(placed, row.capability, row.property, converted)
    _decode_shutters(device, data, out)
    return out


def _declares(device: TasmotaDevice, comp: str, capability: str) -> bool:
    c = device.description.component(comp)
    return c is not None and c.capability(capability) is not None


def _decode_shutters(device: TasmotaDevice, data: Mapping[str, Any], out: Decoded) -> None:
    for comp, part in device.parts.items():
        if part.kind != "shutter":
            continue
        obj = data.get(f"Shutter{part.number}")
        if not isinstance(obj, Mapping):
            continue
        pos, direction = obj.get("Position"), obj.get("Direction")
        if isinstance(pos, int | float) and not isinstance(pos, bool):
            out.put(comp, "dhi.window_covering", "position", pos)
        if direction in SHUTTER_DIRECTION:
            out.put(comp, "dhi.window_covering", "moving", SHUTTER_DIRECTION[direction])
        elif direction is not None:
            out.errors.append(f"Shutter{part.number}.Direction: expected -1, 0 or 1, got {direction!r}")


def _decode_buttons(device: TasmotaDevice, data: Mapping[str, Any], out: Decoded) -> None:
    for comp, part in device.parts.items():
        if part.kind != "button":
            continue
        obj = data.get(f"Button{part.number}")
        if not isinstance(obj, Mapping):
            continue
        action = obj.get("Action")
        mapped = BUTTON_ACTIONS.get(action) if isinstance(action, str) else None
        if mapped is None:
            if action != "CLEAR":  # CLEAR ends a HOLD: no DHI event
                out.errors.append(f"Button{part.number}.Action: unknown action {action!r}")
            continue
        out.events.append((comp, "dhi.button", mapped[0], dict(mapped[1])))


def _decode_switch(device: TasmotaDevice, name: str, value: str, out: Decoded) -> None:
    comp = f"switch_{name.removeprefix('Switch')}"
    if comp not in device.parts:
        return
    try:
        out.put(comp, "x.tasmota.switch", "state", ON_OFF(value))
    except ConversionError as exc:
        out.errors.append(f"{name}: {exc}")
