"""A simulated DHI-native device (what a vendor implements per BINDING.md), on a test peer."""

from __future__ import annotations

import json
from typing import Any

from tests.support.mosquitto import MqttPeer, PeerMessage


def description(native: str = "lamp-1", scheme: str = "dhi") -> dict[str, Any]:
    return {
        "dhi_version": "1.0",
        "id": f"{scheme}:{native}",
        "name": "Hall lamp",
        "manufacturer": "Acme",
        "model": "L1",
        "components": [
            {
                "id": "main",
                "capabilities": [
                    {"id": "dhi.on_off"},
                    {"id": "dhi.level", "properties": ["level"], "commands": ["set_level"]},
                ],
            },
            {"id": "sensor", "capabilities": [{"id": "dhi.temperature", "properties": ["temperature"]}]},
            {
                "id": "button",
                "capabilities": [
                    {"id": "dhi.button", "events": ["pressed", "long_pressed"]},
                    {
                        "id": "x.acme.glow",
                        "definition": {
                            "id": "x.acme.glow",
                            "category": "vendor",
                            "label": {"en": "Glow", "zh-CN": "辉光"},
                            "description": {"en": "Night glow ring", "zh-CN": "夜光环"},
                            "properties": [
                                {
                                    "name": "glow",
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 3,
                                    "access": ["read", "write", "notify"],
                                }
                            ],
                        },
                    },
                ],
            },
        ],
    }


class SimulatedDevice:
    """Answers ``cmd`` like a conforming device: applies on/off/set_level/set and reports."""

    def __init__(self, peer: MqttPeer, base: str, native: str = "lamp-1", *, answer: bool = True) -> None:
        self.peer = peer
        self.root = f"{base}/{native}"
        self.native = native
        self.answer = answer
        self.on = False
        self.level = 0.0
        self.requests: list[dict[str, Any]] = []

    def announce(self) -> None:
        self.peer.publish(f"{self.root}/desc", description(self.native), retain=True)
        self.publish_state("main", "dhi.on_off", {"on": self.on})
        self.peer.publish(f"{self.root}/avail", "online", retain=True)
        self.peer.on(f"{self.root}/cmd", self._on_cmd)

    def publish_state(
        self, component: str, capability: str, props: dict[str, Any], *, inside: bool = False
    ) -> None:
        body = json.dumps({"component": component, "capability": capability, "properties": props})
        topic = f"{self.root}/state/{component}/{capability}"
        if inside:
            self.peer.publish_async(topic, body, retain=True)
        else:
            self.peer.publish(topic, body, retain=True)

    def _on_cmd(self, msg: PeerMessage) -> None:
        req = json.loads(msg.payload)
        self.requests.append(req)
        if not self.answer:
            return
        result: dict[str, Any] = {"id": req["id"], "status": "ok"}
        cap, command, params = req["capability"], req["command"], req.get("params", {})
        if (cap, command) == ("dhi.on_off", "on"):
            self.on = True
        elif (cap, command) == ("dhi.on_off", "off"):
            self.on = False
        elif (cap, command) == ("dhi.level", "set_level"):
            if not 0 <= params.get("level", -1) <= 100:
                result = {"id": req["id"], "status": "error", "error": {
                    "code": "out_of_range", "message": "level must be 0..100", "field": "params.level", "expected": "0..100 %"}}  # fmt: skip
            else:
                self.level = params["level"]
        else:
            result = {"id": req["id"], "status": "error", "error": {
                "code": "unknown_command", "message": f"{cap} has no command {command}", "field": "command"}}  # fmt: skip
        if result["status"] == "ok":
            self.publish_state("main", "dhi.on_off", {"on": self.on}, inside=True)
            if cap == "dhi.level":
                self.publish_state("main", "dhi.level", {"level": self.level}, inside=True)
        self.peer.publish_async(f"{self.root}/cmd/result", json.dumps(result))
