"""A simulated Homie 5 device on a test peer: retained $description/$state/values, obeys /set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.mosquitto import MqttPeer, PeerMessage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "homie"


def description(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"{name}.description.json").read_text(encoding="utf-8"))
    return doc


class SimulatedHomie:
    def __init__(self, peer: MqttPeer, device: str, values: dict[str, str]) -> None:
        self.peer = peer
        self.device = device
        self.root = f"homie/5/{device}"
        self.values = dict(values)  # "<node>/<property>" -> payload
        self.sets: list[tuple[str, str]] = []

    @staticmethod
    def will(device: str) -> tuple[str, str]:
        return (f"homie/5/{device}/$state", "lost")

    def start(self) -> None:
        self.peer.on(f"{self.root}/+/+/set", self._on_set)
        self.peer.publish(f"{self.root}/$state", "init", retain=True)
        self.peer.publish(f"{self.root}/$description", description(self.device), retain=True)
        for path, payload in self.values.items():
            self.peer.publish(f"{self.root}/{path}", payload, retain=True)
        self.peer.publish(f"{self.root}/$state", "ready", retain=True)

    def report(self, path: str, payload: str) -> None:
        self.values[path] = payload
        self.peer.publish(f"{self.root}/{path}", payload, retain=True)

    def _on_set(self, msg: PeerMessage) -> None:
        path = msg.topic.removeprefix(self.root + "/").removesuffix("/set")
        self.sets.append((path, msg.text()))
        self.values[path] = msg.text()
        self.peer.publish_async(f"{self.root}/{path}", msg.text(), retain=True)  # confirm: the new state
