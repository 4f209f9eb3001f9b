"""A Tasmota device as DHI (pure functions over the discovery config and tele/stat payloads)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.sdk.convert import ConversionError
from adapters.sdk.mqtt import PayloadError, is_safe_segment
from adapters.sdk.mqtt.describe import DescriptionBuilder, Features
from adapters.tasmota.mapping import (
    BUTTON_ACTIONS,
    FAN_SPEEDS,
    LIGHT_FEATURES,
    LIGHTS,
    MIREDS,
    MIREDS_REDUCED,
    ON_OFF,
    RELAY_KINDS,
    SENSOR_FIELDS,
    SENSOR_IGNORED,
    SENSOR_META,
    SHUTTER_DIRECTION,
    STATE_FIELDS,
    SWITCH_MODES,
    SWITCH_VENDOR,
    Part,
    SensorRow,
    commands_of,
)
from dhi.models import DeviceDescription, PropertyDef
from dhi.models.device import PropertyConstraint

_SENSORS: dict[str, SensorRow] = {r.key: r for r in SENSOR_FIELDS}
_POWER_KEY = re.compile(r"^POWER(\d*)$")


class DiscoveryConfig(BaseModel):
    """``tasmota/discovery/<MAC>/config`` (discovery version 1). Unknown keys are allowed:
    firmware versions add fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

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
    lk: int = 1  # RGB and white channels linked (SetOption37 < 128, Tasmota's default)
    lt_st: Annotated[int, Field(ge=0, le=5)] = 0
    sho: list[int] = Field(default_factory=list)
    if_: int = Field(0, alias="if")  # an iFan (fan speeds 0..3 plus a light)
    ty: int = 0  # a Tuya MCU device (its dimmer is set with Dimmer3)
    #: battery powered (Tasmota 13: BatteryPercentage in STATE); a list in some versions
    bat: int | list[int] = 0
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


@dataclass
class TasmotaDevice:
    native: str
    config: DiscoveryConfig
    description: DeviceDescription
    parts: dict[str, Part]  # DHI component -> Tasmota part
    power: dict[int, str]  # POWER index -> DHI component
    #: SENSOR feature (``ENERGY.Voltage[1]``, ``TX23.Speed.Avg``) -> component it was bound to
    sensor_fields: dict[str, str]
    #: SENSOR key of a switch input (``Switch1`` or its ``swn`` name) -> component
    switches: dict[str, str] = field(default_factory=dict)
    features: Features = field(default_factory=Features)


def component_name(sensor: str) -> str:
    """``DS18B20-1`` -> ``ds18b20_1`` (a valid DHI component id)."""
    out = re.sub(r"[^a-z0-9_]+", "_", sensor.lower()).strip("_")
    return out if out[:1].isalpha() else f"s_{out}"


def _light_parts(cfg: DiscoveryConfig, lights: list[int]) -> list[tuple[Part, tuple[str, ...]]]:
    """The light parts of the relays with ``rl`` = 2, as Home Assistant splits them:
    SetOption68 makes one single-channel dimmer per PWM channel (``Channel<n>``); an unlinked
    RGBW/RGBCW light (``lk`` 0) is an RGB light (``Dimmer1``) plus a white or CT light
    (``Dimmer2``); otherwise the first is one light of subtype ``lt_st`` (a Tuya MCU dimmer
    is set with ``Dimmer3``); further ones are plain on/off lights."""
    row = next((r for r in LIGHTS if r.subtype == cfg.lt_st), None)
    mireds = MIREDS_REDUCED if cfg.so.get("82") == 1 else MIREDS
    dimmer = ("dhi.on_off", "dhi.level")
    if not lights:
        return []
    if cfg.so.get("68") == 1:
        return [(Part("light", n, f"Channel{n}", f"Channel{n}"), dimmer) for n in lights]
    if row is None:
        return [(Part("light", n), ("dhi.on_off",)) for n in lights]
    if cfg.lk == 0 and cfg.lt_st >= 4 and len(lights) >= 2:
        white = ("dhi.on_off", "dhi.level", "dhi.color_temperature") if cfg.lt_st == 5 else dimmer
        return [
            (
                Part("light", lights[0], "Dimmer1", "Dimmer1", mireds),
                ("dhi.on_off", "dhi.level", "dhi.color"),
            ),
            (Part("light", lights[1], "Dimmer2", "Dimmer2", mireds), white),
            *((Part("light", n), ("dhi.on_off",)) for n in lights[2:]),
        ]
    level = "Dimmer3" if cfg.ty == 1 else "Dimmer"
    first = (Part("light", lights[0], "Dimmer", level, mireds), row.capabilities)
    return [first, *((Part("light", n), ("dhi.on_off",)) for n in lights[1:])]


