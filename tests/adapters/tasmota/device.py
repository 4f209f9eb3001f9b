"""A simulated Tasmota device on a test peer: retained discovery, LWT, answers on stat/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.mosquitto import MqttPeer, PeerMessage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tasmota"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class SimulatedTasmota:
    def __init__(self, peer: MqttPeer, name: str) -> None:
        self.peer = peer
        self.config = fixture(f"{name}.config.json")
        self.sensors = fixture(f"{name}.sensors.json")
        self.t = self.config["t"]
        self.mac = self.config["mac"]
        self.power = {i + 1: False for i, kind in enumerate(self.config["rl"]) if kind}
        self.dimmer = 50
        self.commands: list[tuple[str, str]] = []

    @staticmethod
    def will(name: str) -> tuple[str, str]:
        return (f"tele/{fixture(f'{name}.config.json')['t']}/LWT", "Offline")

    def start(self) -> None:
        self.peer.on(f"cmnd/{self.t}/+", self._on_command)
        self.peer.publish(f"tele/{self.t}/LWT", "Online", retain=True)
        self.peer.publish(f"tasmota/discovery/{self.mac}/config", self.config, retain=True)
        self.peer.publish(f"tasmota/discovery/{self.mac}/sensors", self.sensors, retain=True)

    def publish(self, suffix: str, body: dict[str, Any]) -> None:
        kind, rest = suffix.split("/", 1)
        self.peer.publish(f"{kind}/{self.t}/{rest}", body)

    def _result(self, body: dict[str, Any]) -> None:
        self.peer.publish_async(f"stat/{self.t}/RESULT", json.dumps(body))

    def _on_command(self, msg: PeerMessage) -> None:
        command, payload = msg.topic.rsplit("/", 1)[-1], msg.text()
        self.commands.append((command, payload))
        upper = command.upper()
        if upper.startswith("POWER"):
            n = int(upper[5:] or 1)
            if n not in self.power:
                self._result({"Command": "Unknown"})
                return
            self.power[n] = {"ON": True, "OFF": False, "TOGGLE": not self.power[n]}[payload.upper()]
            key = f"POWER{n}" if len(self.power) > 1 else "POWER"
            state = "ON" if self.power[n] else "OFF"
            self._result({key: state})
            self.peer.publish_async(f"stat/{self.t}/{key}", state)
        elif upper in ("DIMMER", "DIMMER3"):  # Dimmer3: a Tuya MCU dimmer, reported as Dimmer
            self.dimmer = int(payload)
            self._result({"POWER": "ON", "Dimmer": self.dimmer})
        elif upper in ("DIMMER1", "DIMMER2", "CT", "FANSPEED") or upper.startswith("CHANNEL"):
            # the answer names the command as Tasmota spells it (Dimmer1, Channel3, FanSpeed)
            key = {"CT": "CT", "FANSPEED": "FanSpeed"}.get(upper, command[:1].upper() + command[1:].lower())
            self._result({key: int(payload)})
        elif upper.startswith("SHUTTERPOSITION"):
            n = upper.removeprefix("SHUTTERPOSITION") or "1"
            target = int(payload)
            self._result({f"Shutter{n}": {"Position": target, "Direction": 0, "Target": target, "Tilt": 0}})
        else:
            self._result({"Command": "Unknown"})
