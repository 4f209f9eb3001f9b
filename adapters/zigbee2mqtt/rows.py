"""The Zigbee2MQTT -> DHI mapping tables.

``STD_ROWS`` are tried in order; the first row whose capability and property exist in the
catalog and whose converter fits the expose wins. Rows here own their expose names:
for any other name the rows the catalog declares itself (``mappings.zigbee2mqtt``) apply
with plain kind/unit conversion (``mapping.catalog_rows``). Rows exist here only where the
catalog's own declaration is not enough: a parent specific expose decides the meaning
(``state``), the value needs a converter the kind cannot imply (brightness 0..254, mired,
1/10 s), enum members need translating, or the expose feeds events or commands.

``COMMAND_ROWS`` turn catalog commands into ``/set`` payloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.zigbee2mqtt.converters import (
    auto,
    enum_to_bool,
    keypad_levels,
    percent_of_range,
    raw_contact,
    tenths_of_second,
)
from adapters.zigbee2mqtt.exposes import Expose
from adapters.zigbee2mqtt.rowtypes import (
    TOP,
    CommandCtx,
    CommandRow,
    Match,
    StdRow,
    ToAction,
    ToEvent,
    ToEventField,
    ToFeatures,
    ToProperty,
    ToTrigger,
    TransitionRow,
)


def _on_off_values(e: Expose) -> bool:
    return {str(e.value_on).upper(), str(e.value_off).upper()} == {"ON", "OFF"}


def _unit_is(*names: str) -> Any:
    def check(e: Expose) -> bool:
        return (e.unit or "").strip() in names

    return check


def _unit_is_not(*names: str) -> Any:
    def check(e: Expose) -> bool:
        return (e.unit or "").strip() not in names

    return check


ON_OFF_PARENTS = ("light", "switch", "fan")

STD_ROWS: list[StdRow] = [
    # ---- on/off: the `state` feature of lights, switches and fans; a top-level ON/OFF state too
    StdRow(Match(("state",), ("binary",), ON_OFF_PARENTS), ToProperty("dhi.on_off", "on")),
    StdRow(Match(("state",), ("binary",), (TOP,), _on_off_values), ToProperty("dhi.on_off", "on")),
    # ---- covers and locks: `state` there is a command echo; the catalog carries it as commands
    StdRow(
        Match(("state",), ("enum",), ("cover",)),
        ToTrigger("dhi.window_covering", "@cover_state"),
        note="OPEN/CLOSE/STOP -> open/close/stop commands",
    ),
    StdRow(Match(("position",), ("numeric",), ("cover",)), ToProperty("dhi.window_covering", "position")),
    StdRow(Match(("tilt",), ("numeric",), ("cover",)), ToProperty("dhi.window_covering", "tilt")),
    StdRow(
        Match(("moving", "motor_state"), ("enum",)),
        ToProperty(
            "dhi.window_covering",
            "moving",
            auto(
                value_map={
                    "UP": "opening",
                    "DOWN": "closing",
                    "STOP": "stopped",
                    "up": "opening",
                    "down": "closing",
                    "stop": "stopped",
                    "opening": "opening",
                    "closing": "closing",
                    "stopped": "stopped",
                    "open": "opening",
                    "close": "closing",
                }
            ),
        ),
    ),
    StdRow(
        Match(("motor_direction", "motor_reversal", "reverse_direction"), ("enum", "binary")),
        ToProperty(
            "dhi.window_covering",
            "reversed",
            enum_to_bool(
                true=("back", "backward", "reverse", "reversed", "right", "ON", True),
                false=("forward", "normal", "left", "OFF", False),
            ),
        ),
    ),
    StdRow(
        Match(("state",), ("binary",), ("lock",), check=lambda e: (e.prop or "").startswith("child_lock")),
        ToProperty("dhi.child_lock", "locked"),
        note="older thermostat definitions model their child lock as a lock expose on child_lock",
    ),
    StdRow(
        Match(("state",), ("binary",), ("lock",)),
        ToTrigger("dhi.lock", "@lock_state"),
        note="LOCK/UNLOCK -> lock/unlock commands; the reported state is lock_state",
    ),
    StdRow(Match(("lock_state",), ("enum",), ("lock",)), ToProperty("dhi.lock", "lock_state")),
    StdRow(Match(("pin_code",), ("composite",)), ToTrigger("dhi.lock", "@pin_code")),
    # ---- climate devices that call their system mode just `mode`
    StdRow(Match(("mode",), ("enum",), (TOP, "climate")), ToProperty("dhi.thermostat", "system_mode")),
    StdRow(Match(("fan_speed",), ("numeric",)), ToProperty("dhi.fan", "speed_level")),
    # ---- fan: `mode` of the fan expose; `speed` step
    StdRow(Match(("mode",), ("enum",), ("fan",)), ToProperty("dhi.fan", "mode")),
    StdRow(Match(("speed",), ("numeric",), ("fan",)), ToProperty("dhi.fan", "speed_level")),
    # ---- lights
    StdRow(
        Match(("brightness",), ("numeric",)),
        ToProperty("dhi.level", "level", percent_of_range()),
        note="0..value_max (254 on ZCL lights, 1000 on some Tuya dimmers) -> %",
    ),
    StdRow(
        Match(("min_brightness", "min_level"), ("numeric",)),
        ToProperty("dhi.level", "min_level", percent_of_range()),
    ),
    StdRow(
        Match(("max_brightness", "max_level"), ("numeric",)),
        ToProperty("dhi.level", "max_level", percent_of_range()),
    ),
    # ZCL ballast configuration: levels on the 1..254 light scale
    StdRow(
        Match(("ballast_minimum_level",), ("numeric",)),
        ToProperty("dhi.level", "min_level", percent_of_range(254)),
    ),
    StdRow(
        Match(("ballast_maximum_level",), ("numeric",)),
        ToProperty("dhi.level", "max_level", percent_of_range(254)),
    ),
    StdRow(
        Match(("effect_speed",), ("numeric",)),
        ToProperty("dhi.light_effect", "speed", percent_of_range(100)),
        note="0..100 without a unit",
    ),
    StdRow(
        Match(("effect_color",), ("text",)),
        ToTrigger("dhi.light_effect", "@effect_color"),
        note="the colours of set_effect",
    ),
    StdRow(Match(("gradient",), ("list",)), ToProperty("dhi.color_gradient", "colors")),
    StdRow(
        Match(("color_temp",), ("numeric",)),
        ToProperty("dhi.color_temperature", "color_temperature"),
        note="mired -> K through the unit table",
    ),
    StdRow(
        Match(("color_temp_startup",), ("numeric",)),
        ToProperty("dhi.color_temperature", "startup_color_temperature"),
        note="the preset 'previous' (65535) is null",
    ),
    StdRow(
        Match(("color_xy",), ("composite",)),
        ToFeatures("dhi.color", {"x": ("x", auto()), "y": ("y", auto())}),
    ),
    StdRow(
        Match(("color_hs",), ("composite",)),
        ToFeatures(
            "dhi.color",
            {"hue": ("hue", auto(assume_unit="°")), "saturation": ("saturation", auto(assume_unit="%"))},
        ),
    ),
    StdRow(
        Match(("color_options",), ("composite",)),
        ToFeatures("dhi.color", {"execute_if_off": ("execute_if_off", auto())}),
    ),
    StdRow(
        Match(("level_config",), ("composite",)),
        ToFeatures(
            "dhi.level",
            {
                # ZCL StartUpCurrentLevel: 0 = minimum, 255 = previous
                "current_level_startup": (
                    "startup_level",
                    percent_of_range(254, preset_map={"minimum": 0, "previous": None}),
                ),
                "on_level": ("on_level", percent_of_range(254, preset_map={"previous": None})),
                "on_off_transition_time": ("on_off_transition_time", tenths_of_second()),
                "on_transition_time": ("on_transition_time", tenths_of_second()),
                "off_transition_time": ("off_transition_time", tenths_of_second()),
                "execute_if_off": ("execute_if_off", auto()),
            },
        ),
    ),
    # ---- buttons and remotes
    StdRow(Match(("action",), ("enum", "text")), ToAction()),
    StdRow(Match(("action_group",)), ToEventField("dhi.remote_control", "group")),
    StdRow(Match(("action_rate",)), ToEventField("dhi.remote_control", "rate")),
    StdRow(Match(("action_step_size",)), ToEventField("dhi.remote_control", "step_size")),
    StdRow(Match(("action_transition_time",)), ToEventField("dhi.remote_control", "transition_time")),
    StdRow(Match(("action_scene", "action_scene_id")), ToEventField("dhi.remote_control", "scene")),
    StdRow(Match(("action_duration",)), ToEventField("dhi.button", "duration")),
    StdRow(Match(("action_code",)), ToEventField("dhi.security_keypad", "code")),
    StdRow(Match(("action_zone",)), ToEventField("dhi.security_keypad", "zone")),
    # ---- safety and care: z2m binaries are true when the condition holds
    StdRow(Match(("smoke",), ("binary",)), ToProperty("dhi.smoke_alarm", "smoke")),
    StdRow(
        Match(("smoke_density", "smoke_concentration"), ("numeric",)),
        ToProperty("dhi.smoke_alarm", "density"),
    ),
    StdRow(
        Match(("carbon_monoxide", "co_detected"), ("binary",)), ToProperty("dhi.co_alarm", "carbon_monoxide")
    ),
    StdRow(Match(("gas", "gas_detected"), ("binary",)), ToProperty("dhi.gas_leak", "gas")),
    StdRow(
        Match(("gas_value", "gas_concentration"), ("numeric",)), ToProperty("dhi.gas_leak", "concentration")
    ),
    StdRow(
        Match(("gas",), ("numeric",), check=_unit_is("%LEL", "LEL", "LEL %", "% LEL")),
        ToProperty("dhi.gas_leak", "concentration", auto(assume_unit="%", force_unit="%")),
        note="concentration as % of the lower explosive limit",
    ),
    StdRow(Match(("gas",), ("numeric",), check=_unit_is("m³", "m3")), ToProperty("dhi.gas_meter", "volume")),
    StdRow(Match(("water_leak", "leak", "leakage"), ("binary",)), ToProperty("dhi.water_leak", "water_leak")),
    StdRow(Match(("tamper",), ("binary",)), ToProperty("dhi.tamper", "tamper")),
    StdRow(Match(("sos", "emergency", "panic"), ("binary",)), ToProperty("dhi.sos", "active")),
    StdRow(
        Match(
            ("fall", "fall_down_status", "fall_state", "fall_status", "fall_detection"), ("enum", "binary")
        ),
        ToProperty(
            "dhi.fall_detection",
            "state",
            auto(
                value_map={
                    "normal": "normal",
                    "none": "normal",
                    "fall": "fallen",
                    "fall_alarm": "fallen",
                    "fall_warning": "suspected",
                    "maybe_fall": "suspected",
                    "fallen": "fallen",
                    "fall_down": "fallen",
                    "suspected": "suspected",
                    "suspected_fall": "suspected",
                    True: "fallen",
                    False: "normal",
                    "0": "normal",
                    "1": "fallen",
                }
            ),
        ),
    ),
    StdRow(
        Match(("contact",), ("binary",)),
        ToProperty("dhi.contact", "contact", raw_contact()),
        note="z2m contact is true when closed (its value_on, 'open', is false)",
    ),
    StdRow(Match(("occupancy",), ("binary",)), ToProperty("dhi.occupancy", "occupied")),
    StdRow(Match(("presence",), ("binary",)), ToProperty("dhi.presence", "presence")),
    StdRow(Match(("vibration",), ("binary",)), ToProperty("dhi.vibration", "vibration")),
    StdRow(Match(("vibration",), ("numeric",)), ToProperty("dhi.vibration", "strength")),
    StdRow(
        Match(("vibration", "vibration_sensitivity"), ("enum",)),
        ToProperty("dhi.vibration", "sensitivity"),
        note="a settable off/low/medium/high vibration is the detection sensitivity",
    ),
    StdRow(Match(("motion", "moving_target"), ("binary",)), ToProperty("dhi.motion", "motion")),
    StdRow(Match(("doorbell",), ("binary",)), ToEvent("dhi.doorbell", "pressed")),
    # ---- device
    StdRow(Match(("identify",), ("enum", "binary")), ToTrigger("dhi.identify", "@identify")),
    StdRow(Match(("warning",), ("composite",)), ToTrigger("dhi.siren", "@warning")),
    StdRow(Match(("battery",), ("numeric",)), ToProperty("dhi.battery", "percentage", auto(assume_unit="%"))),
    StdRow(Match(("battery_low",), ("binary",)), ToProperty("dhi.battery", "low")),
    StdRow(
        Match(("voltage",), ("numeric",), check=_unit_is("mV")),
        ToProperty("dhi.battery", "voltage"),
        note="z2m reports battery voltage in mV and mains voltage in V",
    ),
    StdRow(Match(("voltage",), ("numeric",), check=_unit_is_not("mV")), ToProperty("dhi.voltage", "voltage")),
    StdRow(Match(("battery_voltage",), ("numeric",)), ToProperty("dhi.battery", "voltage")),
    StdRow(Match(("temperature",), ("numeric",)), ToProperty("dhi.temperature", "temperature")),
    StdRow(Match(("humidity",), ("numeric",)), ToProperty("dhi.humidity", "humidity", auto(assume_unit="%"))),
    StdRow(
        Match(("illuminance", "illuminance_lux"), ("numeric",), check=_unit_is("lx", "lux", "Lx", "LUX")),
        ToProperty("dhi.illuminance", "illuminance"),
        note="z2m 'illuminance' without a unit is a raw sensor value, not lux",
    ),
    StdRow(
        Match(("power_outage_memory",), ("binary",)),
        ToProperty("dhi.power_on_behavior", "behavior", auto(value_map={True: "previous", False: "off"})),
    ),
    StdRow(
        Match(("power_outage_memory",), ("enum",)),
        ToProperty(
            "dhi.power_on_behavior",
            "behavior",
            auto(value_map={"restore": "previous", "on": "on", "off": "off"}),
        ),
    ),
    StdRow(
        Match(("do_not_disturb",), ("binary",)),
        ToProperty("dhi.power_on_behavior", "behavior", auto(value_map={True: "previous", False: "on"})),
    ),
    StdRow(
        Match(("relay_status",), ("enum",)),
        ToProperty(
            "dhi.power_on_behavior",
            "behavior",
            auto(
                value_map={
                    "power_on": "on",
                    "on": "on",
                    "power_off": "off",
                    "off": "off",
                    "memory": "previous",
                    "restart_memory": "previous",
                    "previous": "previous",
                }
            ),
        ),
    ),
    StdRow(
        Match(("battery_state",), ("enum",)),
        ToProperty(
            "dhi.battery",
            "charge_level",
            auto(value_map={"high": "ok", "medium": "ok", "middle": "ok", "low": "warning"}),
        ),
    ),
    StdRow(
        Match(("keypad_lockout",), ("enum", "binary")),
        ToProperty("dhi.child_lock", "keypad_lockout", keypad_levels()),
    ),
    StdRow(
        Match(("sound_volume",), ("enum",)),
        ToProperty(
            "dhi.lock",
            "sound_volume",
            auto(
                value_map={
                    "silent_mode": "silent",
                    "low_volume": "low",
                    "medium_volume": "medium",
                    "high_volume": "high",
                    "silent": "silent",
                    "low": "low",
                    "medium": "medium",
                    "high": "high",
                }
            ),
        ),
    ),
    StdRow(
        Match(("setpoint_change_source",), ("enum",)),
        ToProperty(
            "dhi.thermostat",
            "setpoint_change_source",
            auto(
                value_map={
                    "manual": "manual",
                    "schedule": "schedule",
                    "externally": "external",
                    "external": "external",
                }
            ),
        ),
    ),
    StdRow(Match(("backlight_mode",), ("binary",)), ToProperty("dhi.backlight", "on")),
    StdRow(Match(("backlight_mode",), ("enum",)), ToProperty("dhi.backlight", "mode")),
    StdRow(Match(("backlight",), ("binary",)), ToProperty("dhi.backlight", "on")),
    StdRow(
        Match(("backlight",), ("numeric",)), ToProperty("dhi.backlight", "brightness", percent_of_range())
    ),
    StdRow(
        Match(("presence_state",), ("enum",)),
        ToProperty(
            "dhi.activity",
            "activity",
            auto(
                value_map={
                    "none": "none",
                    "presence": "stationary",
                    "peaceful": "stationary",
                    "stationary": "stationary",
                    "small_movement": "small_movement",
                    "large_movement": "large_movement",
                    "motion": "large_movement",
                    "move": "large_movement",
                }
            ),
        ),
    ),
    StdRow(
        Match(("motion_state", "human_motion_state"), ("enum",)),
        ToProperty(
            "dhi.activity",
            "activity",
            auto(
                value_map={
                    "none": "none",
                    "static": "stationary",
                    "small": "small_movement",
                    "large": "large_movement",
                    "presence": "stationary",
                    "peaceful": "stationary",
                    "small_move": "small_movement",
                    "large_move": "large_movement",
                    "moving": "large_movement",
                    "stationary": "stationary",
                }
            ),
        ),
    ),
    StdRow(
        Match(("air_quality",), ("enum",)),
        ToProperty(
            "dhi.air_quality",
            "level",
            auto(
                value_map={
                    "excellent": "good",
                    "good": "fair",
                    "moderate": "moderate",
                    "poor": "poor",
                    "unhealthy": "very_poor",
                    "hazardous": "extremely_poor",
                    "out_of_range": "unknown",
                    "unknown": "unknown",
                }
            ),
        ),
    ),
    StdRow(
        Match(("temperature_alarm",), ("enum",)),
        ToProperty(
            "dhi.temperature",
            "alarm",
            auto(value_map={"lower_alarm": "low", "upper_alarm": "high", "cancel": "normal"}),
        ),
    ),
    StdRow(
        Match(("humidity_alarm",), ("enum",)),
        ToProperty(
            "dhi.humidity",
            "alarm",
            auto(value_map={"lower_alarm": "low", "upper_alarm": "high", "cancel": "normal"}),
        ),
    ),
    StdRow(
        Match(("temperature_display_mode", "temperature_unit", "temperature_unit_convert"), ("enum",)),
        ToProperty(
            "dhi.temperature_unit",
            "unit",
            auto(
                value_map={
                    "celsius": "celsius",
                    "fahrenheit": "fahrenheit",
                    "C": "celsius",
                    "F": "fahrenheit",
                    "c": "celsius",
                    "f": "fahrenheit",
                    "°C": "celsius",
                    "°F": "fahrenheit",
                }
            ),
        ),
    ),
]


# ---------------------------------------------------------------- commands


def _set(ctx: CommandCtx, member: str, value: Any) -> dict[str, Any]:
    return dict(ctx.payload_for(member, value))


def _transition(params: dict[str, Any]) -> dict[str, Any]:
    t = params.get("transition_time")
    return {"transition": t} if t is not None else {}


def _on(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return _set(ctx, "on", True)


def _off(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return _set(ctx, "on", False)


def _toggle(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return {ctx.key("on"): ctx.expose("on").value_toggle}


def _set_level(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return _set(ctx, "level", params["level"]) | _transition(params)


def _raw_level_delta(ctx: CommandCtx, percent: float) -> int:
    top = ctx.expose("level").value_max or 254
    return max(1, round(abs(percent) * top / 100))


def _step(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    delta = _raw_level_delta(ctx, params["step_size"])
    sign = 1 if params["direction"] == "up" else -1
    return {ctx.sibling_key("level", "brightness_step"): sign * delta} | _transition(params)


def _move(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    rate = _raw_level_delta(ctx, params.get("rate", 20))
    sign = 1 if params["direction"] == "up" else -1
    return {ctx.sibling_key("level", "brightness_move"): sign * rate}


def _stop(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return {ctx.sibling_key("level", "brightness_move"): "stop"}


def _set_ct(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return _set(ctx, "color_temperature", params["color_temperature"]) | _transition(params)


def _set_xy(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return ctx.merge(_set(ctx, "x", params["x"]), _set(ctx, "y", params["y"])) | _transition(params)


def _set_hs(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    out = ctx.merge(_set(ctx, "hue", params["hue"]), _set(ctx, "saturation", params["saturation"]))
    return out | _transition(params)


def _set_effect(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    out = _set(ctx, "effect", params["effect"])
    if "speed" in params and "speed" in ctx.bindings:
        out |= _set(ctx, "speed", params["speed"])
    if "colors" in params and "@effect_color" in ctx.bindings:
        # Zigbee2MQTT's effect_color takes one colour as #RRGGBB
        out[ctx.key("@effect_color")] = params["colors"][0]
    return out


def _stop_effect(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    values = [str(v) for v in ctx.expose("effect").values or []]
    for candidate in ("stop_effect", "stop", "finish_effect", "none"):
        if candidate in values:
            return {ctx.key("effect"): candidate}
    raise ctx.unsupported("this device has no effect value that stops an effect")


def _set_gradient(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    out = _set(ctx, "colors", params["colors"])
    for member in ("style", "scale", "offset"):
        if member in params:
            out |= _set(ctx, member, params[member])
    return out


def _identify(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    expose = ctx.expose("@identify")
    values = expose.values or []
    if expose.type == "binary":
        return {ctx.key("@identify"): expose.value_on}
    if "identify" in values:
        return {ctx.key("@identify"): "identify"}
    duration = params.get("duration")
    numeric = [v for v in values if str(v).isdigit()]
    if numeric:
        pick = min(numeric, key=lambda v: abs(int(v) - (duration or 30)))
        return {ctx.key("@identify"): pick}
    raise ctx.unsupported("identify expose has no usable value")


def _siren_start(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    warning: dict[str, Any] = {"mode": params.get("mode", "emergency")}
    if "volume" in params:
        warning["level"] = params["volume"]
    if "strobe" in params:
        warning["strobe"] = bool(params["strobe"])
    if "duration" in params:
        warning["duration"] = params["duration"]
    return {ctx.key("@warning"): warning}


def _siren_stop(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return {ctx.key("@warning"): {"mode": "stop", "strobe": False, "duration": 0}}


def _cover(command: str) -> Callable[[CommandCtx, dict[str, Any]], dict[str, Any]]:
    def build(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
        return {ctx.key("@cover_state"): command}

    return build


def _cover_position(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return _set(ctx, "position", params["position"])


def _cover_tilt(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return _set(ctx, "tilt", params["tilt"])


def _lock(which: str) -> Callable[[CommandCtx, dict[str, Any]], dict[str, Any]]:
    def build(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
        expose = ctx.expose("@lock_state")
        out: dict[str, Any] = {
            ctx.key("@lock_state"): expose.value_on if which == "lock" else expose.value_off
        }
        if params.get("pin_code") is not None:
            out["pin_code"] = params["pin_code"]
        return out

    return build


def _set_pin(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"user": params["user"], "pin_code": params.get("pin_code")}
    if "user_type" in params:
        body["user_type"] = params["user_type"]
    if "enabled" in params:
        body["user_enabled"] = params["enabled"]
    return {ctx.key("@pin_code"): body}


def _clear_pin(ctx: CommandCtx, params: dict[str, Any]) -> dict[str, Any]:
    return {ctx.key("@pin_code"): {"user": params["user"], "pin_code": None}}


COMMAND_ROWS: list[CommandRow] = [
    CommandRow("dhi.on_off", "on", ("on",), _on),
    CommandRow("dhi.on_off", "off", ("on",), _off),
    CommandRow("dhi.on_off", "toggle", ("on",), _toggle, needs_toggle=True),
    CommandRow("dhi.level", "set_level", ("level",), _set_level),
    CommandRow("dhi.level", "step", ("level",), _step),
    CommandRow("dhi.level", "move", ("level",), _move),
    CommandRow("dhi.level", "stop", ("level",), _stop),
    CommandRow("dhi.color_temperature", "set_color_temperature", ("color_temperature",), _set_ct),
    CommandRow("dhi.color", "set_xy", ("x", "y"), _set_xy),
    CommandRow("dhi.color", "set_hs", ("hue", "saturation"), _set_hs),
    CommandRow(
        "dhi.light_effect", "set_effect", ("effect",), _set_effect, optional=("speed", "@effect_color")
    ),
    CommandRow("dhi.light_effect", "stop_effect", ("effect",), _stop_effect),
    CommandRow("dhi.color_gradient", "set_gradient", ("colors",), _set_gradient),
    CommandRow("dhi.identify", "identify", ("@identify",), _identify),
    CommandRow("dhi.siren", "start", ("@warning",), _siren_start),
    CommandRow("dhi.siren", "stop", ("@warning",), _siren_stop),
    CommandRow("dhi.window_covering", "open", ("@cover_state",), _cover("OPEN")),
    CommandRow("dhi.window_covering", "close", ("@cover_state",), _cover("CLOSE")),
    CommandRow("dhi.window_covering", "stop", ("@cover_state",), _cover("STOP")),
    CommandRow("dhi.window_covering", "set_position", ("position",), _cover_position),
    CommandRow("dhi.window_covering", "set_tilt", ("tilt",), _cover_tilt),
    CommandRow("dhi.lock", "lock", ("@lock_state",), _lock("lock")),
    CommandRow("dhi.lock", "unlock", ("@lock_state",), _lock("unlock")),
    CommandRow("dhi.lock", "set_pin_code", ("@pin_code",), _set_pin),
    CommandRow("dhi.lock", "clear_pin_code", ("@pin_code",), _clear_pin),
]


# ---------------------------------------------------------------- events from state changes


def _rising(
    event: str, payload: dict[str, Any] | None = None, cleared: str | None = "cleared"
) -> TransitionRow:
    return TransitionRow(on_true=(event, payload or {}), on_false=(cleared, {}) if cleared else None)


#: A boolean becoming true (after false or unknown) raises the event; back to false clears it.
TRANSITION_ROWS: list[TransitionRow] = [
    _rising("alarm", {"severity": "critical"}).at("dhi.smoke_alarm", "smoke"),
    _rising("alarm", {"severity": "critical"}).at("dhi.co_alarm", "carbon_monoxide"),
    _rising("alarm", {"severity": "critical"}).at("dhi.gas_leak", "gas"),
    _rising("alarm").at("dhi.water_leak", "water_leak"),
    _rising("tampered").at("dhi.tamper", "tamper"),
    _rising("pressed", {"kind": "sos"}, cleared=None).at("dhi.sos", "active"),
    _rising("low_battery", cleared=None).at("dhi.battery", "low"),
    _rising("vibration_detected", cleared=None).at("dhi.vibration", "vibration"),
    _rising("motion_detected", cleared=None).at("dhi.motion", "motion"),
    TransitionRow(
        values={
            "fallen": ("fall_detected", {"confidence": "confirmed"}),
            "suspected": ("fall_detected", {"confidence": "suspected"}),
            "normal": ("cleared", {}),
        }
    ).at("dhi.fall_detection", "state"),
]