def describe(cfg: DiscoveryConfig, sensors: Mapping[str, Any] | None, instance: str) -> TasmotaDevice:
    native = cfg.mac.lower()
    builder = DescriptionBuilder()
    features = Features()
    parts: dict[str, Part] = {}
    power: dict[int, str] = {}
    kinds = {i + 1: RELAY_KINDS.get(kind) for i, kind in enumerate(cfg.rl) if kind}
    if cfg.if_ == 1 and kinds.get(1) == "light":
        kinds[1] = "ifan_light"  # iFan: relay 1 is the fan's plain on/off light

    def label(number: int) -> str | None:
        return cfg.fn[number - 1] if number - 1 < len(cfg.fn) else None

    for number, kind in kinds.items():
        if kind is None:
            features.drop(f"rl[{number - 1}]", f"relay type {cfg.rl[number - 1]} not mapped")
    shutters = [n for n, k in kinds.items() if k == "shutter" and n % 2 == 1]  # two relays per shutter
    for shutter_no, number in enumerate(shutters, start=1):
        options = cfg.sho[shutter_no - 1] if shutter_no - 1 < len(cfg.sho) else 0
        comp = features.bind(
            f"Shutter{shutter_no}", f"shutter_{shutter_no}", "dhi.window_covering", "position", "moving"
        )
        parts[comp] = Part("shutter", shutter_no, inverted=bool(options & 1))
        builder.component(comp, label(number))
        for prop in ("position", "moving"):
            builder.add(
                comp, "dhi.window_covering", prop, commands=commands_of("shutter", "dhi.window_covering")
            )
    lights = _light_parts(cfg, [n for n, k in kinds.items() if k == "light"])
    for index, (part, capabilities) in enumerate(lights):
        comp = "light" if index == 0 else f"light_{index + 1}"
        for cap in capabilities:
            feature, *props = LIGHT_FEATURES[cap]
            comp = features.bind(feature.format(n=part.number, level=part.level_state), comp, cap, *props)
            builder.add(comp, cap, props[0], commands=commands_of("light", cap))
            for prop in props[1:]:
                builder.add(comp, cap, prop)
            if cap == "dhi.color_temperature":
                hi, lo = (round(1_000_000 / m) for m in part.mireds)
                builder.constrain(comp, cap, "color_temperature", PropertyConstraint(minimum=lo, maximum=hi))
        parts[comp] = part
        power[part.number] = comp
        builder.component(comp, label(part.number))
    for number, kind in kinds.items():
        if kind not in ("relay", "ifan_light"):
            continue
        wanted = "light" if kind == "ifan_light" else f"relay_{number}"
        comp = features.bind(f"POWER{number}", wanted, "dhi.on_off", "on")
        parts[comp] = Part("light" if kind == "ifan_light" else "relay", number)
        power[number] = comp
        builder.component(comp, label(number))
        builder.add(comp, "dhi.on_off", "on", commands=commands_of("relay", "dhi.on_off"))
    if cfg.if_ == 1:
        comp = features.bind("FanSpeed", "fan", "dhi.fan", "mode", "speed_level")
        parts[comp] = Part("fan", 1)
        builder.component(comp, cfg.dn)
        builder.add(comp, "dhi.fan", "mode", commands=[])
        builder.add(comp, "dhi.fan", "speed_level")
        builder.constrain(comp, "dhi.fan", "mode", PropertyConstraint(enum=["off", "low", "medium", "high"]))
        builder.constrain(comp, "dhi.fan", "speed_level", PropertyConstraint(minimum=0, maximum=FAN_SPEEDS))
    if cfg.bat not in (0, [], [0]):
        features.bind("BatteryPercentage", "main", "dhi.battery", "percentage")
        builder.add("main", "dhi.battery", "percentage")
    if cfg.so.get("73") == 1:  # decoupled buttons report SINGLE/DOUBLE/… actions
        # SetOption13: a button acts at once, so a single press is all it can report
        events = ["pressed"] if cfg.so.get("13") == 1 else sorted({e for e, _ in BUTTON_ACTIONS.values()})
        for i, present in enumerate(cfg.btn):
            if present:
                comp = features.bind(f"Button{i + 1}", f"button_{i + 1}", "dhi.button")
                parts[comp] = Part("button", i + 1)
                builder.add(comp, "dhi.button", commands=[], events=events)
    switches: dict[str, str] = {}
    for i, mode in enumerate(cfg.swc):
        if mode < 0:
            continue
        name: str | None = cfg.swn[i] if i < len(cfg.swn) and cfg.swn[i] else None
        key = name or f"Switch{i + 1}"  # a SwitchText replaces the key in SENSOR
        sensor = SWITCH_MODES.get(mode)
        cap, prop = (sensor.capability, sensor.property) if sensor else ("x.tasmota.switch", "state")
        comp = features.bind(key, f"switch_{i + 1}", cap, prop)
        parts[comp] = Part("switch", i + 1)
        switches[key] = comp
        switches[f"Switch{i + 1}"] = comp  # firmware without SwitchText support keeps the number
        builder.component(comp, name)
        if sensor is None:
            builder.add_vendor(comp, cap, SWITCH_VENDOR)
        else:
            builder.add(comp, cap, prop)
    sensor_fields: dict[str, str] = {}
    values, dropped = sensor_values(sensors or {}, switches)
    for feature, reason in dropped:
        features.drop(feature, reason)
    for v in values:
        placed = features.bind(v.feature, v.component, v.row.capability, v.prop)
        sensor_fields[v.feature] = placed
        if v.vendor is not None:
            builder.add_vendor(placed, v.row.capability, v.vendor)
        else:
            builder.add(placed, v.row.capability, v.prop, commands=[])
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
    return TasmotaDevice(native, cfg, description, parts, power, sensor_fields, switches, features)


