"""The mutation table of the conformance suite: for every MUST rule of the DHI-MQTT binding
(``adapters/dhi_mqtt/BINDING.md``, rules ``R12.<s>-<n>``), how to break it in the reference
device (the example smoke alarm, which passes every case).

Each mutant breaks the rules it names and nothing else; ``test_mutation.py`` runs them all
against a real Mosquitto and asserts that each fails exactly the cases citing those rules
(``conformance.registry.citing``). Rules no mutant can break from one device are ``GAPS``,
each with the reason. ``python -m tests.conformance.mutants`` writes the table into
``conformance/README.md`` (a test keeps it current).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from examples.vendor_device import Refused, SmokeAlarm
from examples.vendor_device.device import FIELD_TYPES, REQUEST_KEYS, Capability, Prop
from examples.vendor_device.model import SMOKE_ALARM, Product

REPO = Path(__file__).resolve().parents[2]
BINDING = REPO / "adapters" / "dhi_mqtt" / "BINDING.md"
README = REPO / "conformance" / "README.md"
RULE = re.compile(r"\*\*(R12(?:\.\d+)*-\d+)\*\*")


class Reference(SmokeAlarm):
    """The correct device every mutant starts from."""


def reporting(capability: str, values: dict[str, Any]) -> Product:
    """The reference product whose ``capability`` starts with (and so reports) ``values``."""
    p = SMOKE_ALARM
    return Product(p.manufacturer, p.model, p.firmware, p.capabilities, {**p.initial, capability: values})


# ---------------------------------------------------------------- §12.1 broker and session


class NoWill(Reference):
    use_will = False


class WillNotRetained(Reference):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.will_set(f"{self.base}/avail", "offline", qos=1, retain=False)


class WillQos0(Reference):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.will_set(f"{self.base}/avail", "offline", qos=0, retain=True)


class WillSaysDead(Reference):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.will_set(f"{self.base}/avail", "dead", qos=1, retain=True)


class StateQos0(Reference):
    def publish(self, suffix: str, doc: dict[str, Any], *, retain: bool = False) -> None:
        qos = 0 if suffix.startswith("state/") else 1
        self.client.publish(f"{self.base}/{suffix}", self.encode(doc), qos=qos, retain=retain)


class DescNotRetained(Reference):
    def publish(self, suffix: str, doc: dict[str, Any], *, retain: bool = False) -> None:
        super().publish(suffix, doc, retain=retain and suffix != "desc")


class ResultRetained(Reference):
    def publish(self, suffix: str, doc: dict[str, Any], *, retain: bool = False) -> None:
        super().publish(suffix, doc, retain=retain or suffix == "cmd/result")


class _Connects(Reference):
    """``_on_connect`` spelled out, so a mutant can leave one step out after a reconnect."""

    resubscribe = True
    online_again = True
    avail_payload = "online"
    avail_retained = True

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        again = self.connected.is_set()
        if not again or self.resubscribe:
            client.subscribe(f"{self.base}/cmd", qos=1)
        self.publish("desc", self.description(), retain=True)
        with self.lock:
            for cap in self.product.capabilities:
                self.publish_state(cap, self.state[cap.id])
        if not again or self.online_again:
            client.publish(f"{self.base}/avail", self.avail_payload, qos=1, retain=self.avail_retained)
        self.connected.set()


class NoResubscribe(_Connects):
    resubscribe = False


class NotOnlineAgain(_Connects):
    online_again = False


class AvailCapitalised(_Connects):
    avail_payload = "Online"


class AvailNotRetained(_Connects):
    avail_retained = False


# ---------------------------------------------------------------- §12.2 topics and payloads


class BatteryNan(Reference):
    allow_nan = True
    product = reporting("dhi.battery", {"percentage": float("nan"), "low": False})


class _StateTimed(Reference):
    stamp = ""

    def publish_state(self, cap: Capability, values: dict[str, Any]) -> None:
        doc = {"component": self.component, "capability": cap.id, "properties": values, "time": self.stamp}
        self.publish(f"state/{self.component}/{cap.id}", doc, retain=self.retain_state)


class EpochTime(_StateTimed):
    stamp = "1772352900"  # an epoch number in a string


class CompactOffset(_StateTimed):
    stamp = "2026-03-01T16:15:00+0800"  # ISO 8601 basic offset, not RFC 3339


class OkWithError(Reference):
    def answer(
        self, request_id: str, error: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> None:
        if error:
            return super().answer(request_id, error, result)
        self.publish(
            "cmd/result", {"id": request_id, "status": "ok", "error": {"code": "none", "message": ""}}
        )
        return None


class HugeBattery(Reference):
    def encode(self, doc: dict[str, Any]) -> bytes:
        raw = super().encode(doc)
        # whitespace keeps it valid JSON and schema-valid: only its size is wrong
        return raw + b" " * 70_000 if doc.get("capability") == "dhi.battery" else raw


class FloodsState(Reference):
    def run(self, cap: Capability, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        result = super().run(cap, command, params)
        if command == "set":
            for _ in range(150):  # re-reports the same state in a tight loop
                self.publish_state(cap, self.state[cap.id])
        return result


# ---------------------------------------------------------------- §12.3 device to hub


class WrongDescId(Reference):
    def description(self) -> dict[str, Any]:
        return {**super().description(), "id": "dhi:hall-lamp"}


class ListsUnknownMember(Reference):
    def description(self) -> dict[str, Any]:
        desc = super().description()
        desc["components"][0]["capabilities"][0]["properties"].append("colour")
        return desc


def _with_siren_unit(unit: str) -> Product:
    from examples.vendor_device.model import siren_definition

    caps = tuple(
        Capability(c.id, c.props, c.commands, c.events, siren_definition(unit))
        if c.id == "x.acme.siren"
        else c
        for c in SMOKE_ALARM.capabilities
    )
    return Product(
        SMOKE_ALARM.manufacturer, SMOKE_ALARM.model, SMOKE_ALARM.firmware, caps, SMOKE_ALARM.initial
    )


class NonUcumUnit(Reference):
    product = _with_siren_unit("dB")  # the DHI unit is dB[SPL]


class StateNotRetained(Reference):
    retain_state = False


class StateOtherComponent(Reference):
    def publish_state(self, cap: Capability, values: dict[str, Any]) -> None:
        component = "base" if cap.id == "dhi.battery" else self.component
        doc = {"component": component, "capability": cap.id, "properties": values}
        self.publish(f"state/{self.component}/{cap.id}", doc, retain=self.retain_state)


class LowAsText(Reference):
    product = reporting("dhi.battery", {"percentage": 87.0, "low": "no"})


class ReportsUndeclared(Reference):
    product = reporting("dhi.smoke_alarm", {**SMOKE_ALARM.initial["dhi.smoke_alarm"], "density": 0.0})


class BatteryPerMille(Reference):
    product = reporting("dhi.battery", {"percentage": 870, "low": False})


class SetNotReported(Reference):
    def run(self, cap: Capability, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if command == "set":
            with self.lock:
                self.state[cap.id].update(params)  # done, but never told
            return None
        return super().run(cap, command, params)


class BadEventPayload(Reference):
    def self_test_result(self) -> dict[str, Any]:
        return {"result": "ok"}  # the catalog's payload is {"passed": bool}


class UndeclaredEvent(Reference):
    def finish_self_test(self, cap: Capability) -> None:
        self.update(cap, {"test_in_progress": False})
        self.publish_event(cap, "self_test_done", self.self_test_result())


# ---------------------------------------------------------------- §12.4 commands


class AnyDevice(Reference):
    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        return super().check({k: v for k, v in req.items() if k != "device"})


class IgnoresTimeout(Reference):
    field_types = {k: v for k, v in FIELD_TYPES.items() if k != "timeout"}


class NoOkResult(Reference):
    def answer(
        self, request_id: str, error: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> None:
        if error:  # only failures are reported; successes are swallowed
            super().answer(request_id, error, result)


class AnswersTwiceLate(Reference):
    def answer(
        self, request_id: str, error: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> None:
        super().answer(request_id, error, result)
        threading.Timer(1.2, super().answer, args=(request_id, error, result)).start()


class AlwaysUnsupported(Reference):
    def run(self, cap: Capability, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if command != "self_test":  # the safety self-test still works; everything else "not now"
            raise Refused("unsupported", "not now")
        return super().run(cap, command, params)


class RefusesValidSet(Reference):
    def check_set(self, cap: Capability, params: dict[str, Any]) -> None:
        super().check_set(cap, params)
        if cap.id == "dhi.indicator_light":
            raise Refused("invalid_params", "the LED cannot be set", "params")


class AnswersGarbage(Reference):
    def _on_cmd(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            json.loads(msg.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            error = {"code": "invalid_params", "message": "not JSON"}
            self.publish("cmd/result", {"id": "invalid-request", "status": "error", "error": error})
            return
        super()._on_cmd(client, userdata, msg)


class KeepsUnknownKeys(Reference):
    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        return super().check({k: v for k, v in req.items() if k in REQUEST_KEYS})


class GuessesCapability(Reference):
    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        return super().check({"capability": self.product.capabilities[0].id, **req})


class IgnoresComponent(Reference):
    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        return super().check({**req, "component": self.component})


class UnknownCapabilityUnsupported(Reference):
    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        if isinstance(req.get("capability"), str) and self.product.capability(req["capability"]) is None:
            raise Refused("unsupported", "not here", "capability")
        return super().check(req)


class UnknownCommandUnsupported(Reference):
    def check(self, req: dict[str, Any]) -> tuple[Capability, str, dict[str, Any]]:
        cap = self.product.capability(req.get("capability", ""))
        if cap is not None and req.get("command") not in (*cap.commands, "set"):
            raise Refused("unsupported", "cannot do that", "command")
        return super().check(req)


class SkipsUnknownProperties(Reference):
    def check_set(self, cap: Capability, params: dict[str, Any]) -> None:
        known = {k: v for k, v in params.items() if cap.prop(k) is not None}
        if known or not params:
            super().check_set(cap, known)

    def run(self, cap: Capability, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        return super().run(cap, command, {k: v for k, v in params.items() if cap.prop(k) is not None})


class UndeclaredUnsupported(Reference):
    """The firmware knows the LED's other catalog properties, but the description leaves them out."""

    def check_set(self, cap: Capability, params: dict[str, Any]) -> None:
        if cap.id == "dhi.indicator_light" and set(params) - {"on"}:
            raise Refused("unsupported", "this model's LED can only be switched")
        super().check_set(cap, params)


