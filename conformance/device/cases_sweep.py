"""MSG and EVT-1.2 cases: every message the device published during the whole run."""

from __future__ import annotations

from typing import Any

from adapters.sdk.mqtt import PayloadError, decode_json_object
from conformance.device.context import DeviceContext
from conformance.outcome import passed, require
from conformance.registry import Phase, case
from conformance.schemas import schema_problems
from dhi.models.conformance import Evidence, TargetKind

DEVICE = TargetKind.DEVICE


def schema_of(sub: str) -> str | None:
    if sub == "desc":
        return "device"
    if sub.startswith("state/"):
        return "state"
    return {"event": "event", "cmd/result": "command-result"}.get(sub)


def _json_messages(ctx: DeviceContext) -> list[tuple[str, bytes, str]]:
    """(topic, payload, schema) of every JSON message from the device; empty desc/state are removals."""
    return [
        (m.topic, m.payload, name)
        for m in ctx.session.device_messages()
        if (name := schema_of(m.sub)) is not None and m.payload
    ]


@case("DHI-MSG-1.1", "Every payload is one UTF-8 JSON object (RFC 8259: no NaN, no comments)",
      section="§12.2", target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def strict_json(ctx: DeviceContext) -> Evidence:
    msgs = _json_messages(ctx)
    bad = []
    for topic, payload, _ in msgs:
        try:
            decode_json_object(payload)
        except PayloadError as exc:
            bad.append(
                {"topic": topic, "reason": str(exc), "payload": payload[:300].decode("utf-8", "replace")}
            )
    require(not bad, f"{len(bad)} payload(s) are not JSON objects: {bad[0]['reason']}" if bad else "",
            expected="RFC 8259 JSON object", got=bad[:5])  # fmt: skip
    return passed(f"{len(msgs)} JSON payloads parsed")


@case("DHI-MSG-1.2", "Every payload validates against its DHI JSON Schema", section="§7",
      target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def schema_valid(ctx: DeviceContext) -> Evidence:
    checked, bad = 0, list[dict[str, Any]]()
    for topic, payload, name in _json_messages(ctx):
        try:
            doc = decode_json_object(payload)
        except PayloadError:
            continue  # DHI-MSG-1.1
        checked += 1
        problems = schema_problems(doc, name)
        if problems:
            bad.append(
                {"topic": topic, "schema": f"{name}.schema.json", "problems": problems, "payload": doc}
            )
    require(not bad, f"{len(bad)} payload(s) invalid, e.g. {bad[0]['topic']}: {bad[0]['problems'][0]}" if bad
            else "", expected="valid per spec/interface/schemas", got=bad[:5])  # fmt: skip
    return passed(f"{checked} payloads valid")


@case("DHI-MSG-1.3", "The device publishes with QoS 1", section="§12.1", target=DEVICE, phase=Phase.SWEEP)
async def qos_one(ctx: DeviceContext) -> Evidence:
    msgs = ctx.session.device_messages()
    low = sorted({m.sub for m in msgs if m.qos < 1})
    require(not low, "published with QoS 0: " + ", ".join(low), expected="QoS 1", got=low)
    return passed(f"{len(msgs)} messages at QoS 1")


@case("DHI-EVT-1.2", "Events and command results are not retained", section="§12.2",
      target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def not_retained(ctx: DeviceContext) -> Evidence:
    stored = [
        *await ctx.session.fresh_retained("event", 0.3),
        *await ctx.session.fresh_retained("cmd/result", 0.3),
    ]
    require(not stored, "the broker holds retained " + ", ".join(sorted({m.sub for m in stored})) +
            ": every new subscriber would see it happen again", expected="no retained event or cmd/result",
            got=[{"topic": m.topic, "payload": m.shown()} for m in stored])  # fmt: skip
    return passed("no retained events or results")
