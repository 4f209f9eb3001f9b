"""A simulated Shelly Gen2 device on a test peer, driven by a real recorded device dump."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.support.mosquitto import MqttPeer, PeerMessage

PLUS_1PM = "device_dumps/gen2_Shelly Plus 1PM_SNSW-001P16EU_20231219-133934-1.1.0-g34b5d4f.json"


def load_dump(shared_fixtures: Path, name: str = PLUS_1PM) -> dict[str, Any]:
    dump: dict[str, Any] = json.loads((shared_fixtures / "shelly" / name).read_text(encoding="utf-8"))
    return dump


def notify_status(component: str, status: Any, ts: float = 1707326940.0) -> dict[str, Any]:
    """A NotifyStatus frame built by wrapping a GetStatus component (fixtures README)."""
    return {"src": "shellyplus1pm-aabbccddeeff", "dst": "shellyplus1pm-aabbccddeeff/events",
            "method": "NotifyStatus", "params": {"ts": ts, component: status}}  # fmt: skip


class SimulatedShelly:
    """Answers JSON-RPC on ``<prefix>/rpc`` from the dump; Switch.Set/Toggle change the output
    and send NotifyStatus, as the firmware does."""

    def __init__(self, peer: MqttPeer, prefix: str, dump: dict[str, Any]) -> None:
        self.peer = peer
        self.prefix = prefix
        self.info = dump["shelly"]
        self.config = dump["config"]
        self.status = copy.deepcopy(dump["status"])
        self.calls: list[dict[str, Any]] = []

    def start(self) -> None:
        self.peer.on(f"{self.prefix}/rpc", self._on_rpc)
        self.peer.publish(f"{self.prefix}/online", "true", retain=True)
        # like the firmware: announce 'online' again after every reconnect to the broker
        self.peer.after_connect(lambda: self.peer.publish_async(f"{self.prefix}/online", "true", retain=True))

    def notify(self, frame: dict[str, Any]) -> None:
        self.peer.publish(f"{self.prefix}/events/rpc", frame)

    def _reply(self, req: dict[str, Any], body: dict[str, Any]) -> None:
        frame = {"id": req["id"], "src": self.info["id"], "dst": req["src"], **body}
        self.peer.publish_async(f"{req['src']}/rpc", json.dumps(frame))

    def _on_rpc(self, msg: PeerMessage) -> None:
        req = json.loads(msg.payload)
        self.calls.append(req)
        method, params = req["method"], req.get("params", {})
        fixed = {
            "Shelly.GetDeviceInfo": self.info,
            "Shelly.GetConfig": self.config,
            "Shelly.GetStatus": self.status,
        }
        if method in fixed:
            self._reply(req, {"result": fixed[method]})
            return
        if method in ("Switch.Set", "Switch.Toggle"):
            key = f"switch:{params.get('id')}"
            if key not in self.status:
                self._reply(
                    req,
                    {
                        "error": {
                            "code": -105,
                            "message": f"Argument 'id', value {params.get('id')} not found!",
                        }
                    },
                )
                return
            was = self.status[key]["output"]
            self.status[key]["output"] = params["on"] if method == "Switch.Set" else not was
            self._reply(req, {"result": {"was_on": was}})
            frame = notify_status(key, {"id": params["id"], "output": self.status[key]["output"]})
            self.peer.publish_async(f"{self.prefix}/events/rpc", json.dumps(frame))
            return
        self._reply(req, {"error": {"code": 404, "message": f"No handler for {method}"}})
