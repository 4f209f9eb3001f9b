"""Test helpers for the Zigbee2MQTT adapter: the recorded ``bridge/devices`` list.

Unit tests drive the adapter through ``tests.support.recording.RecordingContext``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Z2M_FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "z2m"
DEVICES_FIXTURE = Z2M_FIXTURES / "matterbridge-zigbee2mqtt_bridge-devices.json"


def load_devices() -> list[dict[str, Any]]:
    data = json.loads(DEVICES_FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data
