"""DHI commands -> Zigbee2MQTT /set payloads (the reverse converters)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.zigbee2mqtt.commands import build_set_payload
from adapters.zigbee2mqtt.exposes import BridgeDevice
from adapters.zigbee2mqtt.mapping import DeviceMap, map_device
from dhi.catalog import default_catalog
from dhi.errors import HubError
from dhi.models import CommandRequest
from tests.adapters.zigbee2mqtt.support import load_devices


def device(name: str) -> DeviceMap:
    entry = next(d for d in load_devices() if d.get("friendly_name") == name)
    return map_device(BridgeDevice.model_validate(entry), default_catalog())


def payload(
    dev: DeviceMap,
    capability: str,
    command: str,
    params: dict[str, Any] | None = None,
    component: str = "main",
) -> dict[str, Any]:
    cmd = CommandRequest(
        id="c1",
        device=dev.device_id,
        component=component,
        capability=capability,
        command=command,
        params=params or {},
    )
    return build_set_payload(dev, cmd, default_catalog())


def error_code(
    dev: DeviceMap,
    capability: str,
    command: str,
    params: dict[str, Any] | None = None,
    component: str = "main",
) -> str:
    with pytest.raises(HubError) as info:
        payload(dev, capability, command, params, component)
    return info.value.code


LIGHT = "Gledopto RGBCTT light I"


def test_on_off_toggle() -> None:
    light = device(LIGHT)
    assert payload(light, "dhi.on_off", "on") == {"state": "ON"}
    assert payload(light, "dhi.on_off", "off") == {"state": "OFF"}
    assert payload(light, "dhi.on_off", "toggle") == {"state": "TOGGLE"}
    assert payload(light, "dhi.on_off", "set", {"on": True}) == {"state": "ON"}


def test_level_and_colour_use_the_reverse_converters() -> None:
    light = device(LIGHT)
    assert payload(light, "dhi.level", "set", {"level": 50}) == {"brightness": 127}
    assert payload(light, "dhi.level", "set_level", {"level": 100, "transition_time": 2}) == {
        "brightness": 254,
        "transition": 2,
    }
    assert payload(light, "dhi.color_temperature", "set_color_temperature", {"color_temperature": 4000}) == {
        "color_temp": 250
    }
    assert payload(light, "dhi.color", "set_xy", {"x": 0.3, "y": 0.4}) == {"color": {"x": 0.3, "y": 0.4}}
    assert payload(light, "dhi.color", "set_hs", {"hue": 120, "saturation": 50}) == {
        "color": {"hue": 120, "saturation": 50}
    }
    assert payload(light, "dhi.level", "step", {"direction": "down", "step_size": 10}) == {
        "brightness_step": -25
    }
    assert payload(light, "dhi.level", "stop") == {"brightness_move": "stop"}


def test_endpoint_components_address_suffixed_keys() -> None:
    relay = device("Aqara Dual relay module T2")
    assert payload(relay, "dhi.on_off", "on", component="l2") == {"state_l2": "ON"}
    dimmer = device("Moes dimmer double")
    assert payload(dimmer, "dhi.level", "move", {"direction": "up", "rate": 10}, component="l1") == {
        "brightness_move_l1": 25  # 10 %/s of a 0..254 level
    }


def test_vendor_property_is_settable_with_type_and_range() -> None:
    sensor = device("Light sensor")  # GZCGQ11LM: detection_period 1..59 s, access 7
    assert payload(sensor, "x.zigbee2mqtt.detection_period", "set", {"detection_period": 30}) == {
        "detection_period": 30
    }
    assert (
        error_code(sensor, "x.zigbee2mqtt.detection_period", "set", {"detection_period": 60})
        == "out_of_range"
    )
    assert (
        error_code(sensor, "x.zigbee2mqtt.detection_period", "set", {"detection_period": "x"})
        == "invalid_params"
    )


def test_refusals_have_precise_codes() -> None:
    climate = device("Climate sensor")
    light = device(LIGHT)
    assert error_code(climate, "dhi.temperature", "set", {"temperature": 20}) == "not_writable"
    assert error_code(light, "dhi.on_off", "set", {"brightness": 3}) == "unknown_property"
    assert error_code(light, "dhi.on_off", "set", {}) == "invalid_params"
    assert error_code(light, "dhi.level", "set", {"level": 101}) == "out_of_range"
    assert error_code(light, "dhi.smoke_alarm", "set", {"smoke": True}) == "unknown_capability"
    assert error_code(light, "dhi.on_off", "on", component="l9") == "unknown_component"
    assert error_code(light, "dhi.on_off", "fly") == "unknown_command"
    assert error_code(light, "dhi.level", "set_level", {"level": "high"}) == "invalid_params"


def test_window_covering_commands() -> None:
    shutter = device("Window shutter")
    assert payload(shutter, "dhi.window_covering", "open") == {"state": "OPEN"}
    assert payload(shutter, "dhi.window_covering", "stop") == {"state": "STOP"}
    assert payload(shutter, "dhi.window_covering", "set_position", {"position": 40}) == {"position": 40}