# ---------------------------------------------------------------- the SENSOR walk

_PIN = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<pin>\d+)$")
_PHASE = re.compile(r"^Phase(?P<n>\d+)$")


@dataclass(frozen=True)
class SensorValue:
    """One value of a SENSOR message and the DHI property it is meant for."""

    feature: str  # ENERGY.Voltage[1], ANALOG.Temperature1, ANALOG.CTEnergy1.Power, TX23.Speed.Avg
    component: str  # the component it belongs in (before the no-collision rule)
    row: SensorRow
    prop: str
    vendor: PropertyDef | None
    value: Any


def _row(key: str) -> tuple[SensorRow | None, str | None]:
    """A quantity key -> its row and, for ``Temperature1`` / ``A0``, the pin (ANALOG)."""
    row = _SENSORS.get(key)
    if row is not None:
        return row, None
    m = _PIN.match(key)
    if m is not None and m["base"] in _SENSORS:
        return _SENSORS[m["base"]], m["pin"]
    return None, None


def sensor_values(
    sn: Mapping[str, Any], switches: Mapping[str, str] | None = None
) -> tuple[list[SensorValue], list[tuple[str, str]]]:
    """Every mappable value of a SENSOR message, and (feature, reason) for the rest. The
    same walk serves discovery (what to declare) and every live message (what to publish)."""
    values: list[SensorValue] = []
    dropped: list[tuple[str, str]] = []
    for name, quantities in sn.items():
        if name in SENSOR_META or (switches is not None and name in switches):
            continue
        if isinstance(quantities, str) and name.startswith("Switch"):
            continue  # a switch input without a configured mode
        if not isinstance(quantities, Mapping):
            dropped.append((name, "sensor value is not an object"))
            continue
        _walk(name, component_name(name), quantities, values, dropped, nested=True)
    return values, dropped


def _walk(
    prefix: str,
    comp: str,
    quantities: Mapping[str, Any],
    values: list[SensorValue],
    dropped: list[tuple[str, str]],
    *,
    nested: bool,
) -> None:
    for key, value in quantities.items():
        feature = f"{prefix}.{key}"
        if key in SENSOR_IGNORED:
            continue
        row, pin = _row(key)
        if row is None:
            if nested and isinstance(value, Mapping):
                # a sensor inside a sensor (ANALOG.CTEnergy1 {Energy, Power, …}): its own component
                _walk(feature, f"{comp}_{component_name(key)}", value, values, dropped, nested=False)
            else:
                dropped.append((feature, "no mapping for this Tasmota sensor quantity"))
            continue
        here = f"{comp}_{pin}" if pin is not None else comp
        if row.nested:
            stats = dict(row.nested)
            items = value.items() if isinstance(value, Mapping) else [(None, value)]
            for stat, v in items:
                prop = (
                    stats.get(stat)
                    if stat is not None
                    else next(p for p in stats.values() if p.name == row.property)
                )
                if prop is None:
                    dropped.append((f"{feature}.{stat}", "no mapping for this Tasmota sensor quantity"))
                    continue
                values.append(
                    SensorValue(
                        feature if stat is None else f"{feature}.{stat}", here, row, prop.name, prop, v
                    )
                )
        elif isinstance(value, list):
            # one entry per phase (or tariff): each its own component, never one property
            for i, v in enumerate(value):
                values.append(
                    SensorValue(
                        f"{feature}[{i}]", f"{here}_{row.series}_{i + 1}", row, row.property, row.vendor, v
                    )
                )
        elif isinstance(value, Mapping):
            for sub, v in value.items():
                m = _PHASE.match(sub)
                if m is None:
                    dropped.append((f"{feature}.{sub}", "expected Phase<n> keys"))
                    continue
                values.append(
                    SensorValue(
                        f"{feature}.{sub}", f"{here}_phase_{m['n']}", row, row.property, row.vendor, v
                    )
                )
        else:
            values.append(SensorValue(feature, here, row, row.property, row.vendor, value))


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
    """``tele/<t>/STATE`` or ``stat/<t>/RESULT``: power, lights, fan, wifi, uptime, battery,
    shutters, buttons."""
    out = out or Decoded()
    channels = data.get("Channel")
    if isinstance(channels, list):
        # the light state also carries all PWM channels as one list: Channel<n> is entry n
        data = {**{f"Channel{i + 1}": v for i, v in enumerate(channels)}, **data}
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
    for row in STATE_FIELDS:
        targets = (
            [("main", None)]
            if row.target == "main"
            else [(c, p) for c, p in device.parts.items() if p.kind == row.target]
        )
        for comp, part in targets:
            key = row.key.format(level=part.level_state) if part is not None else row.key
            value = _get(data, key)
            if (
                value is None
                or value in row.skip
                or not _declares(device, comp, row.capability, row.property)
            ):
                continue
            try:
                out.put(comp, row.capability, row.property, row.convert(value))
            except ConversionError as exc:
                out.errors.append(f"{key}: {exc}")
    _decode_shutters(device, data, out)
    _decode_buttons(device, data, out)
    return out


