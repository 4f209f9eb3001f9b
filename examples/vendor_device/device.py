"""A DHI-MQTT device as a vendor writes it: paho-mqtt, JSON, and the firmware's own tables.

``VendorDevice`` implements BINDING.md: Last Will, retained ``desc``/``state``/``avail``,
``cmd`` → checks in the order of §4.3 → new state → ``cmd/result``. ``SmokeAlarm`` and
``SmartPlug`` are the two products. Everything runs on paho's network thread.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from examples.vendor_device.model import SMART_PLUG, SMOKE_ALARM, Capability, Product, Prop

COMMAND_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
REQUEST_KEYS = {"id", "device", "component", "capability", "command", "params", "timeout"}
REQUIRED = ("id", "capability", "command")
#: key -> (JSON type name, check) for the request's own fields
FIELD_TYPES: dict[str, tuple[str, Any]] = {
    "device": ("string", lambda v: isinstance(v, str)),
    "component": ("string", lambda v: isinstance(v, str)),
    "capability": ("string", lambda v: isinstance(v, str)),
    "command": ("string", lambda v: isinstance(v, str)),
    "params": ("object", lambda v: isinstance(v, dict)),
    "timeout": (
        "number in (0, 300]",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 300,
    ),
}


class Refused(Exception):
    def __init__(
        self, code: str, message: str, field: str | None = None, expected: str | None = None
    ) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message}
        if field is not None:
            self.error["field"] = field
        if expected is not None:
            self.error["expected"] = expected


class VendorDevice:
    product: Product
    component = "main"
    #: what a firmware variant may get wrong is kept in attributes like these
    retain_state = True
    use_will = True
    allow_nan = False
    range_error_code = "out_of_range"
    field_types = FIELD_TYPES

    def __init__(
        self, broker_url: str, device: str, *, home: str = "home", client_id: str | None = None
    ) -> None:
        url = urlsplit(broker_url)
        self.host, self.port = url.hostname or "localhost", url.port or 1883
        self.device = device
        self.base = f"dhi/v1/{home}/{device}"
        self.client_id = client_id or f"acme-{device}"
        self.state = {cap: dict(values) for cap, values in self.product.initial.items()}
        self.lock = threading.RLock()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv311
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        if self.use_will:
            self.client.will_set(f"{self.base}/avail", "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.message_callback_add(f"{self.base}/cmd", self._on_cmd)
        self.connected = threading.Event()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> VendorDevice:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise RuntimeError(f"{self.device}: cannot reach the broker at {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        """Going down on purpose: say so, then disconnect cleanly."""
        self.client.publish(f"{self.base}/avail", "offline", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> VendorDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        # BINDING §5: desc → state → avail online, after subscribing to cmd (every (re)connect)
        client.subscribe(f"{self.base}/cmd", qos=1)
        self.publish("desc", self.description(), retain=True)
        with self.lock:
            for cap in self.product.capabilities:
                self.publish_state(cap, self.state[cap.id])
        client.publish(f"{self.base}/avail", "online", qos=1, retain=True)
        self.connected.set()

    # ------------------------------------------------------------ publishing
    def description(self) -> dict[str, Any]:
        p = self.product
        return {
            "dhi_version": "1.0",
            "id": f"dhi:{self.device}",
            "name": f"{p.manufacturer} {p.model}",
            "manufacturer": p.manufacturer,
            "model": p.model,
            "firmware": p.firmware,
            "components": [{"id": self.component, "capabilities": [c.describe() for c in p.capabilities]}],
        }

    def encode(self, doc: dict[str, Any]) -> bytes:
        return json.dumps(doc, allow_nan=self.allow_nan).encode()

    def publish(self, suffix: str, doc: dict[str, Any], *, retain: bool = False) -> None:
        self.client.publish(f"{self.base}/{suffix}", self.encode(doc), qos=1, retain=retain)

    def publish_state(self, cap: Capability, values: dict[str, Any]) -> None:
        doc = {"component": self.component, "capability": cap.id, "properties": values}
        self.publish(f"state/{self.component}/{cap.id}", doc, retain=self.retain_state)

    def publish_event(self, cap: Capability, event: str, payload: dict[str, Any]) -> None:
        self.publish(
            "event", {"component": self.component, "capability": cap.id, "event": event, "payload": payload}
        )

    def update(self, cap: Capability, values: dict[str, Any]) -> None:
        with self.lock:
            self.state[cap.id].update(values)
            self.publish_state(cap, self.state[cap.id])

    def answer(
        self, request_id: str, error: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> None:
        doc: dict[str, Any] = {"id": request_id, "status": "error" if error else "ok"}
        if error:
            doc["error"] = error
        if result:
            doc["result"] = result
        self.publish("cmd/result", doc)

    # ------------------------------------------------------------ commands
    def _on_cmd(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            req = json.loads(msg.payload.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError):
            return  # no id can be read: BINDING §4.3 says drop it
        if not isinstance(req, dict) or not isinstance(req.get("id"), str) or not COMMAND_ID.match(req["id"]):
            return
        try:
            cap, command, params = self.check(req)
            result = self.run(cap, command, params)
        except Refused as refused:
            self.answer(req["id"], refused.error)
            return
        self.answer(req["id"], result=result)

    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        """BINDING §4.3, in order: shape, component, capability, command, parameters."""
        for key in req:
            if key not in REQUEST_KEYS:
                raise Refused("invalid_params", f"unknown key {key!r}", key)
        for key in REQUIRED:
            if key not in req:
                raise Refused("invalid_params", f"{key!r} is missing", key)
        for key, (kind, ok) in self.field_types.items():
            if key in req and not ok(req[key]):
                raise Refused("invalid_params", f"{key} must be a {kind}", key, kind)
        if req.get("device") not in (None, f"dhi:{self.device}"):
            raise Refused("invalid_params", "this request is for another device", "device")
        if req.get("component", "main") != self.component:
            raise Refused(
                "unknown_component", f"no component {req['component']!r}", "component", self.component
            )
        cap = self.product.capability(req["capability"])
        if cap is None:
            raise Refused("unknown_capability", f"no capability {req['capability']!r}", "capability")
        command, params = req["command"], req.get("params", {})
        if command == "set" and cap.writable:
            self.check_set(cap, params)
        elif command in cap.commands:
            for name in params:  # none of our commands takes parameters
                raise Refused("invalid_params", f"{command} takes no parameter {name!r}", f"params.{name}")
        else:
            raise Refused("unknown_command", f"{cap.id} has no command {command!r}", "command")
        return cap, command, params

    def check_set(self, cap: Capability, params: dict[str, Any]) -> None:
        if not params:
            raise Refused("invalid_params", "set needs at least one property", "params")
        for name, value in params.items():
            field = f"params.{name}"
            prop = cap.prop(name)
            if prop is None:
                raise Refused("unknown_property", f"{cap.id} has no property {name!r}", field)
            if not prop.writable:
                raise Refused("not_writable", f"{name} is read-only", field)
            self.check_value(prop, value, field)

    def is_integer(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def check_value(self, prop: Prop, value: Any, field: str) -> None:
        if value is None and prop.nullable:
            return
        kinds = {
            "boolean": isinstance(value, bool),
            "integer": self.is_integer(value),
            "number": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
            "enum": isinstance(value, str),
        }
        if not kinds[prop.type]:
            raise Refused("invalid_params", f"{prop.name} must be {prop.type}", field, prop.type)
        if prop.type == "enum" and value not in prop.enum:
            raise Refused(self.range_error_code, f"{value!r} is not allowed", field, ", ".join(prop.enum))
        if prop.type in ("integer", "number"):
            lo, hi = prop.minimum, prop.maximum
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise Refused(self.range_error_code, f"{value} is outside {lo}..{hi}", field, f"{lo}..{hi}")
            if prop.step and ((value - (lo or 0)) / prop.step) % 1:
                raise Refused(self.range_error_code, f"{value} is not a multiple of {prop.step}", field)

    def run(self, cap: Capability, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if command == "set":
            self.update(cap, params)
            return None
        handler = getattr(self, f"do_{command}")
        result: dict[str, Any] | None = handler(cap)
        return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class SmokeAlarm(VendorDevice):
    product = SMOKE_ALARM
    self_test_seconds = 0.2

    def do_self_test(self, cap: Capability) -> None:
        if self.state[cap.id]["test_in_progress"]:
            raise Refused("unsupported", "a self-test is already running")
        self.update(cap, {"test_in_progress": True})
        threading.Timer(self.self_test_seconds, self.finish_self_test, args=(cap,)).start()

    def finish_self_test(self, cap: Capability) -> None:
        self.update(cap, {"test_in_progress": False})
        self.publish_event(cap, "self_test_complete", self.self_test_result())

    def self_test_result(self) -> dict[str, Any]:
        return {"passed": True}

    def do_mute(self, cap: Capability) -> None:
        # with no alarm sounding there is nothing to silence: done, nothing changes (answering
        # "unsupported" every time the alarm is quiet would make mute look unoffered, R12.4.2-3)
        if self.state[cap.id]["smoke"]:
            self.update(cap, {"muted": True})

    def detect_smoke(self, smoke: bool) -> None:
        """The sensor side: a hazard starts or ends."""
        cap = self.product.capabilities[0]
        self.update(cap, {"smoke": smoke, "muted": False} if smoke else {"smoke": False})
        self.publish_event(cap, "alarm" if smoke else "cleared", {"severity": "critical"} if smoke else {})


class SmartPlug(VendorDevice):
    product = SMART_PLUG
    watts_when_on = 42.0

    def on_changed(self, on: bool) -> None:
        power = self.product.capability("dhi.power")
        assert power is not None
        self.update(power, {"power": self.watts_when_on if on else 0.0})

    def run(self, cap: Capability, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        result = super().run(cap, command, params)
        if cap.id == "dhi.on_off":
            self.on_changed(bool(self.state["dhi.on_off"]["on"]))
        return result

    def do_on(self, cap: Capability) -> None:
        self.update(cap, {"on": True})

    def do_off(self, cap: Capability) -> None:
        self.update(cap, {"on": False})

    def do_toggle(self, cap: Capability) -> None:
        self.update(cap, {"on": not self.state[cap.id]["on"]})

    def do_reset(self, cap: Capability) -> None:
        self.update(cap, {"energy": 0.0})


PRODUCTS: dict[str, type[VendorDevice]] = {"smoke_alarm": SmokeAlarm, "smart_plug": SmartPlug}
