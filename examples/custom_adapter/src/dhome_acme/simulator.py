"""A simulated Acme gateway: the devices of a dump, whose attributes change when written."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]

DEMO = {
    "gateway": "acme-gw-demo",
    "devices": [
        {
            "uid": "bulb-1",
            "kind": "bulb",
            "name": "Demo bulb",
            "attrs": {"power": "OFF", "bright": 127, "ct": 370},
        },
        {
            "uid": "clima-1",
            "kind": "climate",
            "name": "Demo climate sensor",
            "attrs": {"temp_c10": 215, "rh": 45, "batt": 90},
        },
    ],
}


class AcmeSimulator:
    def __init__(self, dump: dict[str, Any]) -> None:
        self.devices = {d["uid"]: copy.deepcopy(d) for d in dump["devices"]}
        self._listeners: list[Listener] = []

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def write(self, uid: str, attrs: dict[str, Any]) -> None:
        """What the real gateway's ``PATCH /api/devices/<uid>`` does: apply, then notify."""
        self.devices[uid]["attrs"].update(attrs)
        if "power" in attrs and "watts" in self.devices[uid]["attrs"]:
            self.devices[uid]["attrs"]["watts"] = 1800.0 if attrs["power"] == "ON" else 0.0
        for listener in self._listeners:
            listener(uid, dict(self.devices[uid]["attrs"]))
