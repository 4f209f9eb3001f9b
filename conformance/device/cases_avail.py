"""AVAIL cases: the retained availability, the Last Will and reconnection (§12.3.4, §12.1).

To see the Last Will the suite must make the device vanish without a clean disconnect. It
connects with the device's own client id (``--client-id``): the broker then drops the
device's connection as a session take-over and publishes the device's Will, exactly as when
the device loses power. The device is expected to reconnect and come back online.
"""

from __future__ import annotations

from conformance.device.cases_cmd import probe
from conformance.device.context import DeviceContext
from conformance.device.session import Will
from conformance.outcome import Errored, Warned, passed, require
from conformance.registry import Phase, case
from dhi.models.conformance import Evidence, TargetKind

DEVICE = TargetKind.DEVICE
AVAILABILITY = ("online", "offline")
_TAKEN = "takeover_mark"


@case("DHI-AVAIL-1.1", "The retained availability is exactly 'online' while the device runs",
      section="§12.3.4", target=DEVICE, phase=Phase.OBSERVE, rules=("R12.3.4-2",))  # fmt: skip
async def online_retained(ctx: DeviceContext) -> Evidence:
    seen = ctx.session.retained("avail")
    live = ctx.session.latest("avail")
    require(seen is not None, "R12.3.4-2: the broker holds no retained …/avail while the device runs",
            expected="online (retained)", got="a live, not retained, …/avail" if live else "nothing")  # fmt: skip
    assert seen is not None
    require(seen.payload == b"online", f"R12.3.4-1/2: the retained availability is {seen.shown()!r}, not 'online'",
            expected="online", got=seen.shown())  # fmt: skip
    return passed("R12.3.4-2: the broker holds avail = 'online' (retained)")


async def _take_over(ctx: DeviceContext) -> int:
    """Drop the device's connection once per run; returns the seq before the take-over (the
    Will the broker published is kept in ``ctx.notes['will']``)."""
    if _TAKEN in ctx.notes:
        return int(ctx.notes[_TAKEN])
    client_id = ctx.options.client_id
    if not client_id:
        raise Warned("not verified: pass the device's MQTT client id (--client-id) so the suite can drop "
                     "its connection")  # fmt: skip
    mark = ctx.session.last_seq
    ctx.notes[_TAKEN] = mark
    ctx.notes["takeover_at"] = ctx.session.now()
    will = await ctx.session.take_over(client_id, ctx.options.answer_timeout)
    if will is None:
        raise Errored(f"could not connect as client id {client_id!r} to drop the device's connection")
    ctx.notes["will"] = will
    return mark


@case("DHI-AVAIL-1.2", "When the device vanishes, its Last Will publishes 'offline' on …/avail, QoS 1, retained",
      section="§12.1", target=DEVICE, phase=Phase.DISRUPT, rules=("R12.1-2",))  # fmt: skip
async def last_will(ctx: DeviceContext) -> Evidence:
    await _take_over(ctx)
    will: Will = ctx.notes["will"]
    expected = "Last Will: …/avail = offline, QoS 1, retained"
    got = None if will.payload is None else {"payload": will.payload.decode("utf-8", "backslashreplace"),
                                             "qos": will.qos, "retained": will.retain}  # fmt: skip
    require(will.payload is not None, "R12.1-2: the broker published nothing on …/avail when the device's "
            "connection was dropped: no Last Will registered", expected=expected, got=got)  # fmt: skip
    wrong = [
        what
        for what, bad in (
            (f"its payload is {got and got['payload']!r}, not 'offline'", will.payload != b"offline"),
            ("it is not retained: a hub subscribing later still sees 'online'", not will.retain),
            (f"it came with QoS {will.qos}, not 1", will.qos != 1),
        )
        if bad
    ]
    require(not wrong, "R12.1-2: the Last Will is wrong: " + "; ".join(wrong), expected=expected, got=got)
    return passed("R12.1-2: Last Will 'offline' published on take-over, QoS 1, retained", got=got)


@case("DHI-AVAIL-1.3", "After losing its connection the device reconnects, is 'online' and answers commands",
      section="§12.1", target=DEVICE, phase=Phase.DISRUPT, rules=("R12.1-6",))  # fmt: skip
async def reconnects(ctx: DeviceContext) -> Evidence:
    mark = await _take_over(ctx)
    timeout = ctx.options.reconnect_timeout
    back = await ctx.session.wait(lambda m: m.sub == "avail" and m.payload == b"online", timeout, after=mark)
    require(back is not None, f"R12.1-6: the device did not publish 'online' again within {timeout:g} s of "
            "losing its connection", expected="…/avail = online after reconnecting")  # fmt: skip
    answer = await probe(ctx)
    require(answer.result is not None, "R12.1-6: back online but not subscribed to …/cmd again: a command got "
            "no answer", sent=answer.sent, expected="a cmd/result")  # fmt: skip
    assert back is not None
    took = back.at - float(ctx.notes.get("takeover_at", back.at))
    return passed(f"R12.1-6: online again after {took:.1f} s and answering commands")


@case("DHI-AVAIL-1.4", "Every availability payload is exactly 'online' or 'offline'", section="§12.3.4",
      target=DEVICE, phase=Phase.SWEEP, rules=("R12.3.4-1",))  # fmt: skip
async def avail_payloads(ctx: DeviceContext) -> Evidence:
    seen = [m for m in ctx.session.messages if m.sub == "avail"]
    bad = [m.shown() for m in seen if m.payload.decode("utf-8", "replace") not in AVAILABILITY]
    require(not bad, f"R12.3.4-1: {len(bad)} availability payload(s) other than online/offline, e.g. {bad[0]!r}"
            if bad else "", expected=list(AVAILABILITY), got=bad[:5])  # fmt: skip
    return passed(f"R12.3.4-1: {len(seen)} availability payloads, each 'online' or 'offline'")
