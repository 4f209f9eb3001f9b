"""Which Home Assistant entities a DHI device becomes, and how their payloads read and write.

Pure functions over a device description, the catalog rows (``dhi.home_assistant``) and the
current values: no broker, no hub. An ``Entity`` is HA's discovery config (without topics,
device block and availability, which the service adds) plus its state fields — each an HA
topic with an encoder from DHI values to HA's payload — and its command fields, each a
decoder from HA's payload to DHI commands that then go through the hub's validated path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dhi.catalog import Catalog
from dhi.home_assistant import COMPOSITE, FAN_PRESET_MODES, EntityRow, applies, ha_unit
from dhi.models.catalog import CapabilityDef, HomeAssistantMapping, PropertyDef, ValueType
from dhi.models.command import SET_COMMAND
from dhi.models.device import CapabilityInstance, Component, DeviceDescription

#: (capability, property) -> current value, for one component
type Values = Mapping[tuple[str, str], Any]


class PayloadError(ValueError):
    """HA sent a command payload this entity cannot read (which entity, what was expected)."""


@dataclass(frozen=True, slots=True)
class Cmd:
    capability: str
    command: str
    params: dict[str, Any]


type Encode = Callable[[Values], str | None]
type Decode = Callable[[str, Values], list[Cmd]]


@dataclass(frozen=True, slots=True)
class StateField:
    topic_key: str  # the discovery config key naming the topic, e.g. "state_topic"
    suffix: str  # topic below the entity's base
    inputs: frozenset[tuple[str, str]]  # the values it depends on
    encode: Encode


@dataclass(frozen=True, slots=True)
class CommandField:
    topic_key: str
    suffix: str
    decode: Decode


@dataclass
class Entity:
    domain: str
    component: str
    key: str  # unique within the device
    config: dict[str, Any]
    states: list[StateField] = field(default_factory=list)
    commands: list[CommandField] = field(default_factory=list)
    #: event entities: the capability whose events they show
    events_of: str | None = None


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a builder may look at: the component, its capabilities and current values."""

    catalog: Catalog
    component: Component
    values: Values
    control: bool

    def instance(self, cap_id: str) -> CapabilityInstance | None:
        return self.component.capability(cap_id)

    def has(self, cap_id: str, prop: str | None = None) -> bool:
        inst = self.instance(cap_id)
        return inst is not None and (prop is None or inst.properties is None or prop in inst.properties)

    def can(self, cap_id: str, command: str) -> bool:
        inst = self.instance(cap_id)
        if inst is None or self.catalog[cap_id].command(command) is None:
            return False
        return inst.commands is None or command in inst.commands


ON, OFF = "ON", "OFF"
#: the bound given to HA for an open end of a number's range
OPEN_END = 1_000_000


def _num(v: Any) -> str | None:
    if v is None:
        return "None"
    return str(round(v, 6)) if isinstance(v, float) else str(v)