class WritesReadOnly(Reference):
    def check_set(self, cap: Capability, params: dict[str, Any]) -> None:
        super().check_set(
            Capability(cap.id, tuple(Prop(**{**p.__dict__, "writable": True}) for p in cap.props)), params
        )


class EmptySetOk(Reference):
    def check_set(self, cap: Capability, params: dict[str, Any]) -> None:
        if params:
            super().check_set(cap, params)


class WrongTypeOutOfRange(Reference):
    def check_value(self, prop: Prop, value: Any, field: str) -> None:
        try:
            super().check_value(prop, value, field)
        except Refused as refused:
            if refused.error["code"] == "invalid_params":
                raise Refused("out_of_range", str(refused), field) from None
            raise


class WrongRangeCode(Reference):
    def check_value(self, prop: Prop, value: Any, field: str) -> None:
        # the firmware's own bounds check first, with the wrong code
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and prop.maximum is not None and value > prop.maximum:
            raise Refused("invalid_params", "too high", field)
        super().check_value(prop, value, field)


class NoStepCheck(Reference):
    def check_value(self, prop: Prop, value: Any, field: str) -> None:
        super().check_value(Prop(**{**prop.__dict__, "step": None}), value, field)


class AnswersBadIds(Reference):
    def _on_cmd(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        req = json.loads(msg.payload)
        if isinstance(req, dict) and isinstance(req.get("id"), str) and " " in req["id"]:
            self.answer(req["id"], {"code": "invalid_params", "message": "bad id", "field": "id"})
            return
        super()._on_cmd(client, userdata, msg)


class AnswersLatestId(Reference):
    """Answers from one worker slot that holds the id of the request received last."""

    def answer(
        self, request_id: str, error: dict[str, Any] | None = None, result: dict[str, Any] | None = None
    ) -> None:
        threading.Timer(0.2, lambda: super(AnswersLatestId, self).answer(self.latest, error, result)).start()

    def _on_cmd(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.latest = json.loads(msg.payload)["id"]
        super()._on_cmd(client, userdata, msg)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Mutant:
    rules: tuple[str, ...]  # what it breaks; it must fail exactly the cases citing these
    name: str
    device: type[Reference]
    fuzz_examples: int = 0  # > 0 when a cited case is in the fuzz tier


MUTANTS: tuple[Mutant, ...] = (
    Mutant(("R12.1-2",), "no Last Will", NoWill),
    Mutant(("R12.1-2",), "Last Will not retained", WillNotRetained),
    Mutant(("R12.1-2", "R12.1-3"), "Last Will at QoS 0", WillQos0),
    Mutant(("R12.1-2", "R12.3.4-1"), "Last Will says 'dead'", WillSaysDead),
    Mutant(("R12.1-3",), "state published at QoS 0", StateQos0),
    Mutant(("R12.1-4",), "description not retained", DescNotRetained),
    Mutant(("R12.1-5",), "command results retained", ResultRetained),
    Mutant(("R12.1-6",), "no re-subscription to …/cmd after a reconnect", NoResubscribe),
    Mutant(("R12.1-6",), "no 'online' after a reconnect", NotOnlineAgain),
    Mutant(("R12.2-1",), "NaN in a state report", BatteryNan),
    Mutant(("R12.2-2",), "epoch number as a state time", EpochTime),
    Mutant(("R12.2-2",), "'+0800' offset in state times", CompactOffset),
    Mutant(("R12.2-2",), "ok result carrying an error object", OkWithError),
    Mutant(("R12.2-3",), "a 70 kB state report", HugeBattery),
    Mutant(("R12.2-4",), "150 state reports per set", FloodsState),
    Mutant(("R12.3.1-1",), "description id names another device", WrongDescId),
    Mutant(("R12.3.1-2",), "description lists a member the capability lacks", ListsUnknownMember),
    Mutant(("R12.3.1-3",), "vendor unit not UCUM", NonUcumUnit),
    Mutant(("R12.3.2-1",), "state not retained", StateNotRetained),
    Mutant(("R12.3.2-2",), "state payload names another component", StateOtherComponent),
    Mutant(("R12.3.2-3",), "boolean reported as text", LowAsText),
    Mutant(("R12.3.2-3",), "undeclared property reported", ReportsUndeclared),
    Mutant(("R12.3.2-4",), "battery in per mille", BatteryPerMille),
    Mutant(("R12.3.2-5",), "a set changes nothing the hub sees", SetNotReported),
    Mutant(("R12.3.3-1",), "event payload not the catalog's", BadEventPayload),
    Mutant(("R12.3.3-1",), "event the description does not declare", UndeclaredEvent),
    Mutant(("R12.3.4-1", "R12.3.4-2"), "availability 'Online'", AvailCapitalised),
    Mutant(("R12.3.4-2",), "availability not retained", AvailNotRetained),
    Mutant(("R12.4.1-1",), "'device' naming another device accepted", AnyDevice),
    Mutant(("R12.4.1-2", "R12.4.3-4"), "timeout never checked", IgnoresTimeout, fuzz_examples=60),
    Mutant(("R12.4.2-1",), "successes never answered", NoOkResult),
    Mutant(("R12.4.2-2",), "every answer repeated 1.2 s later", AnswersTwiceLate),
    Mutant(("R12.4.2-3",), "every valid request but the self-test 'unsupported'", AlwaysUnsupported),
    Mutant(("R12.4.2-3",), "a valid set refused invalid_params", RefusesValidSet),
    Mutant(("R12.4.3-1",), "garbage answered with an error", AnswersGarbage, fuzz_examples=15),
    Mutant(("R12.4.3-2",), "unknown keys ignored", KeepsUnknownKeys),
    Mutant(("R12.4.3-3",), "missing capability guessed", GuessesCapability),
    Mutant(("R12.4.3-5",), "component ignored", IgnoresComponent),
    Mutant(("R12.4.3-6",), "unknown capability answered unsupported", UnknownCapabilityUnsupported),
    Mutant(("R12.4.3-7",), "unknown command answered unsupported", UnknownCommandUnsupported),
    Mutant(("R12.4.3-8", "R12.4.3-14"), "unknown and undeclared properties skipped", SkipsUnknownProperties),
    Mutant(("R12.4.3-9",), "read-only property written", WritesReadOnly),
    Mutant(("R12.4.3-10",), "empty set answered ok", EmptySetOk),
    Mutant(("R12.4.3-11",), "wrong type answered out_of_range", WrongTypeOutOfRange),
    Mutant(("R12.4.3-12",), "out of range answered invalid_params", WrongRangeCode),
    # answering means publishing the bad id in a result, which its schema forbids
    Mutant(("R12.4.3-13", "R12.2-2"), "pattern-breaking id answered", AnswersBadIds),
    Mutant(("R12.4.3-14",), "undeclared catalog property answered unsupported", UndeclaredUnsupported),
    Mutant(("R12.4.3-15",), "step grid not checked", NoStepCheck),
    Mutant(("R12.5-1", "R12.4.2-2"), "answers carry the latest request's id", AnswersLatestId),
)

#: MUST rules no mutant breaks, and why
GAPS: dict[str, str] = {
    "R12.1-1": "a unique client id is a property of the fleet on one broker: a single device cannot break it "
    "observably (a second device with the same id would be the test of the broker, not of the device)",
}


def binding_rules() -> list[str]:
    """Every numbered rule of BINDING.md, in document order."""
    return list(dict.fromkeys(RULE.findall(BINDING.read_text(encoding="utf-8"))))


# ---------------------------------------------------------------- the README section

BEGIN = "<!-- BEGIN mutation table: generated by `python -m tests.conformance.mutants` -->"
END = "<!-- END mutation table -->"


def render() -> str:
    from conformance.registry import citing

    rules = binding_rules()
    covered = {r for m in MUTANTS for r in m.rules}
    lines = [
        BEGIN,
        "",
        f"**Kill ratio: {len(MUTANTS)} of {len(MUTANTS)} mutants killed (100 %)** — each fails exactly the",
        "cases that cite the rules it breaks (`tests/conformance/test_mutation.py` asserts it on every",
        f"`make test`). {len(covered)} of the binding's {len(rules)} MUST rules have a mutant; "
        f"{len(GAPS)} {'is a gap' if len(GAPS) == 1 else 'are gaps'} (below).",
        "",
        "| rule | mutant (one defect in the reference device) | cases that must fail |",
        "|---|---|---|",
    ]
    for m in sorted(MUTANTS, key=lambda m: rules.index(m.rules[0])):
        cases = sorted(set().union(*(citing(r) for r in m.rules)))
        lines.append(f"| {', '.join(m.rules)} | {m.name} | {', '.join(f'`{c}`' for c in cases)} |")
    lines += ["", "Rules without a mutant:", ""]
    lines += [f"- **{rule}**: {why}" for rule, why in GAPS.items()]
    lines += ["", END]
    return "\n".join(lines)


def update_readme(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + render() + tail


if __name__ == "__main__":
    README.write_text(update_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the mutation table into {README}", file=sys.stderr)
