"""MSG and EVT-1.2 cases: every message the device published during the whole run."""

from __future__ import annotations

from typing import Any

from adapters.sdk.mqtt import PayloadError, decode_json_object
from conformance.device.context import DeviceContext
from conformance.outcome import passed, require
from conformance.registry import Phase, case
from conformance.schemas import schema_problems
from dhi.models.conformance import Evidence, TargetKind
from dhi.models.limits import RATE_BURST, RATE_LIMITED, RATE_PER_SECOND, TokenBucket, payload_limit

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


def kind_of(sub: str) -> str:
    """The topic kind of the limits table: ``desc``, ``state``, ``event``, ``avail``, ``cmd/result``."""
    return "state" if sub.startswith("state/") else sub


@case("DHI-MSG-1.1", "Every payload is one UTF-8 JSON object (RFC 8259: no NaN, no comments)",
      section="§12.2", target=DEVICE, phase=Phase.SWEEP, rules=("R12.2-1",))  # fmt: skip
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
    require(not bad, f"R12.2-1: {len(bad)} payload(s) are not JSON objects, e.g. {bad[0]['topic']}: "
            f"{bad[0]['reason']}" if bad else "", expected="RFC 8259 JSON object", got=bad[:5])  # fmt: skip
    return passed(f"R12.2-1: {len(msgs)} JSON payloads parsed as RFC 8259 objects")


@case("DHI-MSG-1.2", "Every payload validates against its DHI JSON Schema, formats (RFC 3339 times) included",
      section="§12.2", target=DEVICE, phase=Phase.SWEEP, rules=("R12.2-2",))  # fmt: skip
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
    require(not bad, f"R12.2-2: {len(bad)} payload(s) invalid, e.g. {bad[0]['topic']}: {bad[0]['problems'][0]}"
            if bad else "", expected="valid per spec/interface/schemas (formats checked)", got=bad[:5])  # fmt: skip
    return passed(f"R12.2-2: {checked} payloads valid against their schemas, formats included")


@case("DHI-MSG-1.3", "The device publishes with QoS 1", section="§12.1", target=DEVICE, phase=Phase.SWEEP,
      rules=("R12.1-3",))  # fmt: skip
async def qos_one(ctx: DeviceContext) -> Evidence:
    msgs = ctx.session.device_messages()
    low = sorted({m.sub for m in msgs if m.qos < 1})
    require(not low, "R12.1-3: published with QoS 0 on " + ", ".join(low), expected="QoS 1", got=low)
    return passed(f"R12.1-3: {len(msgs)} messages, all at QoS 1")


@case("DHI-MSG-1.4", "No payload exceeds its size limit (desc 256 KiB, others 64 KiB)", section="§12.2",
      target=DEVICE, phase=Phase.SWEEP, rules=("R12.2-3",))  # fmt: skip
async def payload_sizes(ctx: DeviceContext) -> Evidence:
    msgs = ctx.session.device_messages()
    big = [
        {"topic": m.topic, "bytes": len(m.payload), "limit": payload_limit(kind_of(m.sub))}
        for m in msgs
        if len(m.payload) > payload_limit(kind_of(m.sub))
    ]
    require(not big, f"R12.2-3: {len(big)} payload(s) over the limit, e.g. {big[0]['topic']}: {big[0]['bytes']} "
            f"bytes > {big[0]['limit']}; the hub rejects them unread" if big else "",
            expected="desc ≤ 256 KiB, every other payload ≤ 64 KiB", got=big[:5])  # fmt: skip
    largest = max((len(m.payload) for m in msgs), default=0)
    return passed(f"R12.2-3: {len(msgs)} payloads within their limits (largest {largest} bytes)")


@case("DHI-MSG-1.5", "State and event messages stay within the rate limit (burst 100, then 10 per second)",
      section="§12.2", target=DEVICE, phase=Phase.SWEEP, rules=("R12.2-4",))  # fmt: skip
async def message_rate(ctx: DeviceContext) -> Evidence:
    bucket = TokenBucket()
    counted = [m for m in ctx.session.device_messages() if kind_of(m.sub) in RATE_LIMITED and not m.retain]
    dropped = [m for m in counted if not bucket.take(m.at)]
    require(not dropped, f"R12.2-4: {len(dropped)} of {len(counted)} state/event messages came faster than the "
            f"limit allows; the hub would drop them (first: {dropped[0].topic})" if dropped else "",
            expected=f"a burst of {RATE_BURST}, then ≤ {RATE_PER_SECOND:g} per second",
            got=[m.topic for m in dropped[:5]])  # fmt: skip
    return passed(f"R12.2-4: {len(counted)} live state/event messages within the rate limit")


@case("DHI-EVT-1.2", "Events and command results are not retained", section="§12.1",
      target=DEVICE, phase=Phase.SWEEP, rules=("R12.1-5",))  # fmt: skip
async def not_retained(ctx: DeviceContext) -> Evidence:
    stored = [
        *await ctx.session.fresh_retained("event", 0.3),
        *await ctx.session.fresh_retained("cmd/result", 0.3),
    ]
    require(not stored, "R12.1-5: the broker holds retained " + ", ".join(sorted({m.sub for m in stored})) +
            ": every new subscriber would see it happen again", expected="no retained event or cmd/result",
            got=[{"topic": m.topic, "payload": m.shown()} for m in stored])  # fmt: skip
    return passed("R12.1-5: the broker holds no retained event or cmd/result")
