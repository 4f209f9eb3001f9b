"""Simulated Zigbee2MQTT devices: ``bridge/devices`` entries in Zigbee2MQTT's format, written
here (not copied) so the benchmark runs on a fresh clone without the shared fixtures.

A climate sensor (battery, temperature, humidity) is the background population; a smoke
detector is what the alert scenario triggers. Each device ``i`` gets its own IEEE address and
friendly name, and so its own state topic ``<base>/<friendly name>``.
"""

from __future__ import annotations

from typing import Any

BASE_TOPIC = "zigbee2mqtt"

_CLIMATE_EXPOSES: list[dict[str, Any]] = [
    {"type": "numeric", "name": "battery", "property": "battery", "access": 1, "unit": "%",
     "value_min": 0, "value_max": 100, "category": "diagnostic", "label": "Battery"},
    {"type": "numeric", "name": "temperature", "property": "temperature", "access": 1, "unit": "°C",
     "label": "Temperature"},
    {"type": "numeric", "name": "humidity", "property": "humidity", "access": 1, "unit": "%",
     "label": "Humidity"},
]  # fmt: skip

_SMOKE_EXPOSES: list[dict[str, Any]] = [
    {"type": "binary", "name": "smoke", "property": "smoke", "access": 1, "value_on": True,
     "value_off": False, "label": "Smoke"},
    {"type": "numeric", "name": "battery", "property": "battery", "access": 1, "unit": "%",
     "value_min": 0, "value_max": 100, "category": "diagnostic", "label": "Battery"},
]  # fmt: skip


def _entry(
    ieee: str, name: str, model: str, description: str, exposes: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "ieee_address": ieee,
        "friendly_name": name,
        "type": "EndDevice",
        "network_address": int(ieee[-4:], 16),
        "supported": True,
        "disabled": False,
        "interview_completed": True,
        "interviewing": False,
        "power_source": "Battery",
        "manufacturer": "BenchCo",
        "model_id": model,
        "definition": {"model": model, "vendor": "BenchCo", "description": description,
                       "exposes": exposes, "options": [], "supports_ota": False},
    }  # fmt: skip


def climate_name(i: int) -> str:
    return f"climate-{i:05d}"


def smoke_name(i: int) -> str:
    return f"smoke-{i:04d}"


def climate_sensor(i: int) -> dict[str, Any]:
    return _entry(f"0x00b3c710{i:08x}", climate_name(i), "BENCH-TH1", "Temperature and humidity sensor",
                  _CLIMATE_EXPOSES)  # fmt: skip


def smoke_detector(i: int) -> dict[str, Any]:
    return _entry(f"0x00b3c750{i:08x}", smoke_name(i), "BENCH-SD1", "Smoke detector", _SMOKE_EXPOSES)


def bridge_devices(climate: int, smoke: int = 0) -> list[dict[str, Any]]:
    return [climate_sensor(i) for i in range(climate)] + [smoke_detector(i) for i in range(smoke)]


def device_id(entry: dict[str, Any], instance: str = BASE_TOPIC) -> str:
    return f"{instance}:{entry['ieee_address']}"
