"""AVAIL cases: the retained availability, the Last Will and reconnection (§12.3.4, §12.1).

To see the Last Will the suite must make the device vanish without a clean disconnect. It
connects with the device's own client id (``--client-id``): the broker then drops the
device's connection as a session take-over and publishes the device's Will, exactly as when
the device loses power. The device is expected to reconnect and come back online.
"""

from __future__ import annotations

from conformance.device.cases_cmd import probe
from conformance.device.context import DeviceContext
from conformance.outcome import Failed, Warned, passed, require
from conformance.registry import Phase, case
from dhi.models.conformance import Evidence, TargetKind

DEVICE = TargetKind.DEVICE
AVAILABILITY = ("online", "offline")
_TAKEN = "takeover_mark"


@case("DHI-AVAIL-1.1", "The retained availability is exactly 'online' while the device runs",
      section="§12.3.4", target=DEVICE, phase=Phase.OBSERVE)  # fmt: skip
async def online_retained(ctx: DeviceContext) -> Evidence:
    seen = ctx.session.retained("avail")
    require(seen is not None, "no retained …/avail", expected="online (retained)", got=None)
    assert seen is not None
    require(seen.payload == b"online", "the retained availability is not 'online'", expected="online",
            got=seen.shown())  # fmt: skip
    return passed("avail = online (retained)")


async def _take_over(ctx: DeviceContext) -> int:
    """Drop the device's connection once per run; returns the seq before the take-over."""
    if _TAKEN in ctx.notes:
        return int(ctx.notes[_TAKEN])
    client_id = ctx.options.client_id
    if not client_id:
        raise Warned("not verified: pass the device's MQTT client id (--client-id) so the suite can drop "
                     "its connection")  # fmt: skip
    mark = ctx.session.last_seq
    ctx.notes[_TAKEN] = mark
    ctx.notes["takeover_at"] = ctx.session.now()
    if not await ctx.session.take_over(client_id, ctx.options.answer_timeout):
        raise Failed(f"could not connect as client id {client_id!r} to drop the device's connection")
    return mark


@case("DHI-AVAIL-1.2", "When the device vanishes, its Last Will publishes 'offline' on …/avail",
      section="§12.3.4", target=DEVICE, phase=Phase.DISRUPT)  # fmt: skip
async def last_will(ctx: DeviceContext) -> Evidence:
    mark = await _take_over(ctx)
    seen = await ctx.session.wait(lambda m: m.sub == "avail" and m.payload == b"offline", ctx.options.answer_timeout,
                                  after=mark)  # fmt: skip
    require(seen is not None, "the broker published no 'offline' when the device's connection was dropped: "
            "no Last Will registered", expected="Last Will: …/avail = offline, QoS 1, retained",
            got=[m.shown() for m in ctx.session.messages if m.seq > mark and m.sub == "avail"])  # fmt: skip
    return passed("Last Will 'offline' published on take-over")


@case("DHI-AVAIL-1.3", "After losing its connection the device reconnects, is 'online' and answers commands",
      section="§12.1", target=DEVICE, phase=Phase.DISRUPT)  # fmt: skip
async def reconnects(ctx: DeviceContext) -> Evidence:
    mark = await _take_over(ctx)
    timeout = ctx.options.reconnect_timeout
    back = await ctx.session.wait(lambda m: m.sub == "avail" and m.payload == b"online", timeout, after=mark)
    require(back is not None, f"the device did not publish 'online' again within {timeout:g} s",
            expected="…/avail = online after reconnecting")  # fmt: skip
    answer = await probe(ctx)
    require(answer.result is not None, "back online but not subscribed to …/cmd again: a command got no answer",
            sent=answer.sent, expected="a cmd/result")  # fmt: skip
    assert back is not None
    took = back.at - float(ctx.notes.get("takeover_at", back.at))
    return passed(f"online again after {took:.1f} s and answering commands")


@case("DHI-AVAIL-1.4", "Every availability payload is exactly 'online' or 'offline'", section="§12.3.4",
      target=DEVICE, phase=Phase.SWEEP)  # fmt: skip
async def avail_payloads(ctx: DeviceContext) -> Evidence:
    seen = [m for m in ctx.session.messages if m.sub == "avail"]
    bad = [m.shown() for m in seen if m.payload.decode("utf-8", "replace") not in AVAILABILITY]
    require(
        not bad, "availability payloads other than online/offline", expected=list(AVAILABILITY), got=bad[:5]
    )
    return passed(f"{len(seen)} availability messages")