def decode_sensor(device: TasmotaDevice, data: Mapping[str, Any]) -> Decoded:
    """``tele/<t>/SENSOR``: every value the device declared, per phase, pin and sub-sensor."""
    out = Decoded()
    units = {k: data.get(k) for k in ("TempUnit", "PressureUnit")}
    for key, comp in device.switches.items():
        if key in data:
            _decode_switch(device, key, comp, data[key], out)
    values, _ = sensor_values(data, device.switches)
    for v in values:
        placed = device.sensor_fields.get(v.feature)
        if placed is None:
            continue  # not in the description (appeared after discovery)
        row = v.row
        try:
            converted = row.convert(v.value) if v.vendor is None or not row.nested else v.value
            for unit, convert in row.units:
                if row.unit_key is not None and units.get(row.unit_key) == unit:
                    converted = convert(converted)
        except ConversionError as exc:
            out.errors.append(f"{v.feature}: {exc}")
            continue
        out.put(placed, row.capability, v.prop, converted)
    for name, quantities in data.items():
        if name in device.switches or name in SENSOR_META:
            continue
        if not isinstance(quantities, Mapping | str):
            out.errors.append(f"{name}: sensor value must be an object, got {type(quantities).__name__}")
    _decode_shutters(device, data, out)
    return out


def _declares(device: TasmotaDevice, comp: str, capability: str, prop: str | None = None) -> bool:
    c = device.description.component(comp)
    inst = c.capability(capability) if c is not None else None
    return inst is not None and (prop is None or inst.properties is None or prop in inst.properties)


def _decode_shutters(device: TasmotaDevice, data: Mapping[str, Any], out: Decoded) -> None:
    for comp, part in device.parts.items():
        if part.kind != "shutter":
            continue
        obj = data.get(f"Shutter{part.number}")
        if not isinstance(obj, Mapping):
            continue
        pos, direction = obj.get("Position"), obj.get("Direction")
        if isinstance(pos, int | float) and not isinstance(pos, bool):
            # an inverted shutter (sho bit 0) counts 0 = open: DHI's 100 = open
            out.put(comp, "dhi.window_covering", "position", 100 - pos if part.inverted else pos)
        if direction in SHUTTER_DIRECTION:
            out.put(
                comp,
                "dhi.window_covering",
                "moving",
                SHUTTER_DIRECTION[-direction if part.inverted else direction],
            )
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
        inst = device.description.component(comp)
        declared = inst.capability("dhi.button") if inst is not None else None
        if declared is not None and declared.events is not None and mapped[0] not in declared.events:
            out.errors.append(f"Button{part.number}.Action: {action} with SetOption13 (single press only)")
            continue
        out.events.append((comp, "dhi.button", mapped[0], dict(mapped[1])))


def _decode_switch(device: TasmotaDevice, key: str, comp: str, value: Any, out: Decoded) -> None:
    c = device.description.component(comp)
    inst = c.capabilities[0] if c is not None and c.capabilities else None
    if inst is None:
        return
    prop = inst.properties[0] if inst.properties else "state"
    try:
        out.put(comp, inst.id, prop, ON_OFF(value))
    except ConversionError as exc:
        out.errors.append(f"{key}: {exc}")