def _percent(v: Any) -> str:
    """A fan's percentage: HA reads it with ``int()``, so "0.0" or "37.5" would be refused."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return "None"
    return str(round(v))


def _plain(v: Any) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return ON if v else OFF
    return v if isinstance(v, str) else json.dumps(v)


def _float(payload: str, what: str) -> float:
    try:
        return float(payload)
    except ValueError:
        raise PayloadError(f"{what}: {payload!r} is not a number") from None


def _label(prop: PropertyDef | None, cap: CapabilityDef) -> str:
    """zh-CN first, then English (HA shows one string)."""
    lab = (prop.label if prop is not None and prop.label else None) or cap.label
    return f"{lab.zh_cn} {lab.en}"


def _write(cap: CapabilityDef, prop: PropertyDef, value: Any) -> Cmd:
    """The command that sets one property: a dedicated one whose only required parameter is the
    property (set_mode {mode}), else the generic ``set``."""
    for cmd in cap.commands:
        if cmd.params.get("required") == [prop.name]:
            return Cmd(cap.id, cmd.name, {prop.name: value})
    return Cmd(cap.id, SET_COMMAND, {prop.name: value})


def _options(ctx: Ctx, cap: CapabilityDef, prop: PropertyDef) -> list[str]:
    """An enum's values (narrowed by the device), or the list a sibling property holds
    (mode → modes, sound → sounds, preset → presets, effect → effects)."""
    inst = ctx.instance(cap.id)
    narrowed = (inst.constraints or {}).get(prop.name) if inst else None
    if narrowed is not None and narrowed.enum:
        return list(narrowed.enum)
    if prop.enum:
        return list(prop.enum)
    listed = ctx.values.get((cap.id, prop.name + "s"))
    return [str(v) for v in listed] if isinstance(listed, list) else []


# ---------------------------------------------------------------- one property, one entity


def _sensor(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, row, prop = er.capability, er.row, er.prop
    assert prop is not None
    cfg: dict[str, Any] = {"name": _label(prop, cap)}
    if row.device_class == "enum":
        cfg["options"] = _options(ctx, cap, prop)
    else:
        if er.unit:
            cfg["unit_of_measurement"] = er.unit
        if row.state_class:
            cfg["state_class"] = row.state_class
    src = (cap.id, prop.name)
    numeric = prop.type in (ValueType.NUMBER, ValueType.INTEGER)
    encode: Encode = (lambda v: _num(v.get(src))) if numeric else (lambda v: _plain(v.get(src)))
    return Entity("sensor", "", "", cfg, [StateField("state_topic", "state", frozenset({src}), encode)])


def _binary_sensor(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, row, prop = er.capability, er.row, er.prop
    assert prop is not None
    src = (cap.id, prop.name)
    on_when = row.on_when if row.on_when is not None else [True]

    def encode(v: Values) -> str | None:
        value = v.get(src)
        if value is None:
            return "None"  # HA: unknown
        if isinstance(value, list):  # a list of active alarms: on while it is not empty
            return ON if value else OFF
        return ON if value in on_when else OFF

    cfg = {"name": _label(prop, cap), "payload_on": ON, "payload_off": OFF}
    return Entity(
        "binary_sensor", "", "", cfg, [StateField("state_topic", "state", frozenset({src}), encode)]
    )


def _settable(
    domain: str, er: EntityRow, cfg: dict[str, Any], encode: Callable[[Any], str | None], decode: Decode
) -> Entity:
    """An entity showing one property (``encode`` of its value) and setting it (``decode``)."""
    assert er.prop is not None
    src = (er.capability.id, er.prop.name)
    return Entity(
        domain, "", "", {"name": _label(er.prop, er.capability), **cfg},
        [StateField("state_topic", "state", frozenset({src}), lambda v: encode(v.get(src)))],
        [CommandField("command_topic", "set", decode)],
    )  # fmt: skip


def _switch(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, prop = er.capability, er.prop
    assert prop is not None

    def decode(payload: str, v: Values) -> list[Cmd]:
        if payload not in (ON, OFF):
            raise PayloadError(f"{cap.id}.{prop.name}: expected ON or OFF, got {payload!r}")
        on = payload == ON
        if cap.id == "dhi.on_off":  # the capability's own commands (every on/off device has them)
            return [Cmd(cap.id, "on" if on else "off", {})]
        return [_write(cap, prop, on)]

    return _settable("switch", er, {"payload_on": ON, "payload_off": OFF}, _plain, decode)


def _number(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, prop = er.capability, er.prop
    assert prop is not None
    inst = ctx.instance(cap.id)
    narrowed = (inst.constraints or {}).get(prop.name) if inst else None
    lo = narrowed.minimum if narrowed and narrowed.minimum is not None else prop.minimum
    hi = narrowed.maximum if narrowed and narrowed.maximum is not None else prop.maximum
    # HA's number defaults to 1 … 100: an open end of the DHI range is given as a wide bound
    cfg: dict[str, Any] = {"mode": "box", "min": lo if lo is not None else -OPEN_END, "max": OPEN_END}
    if hi is not None:
        cfg["max"] = hi
    elif cap.property("levels") is not None:  # dhi.sensitivity: 0 … levels
        cfg["max"] = ctx.values.get((cap.id, "levels")) or 100
    cfg["step"] = prop.step or (1 if prop.type is ValueType.INTEGER else 0.1)
    if er.unit:
        cfg["unit_of_measurement"] = er.unit

    def decode(payload: str, v: Values) -> list[Cmd]:
        number = _float(payload, f"{cap.id}.{prop.name}")
        value: Any = round(number) if prop.type is ValueType.INTEGER else number
        return [_write(cap, prop, value)]

    return _settable("number", er, cfg, _num, decode)


def _select(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, prop = er.capability, er.prop
    assert prop is not None
    options = _options(ctx, cap, prop)
    if not options:
        return None  # HA needs the options up front; the device has not listed them yet

    def decode(payload: str, v: Values) -> list[Cmd]:
        value: Any = int(payload) if prop.type is ValueType.INTEGER else payload
        return [_write(cap, prop, value)]

    if prop.type is ValueType.INTEGER:
        options = [str(o) for o in options]
    return _settable("select", er, {"options": options}, _plain, decode)


def _text(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, prop = er.capability, er.prop
    assert prop is not None
    return _settable("text", er, {}, _plain, lambda p, v: [_write(cap, prop, p)])


def _button(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap, command = er.capability, er.row.command
    assert command is not None
    if not ctx.can(cap.id, command):
        return None
    cmd_def = cap.command(command)
    label = cmd_def.label if cmd_def and cmd_def.label else cap.label
    return Entity(
        "button", "", "", {"name": f"{label.zh_cn} {label.en}", "payload_press": "PRESS"},
        commands=[CommandField("command_topic", "press", lambda p, v: [Cmd(cap.id, command, {})])],
    )  # fmt: skip


def _event(er: EntityRow, ctx: Ctx) -> Entity | None:
    cap = er.capability
    inst = ctx.instance(cap.id)
    names = [e.name for e in cap.events if inst is None or inst.events is None or e.name in inst.events]
    if not names:
        return None
    return Entity("event", "", "", {"name": _label(None, cap), "event_types": names}, events_of=cap.id)


# ---------------------------------------------------------------- composite platforms


def _light(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    """JSON schema light: one state topic, one command topic."""
    features = {f for er in rows for f in er.row.features}
    modes: list[str] = []
    if "xy" in features:
        modes.append("xy")
    if "hs" in features and "xy" not in features:
        modes.append("hs")
    if "color_temp" in features:
        modes.append("color_temp")
    if not modes:
        modes = ["brightness"] if "brightness" in features else ["onoff"]
    cfg: dict[str, Any] = {"name": None, "schema": "json", "supported_color_modes": modes}
    if "brightness" in features:
        cfg |= {"brightness": True, "brightness_scale": 100}  # DHI level is already %
    if "color_temp" in features:
        cfg |= {"color_temp_kelvin": True}
        for key, prop in (("min_kelvin", "min_color_temperature"), ("max_kelvin", "max_color_temperature")):
            limit = ctx.values.get(("dhi.color_temperature", prop))
            if isinstance(limit, int | float):
                cfg[key] = int(limit)
    if "effect" in features:
        effects = ctx.values.get(("dhi.light_effect", "effects"))
        if isinstance(effects, list) and effects:
            cfg |= {"effect": True, "effect_list": [str(e) for e in effects]}
    inputs = frozenset(
        (c, p)
        for c, p in (
            ("dhi.on_off", "on"), ("dhi.level", "level"), ("dhi.color_temperature", "color_temperature"),
            ("dhi.color", "color_mode"), ("dhi.color", "x"), ("dhi.color", "y"), ("dhi.color", "hue"),
            ("dhi.color", "saturation"), ("dhi.light_effect", "effect"),
        )
    )  # fmt: skip
    return Entity(
        "light", "", "", cfg,
        [StateField("state_topic", "state", inputs, encode_light)],
        [CommandField("command_topic", "set", decode_light)],
    )  # fmt: skip


def encode_light(v: Values) -> str | None:
    on = v.get(("dhi.on_off", "on"))
    out: dict[str, Any] = {"state": None if on is None else (ON if on else OFF)}
    level = v.get(("dhi.level", "level"))
    if level is not None:
        out["brightness"] = round(level)
    mode = v.get(("dhi.color", "color_mode"))
    x, y = v.get(("dhi.color", "x")), v.get(("dhi.color", "y"))
    hue, sat = v.get(("dhi.color", "hue")), v.get(("dhi.color", "saturation"))
    kelvin = v.get(("dhi.color_temperature", "color_temperature"))
    if mode == "hs" and hue is not None and sat is not None:
        out |= {"color_mode": "hs", "color": {"h": hue, "s": sat}}
    elif mode in ("xy", "hs", None) and x is not None and y is not None:
        out |= {"color_mode": "xy", "color": {"x": x, "y": y}}
    elif kelvin is not None:
        out |= {"color_mode": "color_temp", "color_temp": round(kelvin)}
    effect = v.get(("dhi.light_effect", "effect"))
    if effect is not None:
        out["effect"] = effect
    return json.dumps(out)


def decode_light(payload: str, v: Values) -> list[Cmd]:
    try:
        msg = json.loads(payload)
    except ValueError:
        raise PayloadError(f"light command is not JSON: {payload[:80]!r}") from None
    if not isinstance(msg, dict):
        raise PayloadError("light command: expected a JSON object")
    out: list[Cmd] = []
    transition = msg.get("transition")
    extra = {"transition_time": float(transition)} if isinstance(transition, int | float) else {}
    if msg.get("state") == OFF:
        return [Cmd("dhi.on_off", "off", {})]
    if "brightness" in msg:
        out.append(Cmd("dhi.level", "set_level", {"level": float(msg["brightness"]), **extra}))
    if "color_temp" in msg:
        out.append(
            Cmd(
                "dhi.color_temperature",
                "set_color_temperature",
                {"color_temperature": float(msg["color_temp"]), **extra},
            )
        )
    color = msg.get("color")
    if isinstance(color, dict) and "x" in color and "y" in color:
        out.append(Cmd("dhi.color", "set_xy", {"x": float(color["x"]), "y": float(color["y"]), **extra}))
    elif isinstance(color, dict) and "h" in color and "s" in color:
        out.append(
            Cmd("dhi.color", "set_hs", {"hue": float(color["h"]), "saturation": float(color["s"]), **extra})
        )
    if "effect" in msg:
        out.append(Cmd("dhi.light_effect", "set_effect", {"effect": str(msg["effect"])}))
    if (msg.get("state") == ON and v.get(("dhi.on_off", "on")) is not True) or not out:
        out.insert(0, Cmd("dhi.on_off", "on", {}))
    return out


_COVER_MOVING = {"opening": "opening", "closing": "closing"}


def _cover(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.window_covering"
    pos, tilt = (cap, "position"), (cap, "tilt")

    def state(v: Values) -> str | None:
        moving = v.get((cap, "moving"))
        if moving in _COVER_MOVING:
            return _COVER_MOVING[moving]
        p = v.get(pos)
        return None if p is None else ("closed" if p == 0 else "open")

    cfg: dict[str, Any] = {"name": None, "position_open": 100, "position_closed": 0}
    states = [StateField("state_topic", "state", frozenset({pos, (cap, "moving")}), state)]
    commands: list[CommandField] = []
    if ctx.has(cap, "position"):
        states.append(StateField("position_topic", "position", frozenset({pos}), lambda v: _num(v.get(pos))))
    if ctx.has(cap, "tilt"):
        states.append(StateField("tilt_status_topic", "tilt", frozenset({tilt}), lambda v: _num(v.get(tilt))))
    if ctx.can(cap, "open"):
        names = {"OPEN": "open", "CLOSE": "close", "STOP": "stop"}
        cfg |= {"payload_open": "OPEN", "payload_close": "CLOSE", "payload_stop": "STOP"}

        def decode(p: str, v: Values) -> list[Cmd]:
            if p not in names:
                raise PayloadError(f"cover: expected OPEN, CLOSE or STOP, got {p!r}")
            return [Cmd(cap, names[p], {})]

        commands.append(CommandField("command_topic", "set", decode))
    if ctx.can(cap, "set_position"):
        commands.append(
            CommandField("set_position_topic", "position/set",
                         lambda p, v: [Cmd(cap, "set_position", {"position": _float(p, "position")})])
        )  # fmt: skip
    if ctx.can(cap, "set_tilt"):
        commands.append(
            CommandField(
                "tilt_command_topic",
                "tilt/set",
                lambda p, v: [Cmd(cap, "set_tilt", {"tilt": _float(p, "tilt")})],
            )
        )
    return Entity("cover", "", "", cfg, states, commands)


_LOCK_STATES = {"locked": "LOCKED", "unlocked": "UNLOCKED", "not_fully_locked": "JAMMED", "unlatched": "OPEN"}


def _lock(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.lock"
    src = (cap, "lock_state")
    names = {"LOCK": "lock", "UNLOCK": "unlock", "OPEN": "unbolt"}

    def decode(p: str, v: Values) -> list[Cmd]:
        if p not in names or not ctx.can(cap, names[p]):
            raise PayloadError(f"lock: expected LOCK or UNLOCK, got {p!r}")
        return [Cmd(cap, names[p], {})]

    cfg: dict[str, Any] = {
        "name": None, "payload_lock": "LOCK", "payload_unlock": "UNLOCK",
        "state_locked": "LOCKED", "state_unlocked": "UNLOCKED", "state_jammed": "JAMMED", "state_open": "OPEN",
    }  # fmt: skip
    if ctx.can(cap, "unbolt"):
        cfg["payload_open"] = "OPEN"
    return Entity(
        "lock", "", "", cfg,
        [StateField("state_topic", "state", frozenset({src}), lambda v: _LOCK_STATES.get(v.get(src) or "", "None"))],
        [CommandField("command_topic", "set", decode)],
    )  # fmt: skip


def _valve(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.valve"
    state = (cap, "state")
    row = rows[0].row
    cfg: dict[str, Any] = {"name": None, "device_class": row.device_class}

    def encode(v: Values) -> str | None:
        s = v.get(state)
        return {"open": "open", "closed": "closed", "transitioning": "opening"}.get(s or "", "None")

    commands: list[CommandField] = []
    if ctx.control and ctx.can(cap, "open"):
        cfg |= {"payload_open": "OPEN", "payload_close": "CLOSE"}

        def decode(p: str, v: Values) -> list[Cmd]:
            if p not in ("OPEN", "CLOSE"):
                raise PayloadError(f"valve: expected OPEN or CLOSE, got {p!r}")
            return [Cmd(cap, "open" if p == "OPEN" else "close", {})]

        commands.append(CommandField("command_topic", "set", decode))
    return Entity(
        "valve", "", "", cfg, [StateField("state_topic", "state", frozenset({state}), encode)], commands
    )


def _siren(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.siren"
    src = (cap, "active")

    def decode(p: str, v: Values) -> list[Cmd]:
        if p not in (ON, OFF):
            raise PayloadError(f"siren: expected ON or OFF, got {p!r}")
        return [Cmd(cap, "start" if p == ON else "stop", {})]

    return Entity(
        "siren", "", "", {"name": None, "payload_on": ON, "payload_off": OFF},
        [StateField("state_topic", "state", frozenset({src}), lambda v: _plain(v.get(src)))],
        [CommandField("command_topic", "set", decode)],
    )  # fmt: skip


_FAN_PRESETS = FAN_PRESET_MODES


def _fan(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.fan"
    mode, speed, osc = (cap, "mode"), (cap, "speed"), (cap, "oscillation")
    cfg: dict[str, Any] = {"name": None, "payload_on": ON, "payload_off": OFF}
    states = [StateField("state_topic", "state", frozenset({mode}),
                         lambda v: "None" if v.get(mode) is None else (OFF if v.get(mode) == "off" else ON))]  # fmt: skip
    commands = [
        CommandField("command_topic", "set", lambda p, v: [_write(ctx.catalog[cap], _prop(ctx, cap, "mode"),
                                                                    "on" if p == ON else "off")]),
    ]  # fmt: skip
    if ctx.has(cap, "speed"):
        states.append(
            StateField(
                "percentage_state_topic", "percentage", frozenset({speed}), lambda v: _percent(v.get(speed))
            )
        )
        commands.append(
            CommandField("percentage_command_topic", "percentage/set",
                         lambda p, v: [_write(ctx.catalog[cap], _prop(ctx, cap, "speed"), _float(p, "percentage"))])
        )  # fmt: skip
    presets = [m for m in _options(ctx, ctx.catalog[cap], _prop(ctx, cap, "mode")) if m in _FAN_PRESETS]
    if presets:
        cfg["preset_modes"] = presets
        states.append(StateField("preset_mode_state_topic", "preset", frozenset({mode}),
                                 lambda v: v.get(mode) if v.get(mode) in _FAN_PRESETS else "None"))  # fmt: skip
        commands.append(
            CommandField("preset_mode_command_topic", "preset/set",
                         lambda p, v: [_write(ctx.catalog[cap], _prop(ctx, cap, "mode"), p)])
        )  # fmt: skip
    if ctx.has(cap, "oscillation"):
        states.append(
            StateField(
                "oscillation_state_topic", "oscillation", frozenset({osc}), lambda v: _plain(v.get(osc))
            )
        )
        commands.append(
            CommandField("oscillation_command_topic", "oscillation/set",
                         lambda p, v: [_write(ctx.catalog[cap], _prop(ctx, cap, "oscillation"), p == ON)])
        )  # fmt: skip
        cfg |= {"payload_oscillation_on": ON, "payload_oscillation_off": OFF}
    return Entity("fan", "", "", cfg, states, commands)


#: DHI thermostat system modes -> HA HVAC modes (sleep and others have none)
HVAC_MODES = {"off": "off", "auto": "auto", "cool": "cool", "heat": "heat", "emergency_heat": "heat",
              "precooling": "cool", "fan_only": "fan_only", "dry": "dry"}  # fmt: skip
HVAC_ACTIONS = {"idle": "idle", "heat": "heating", "cool": "cooling", "fan_only": "fan"}


def _climate(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.thermostat"
    if not ctx.has(cap):
        return None
    cat = ctx.catalog[cap]
    mode, target, local = (cap, "system_mode"), (cap, "target_temperature"), (cap, "local_temperature")
    heat = (cap, "heating_setpoint")
    setpoint = target if ctx.has(cap, "target_temperature") else heat
    modes = sorted(
        {HVAC_MODES[m] for m in _options(ctx, cat, _prop(ctx, cap, "system_mode")) if m in HVAC_MODES}
    )
    cfg: dict[str, Any] = {
        "name": None,
        "modes": modes or ["heat"],
        "temperature_unit": "C",
        "precision": 0.1,
    }
    states = [
        StateField(
            "mode_state_topic", "mode", frozenset({mode}), lambda v: HVAC_MODES.get(v.get(mode) or "", "None")
        ),
        StateField("current_temperature_topic", "current", frozenset({local}), lambda v: _num(v.get(local))),
        StateField(
            "temperature_state_topic", "target", frozenset({setpoint}), lambda v: _num(v.get(setpoint))
        ),
    ]
    back = {ha: dhi for dhi, ha in reversed(HVAC_MODES.items())}

    def set_mode(p: str, v: Values) -> list[Cmd]:
        if p not in back:
            raise PayloadError(f"climate: HVAC mode {p!r} has no DHI system mode")
        return [_write(cat, _prop(ctx, cap, "system_mode"), back[p])]

    commands = [
        CommandField("mode_command_topic", "mode/set", set_mode),
        CommandField("temperature_command_topic", "target/set",
                     lambda p, v: [_write(cat, _prop(ctx, cap, setpoint[1]), _float(p, "temperature"))]),
    ]  # fmt: skip
    if ctx.has(cap, "running_state"):
        run = (cap, "running_state")
        states.append(
            StateField(
                "action_topic",
                "action",
                frozenset({run}),
                lambda v: HVAC_ACTIONS.get(v.get(run) or "", "off"),
            )
        )
    if ctx.has("dhi.thermostat_preset"):
        pcat = ctx.catalog["dhi.thermostat_preset"]
        presets = _options(ctx, pcat, _prop(ctx, "dhi.thermostat_preset", "preset"))
        if presets:
            pre = ("dhi.thermostat_preset", "preset")
            cfg["preset_modes"] = [p for p in presets if p != "none"]
            states.append(
                StateField(
                    "preset_mode_state_topic", "preset", frozenset({pre}), lambda v: _plain(v.get(pre))
                )
            )
            commands.append(CommandField("preset_mode_command_topic", "preset/set",
                                         lambda p, v: [_write(pcat, _prop(ctx, pcat.id, "preset"), p)]))  # fmt: skip
    return Entity("climate", "", "", cfg, states, commands)


def _update(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.firmware_update"
    inputs = frozenset(
        {(cap, "installed_version"), (cap, "latest_version"), (cap, "state"), (cap, "progress")}
    )

    def encode(v: Values) -> str | None:
        installed = v.get((cap, "installed_version"))
        out: dict[str, Any] = {
            "installed_version": installed,
            "latest_version": v.get((cap, "latest_version")) or installed,
        }
        if v.get((cap, "state")) in ("downloading", "installing"):
            out["in_progress"] = True
            if isinstance(v.get((cap, "progress")), int | float):
                out["update_percentage"] = v.get((cap, "progress"))
        return json.dumps(out)

    cfg: dict[str, Any] = {"name": None, "device_class": "firmware"}
    commands = []
    if ctx.control and ctx.can(cap, "install"):
        cfg["payload_install"] = "install"
        commands.append(CommandField("command_topic", "set", lambda p, v: [Cmd(cap, "install", {})]))
    return Entity("update", "", "", cfg, [StateField("state_topic", "state", inputs, encode)], commands)


_VACUUM = {"running": "cleaning", "paused": "paused", "stopped": "idle", "error": "error",
           "seeking_charger": "returning", "charging": "docked", "docked": "docked"}  # fmt: skip


def _vacuum(rows: list[EntityRow], ctx: Ctx) -> Entity | None:
    cap = "dhi.operational_state"
    src = (cap, "state")
    # HA feature -> (the payload HA sends for it, the DHI command)
    features = {"start": ("start", "start"), "stop": ("stop", "stop"), "pause": ("pause", "pause"),
                "return_home": ("return_to_base", "go_home")}  # fmt: skip
    supported = [f for f, (_, dhi) in features.items() if ctx.can(cap, dhi)]
    by_payload = {features[f][0]: features[f][1] for f in supported}
    cfg = {"name": None, "supported_features": [*supported, "status"]}
    commands = []
    if supported:

        def decode(p: str, v: Values) -> list[Cmd]:  # fmt: skip
            if p not in by_payload:
                raise PayloadError(f"vacuum: expected one of {sorted(by_payload)}, got {p!r}")
            return [Cmd(cap, by_payload[p], {})]

        commands.append(CommandField("command_topic", "set", decode))
    encode: Encode = lambda v: json.dumps({"state": _VACUUM.get(v.get(src) or "", "idle")})  # noqa: E731
    return Entity(
        "vacuum", "", "", cfg, [StateField("state_topic", "state", frozenset({src}), encode)], commands
    )


def _prop(ctx: Ctx, cap_id: str, name: str) -> PropertyDef:
    prop = ctx.catalog[cap_id].property(name)
    assert prop is not None, f"{cap_id}.{name}"
    return prop


type Single = Callable[[EntityRow, Ctx], Entity | None]
type Composite = Callable[[list[EntityRow], Ctx], Entity | None]

SINGLE: dict[str, Single] = {
    "sensor": _sensor, "binary_sensor": _binary_sensor, "switch": _switch, "number": _number,
    "select": _select, "text": _text, "button": _button, "event": _event,
}  # fmt: skip
COMPOSITES: dict[str, Composite] = {
    "light": _light, "cover": _cover, "lock": _lock, "valve": _valve, "siren": _siren, "fan": _fan,
    "climate": _climate, "update": _update, "vacuum": _vacuum,
}  # fmt: skip
assert set(COMPOSITES) == COMPOSITE


# ---------------------------------------------------------------- the plan of a device


def plan_device(
    desc: DeviceDescription,
    catalog: Catalog,
    values: Callable[[str], Values],
    *,
    control: Callable[[str], bool],
) -> list[Entity]:
    """Every entity the device becomes. ``values(component)`` gives its current values;
    ``control(capability)`` whether HA may operate it (False: the read-only form)."""
    out: list[Entity] = []
    for comp in desc.components:
        out.extend(_plan_component(desc, comp, catalog, values(comp.id), control))
    return out


def _plan_component(
    desc: DeviceDescription, comp: Component, catalog: Catalog, values: Values, control: Callable[[str], bool]
) -> Iterable[Entity]:
    present = frozenset(c.id for c in comp.capabilities)
    composite: dict[str, list[EntityRow]] = {}
    for inst in comp.capabilities:
        cap = catalog.get(inst.id)
        if cap is None:
            continue  # vendor capabilities carry no HA mapping
        ctx = Ctx(catalog, comp, values, control(inst.id))
        for row in cap.mappings.home_assistant:
            if not applies(row, present, control=ctx.control) or not _implemented(inst, row):
                continue
            er = EntityRow(
                cap, row, cap.property(row.property) if row.property else None, ha_unit(catalog, cap, row)
            )
            if row.domain in COMPOSITE:
                composite.setdefault(row.domain, []).append(er)
                continue
            entity = SINGLE[row.domain](er, ctx) if row.domain in SINGLE else None
            if entity is not None:
                yield _finish(entity, comp.id, er.key, row)
    for domain, rows in composite.items():
        ctx = Ctx(catalog, comp, values, control(rows[0].capability.id))
        entity = COMPOSITES[domain](rows, ctx)
        if entity is not None:
            yield _finish(entity, comp.id, domain, None)


def _implemented(inst: CapabilityInstance, row: HomeAssistantMapping) -> bool:
    return row.property is None or inst.properties is None or row.property in inst.properties


def _finish(entity: Entity, component: str, key: str, row: HomeAssistantMapping | None) -> Entity:
    entity.component = component
    entity.key = f"{component}_{key}"
    if row is not None:
        if (row.device_class and row.domain not in ("event",)) or (
            row is not None and row.domain == "event" and row.device_class
        ):
            entity.config.setdefault("device_class", row.device_class)
        if row.entity_category:
            entity.config["entity_category"] = row.entity_category
    return entity
