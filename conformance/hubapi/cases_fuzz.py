"""FUZZ cases of the hub target: generated malformed command bodies and WebSocket frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import strategies as st

from conformance.fuzz import JSON_VALUES, FuzzRun, blocking, run_property
from conformance.hubapi.cases_rest import problem_issues, writable_target
from conformance.hubapi.cases_ws import recv_until
from conformance.hubapi.target import HubRun
from conformance.outcome import Failed, passed
from conformance.registry import Phase, Tier, case
from dhi.models.conformance import Evidence, TargetKind

HUB = TargetKind.HUB
KEYS = ("id", "component", "capability", "command", "params", "timeout", "device")


def bodies(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Command bodies with one field broken, unknown keys, or no object at all."""
    broken_field = (
        st.tuples(st.sampled_from(KEYS), JSON_VALUES)
        .map(lambda kv: {**base, kv[0]: kv[1]})
        .filter(lambda b: not isinstance(b.get("params"), dict) or b != base)
    )
    return st.one_of(
        broken_field,
        st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4).map(
            lambda extra: {**base, **extra, "zz_unknown": 1}
        ),
        JSON_VALUES.filter(lambda v: not isinstance(v, dict)),
    )


def _report(run: FuzzRun, what: str) -> Evidence:
    worst = run.minimal()
    if worst is not None:
        raise Failed(
            f"{worst.reason} (minimal failing input of {run.tried} {what} tried)",
            sent=worst.example,
            got=worst.got,
        )
    return passed(f"{run.tried} generated {what} refused cleanly")


@case("DHI-FUZZ-3.1", "Generated malformed command bodies get a 4xx problem+json, never 2xx or 5xx",
      section="§13.5", target=HUB, tier=Tier.FUZZ, phase=Phase.FUZZ)  # fmt: skip
async def fuzz_commands(ctx: HubRun) -> Evidence:
    device, base = await writable_target(ctx)
    control = await ctx.scoped("control")
    loop = asyncio.get_running_loop()

    def check(body: Any) -> tuple[str, Any] | None:
        reply = blocking(loop, ctx.call("POST", f"/devices/{device}/commands", token=control,
                                        raw=json.dumps(body).encode()), ctx.options.timeout + 5)  # fmt: skip
        if reply.status < 400:
            return (f"silent acceptance: HTTP {reply.status}", reply.evidence())
        if reply.status >= 500:
            return (f"server error HTTP {reply.status}", reply.evidence())
        issues = [i for i in problem_issues(reply, reply.status) if not i.startswith("status")]
        return (f"not problem+json: {issues[0]}", reply.evidence()) if issues else None

    def really_invalid(body: Any) -> bool:
        from conformance.schemas import schema_problems

        return bool(schema_problems(body, "command")) if isinstance(body, dict) else True

    run = await asyncio.to_thread(run_property, bodies(base), check, examples=ctx.options.fuzz_examples,
                                  keep=really_invalid)  # fmt: skip
    return _report(run, "command bodies")


def frames() -> st.SearchStrategy[str]:
    message_types = st.sampled_from(["auth", "subscribe", "unsubscribe", "command", "ping", "nonsense"])
    return st.one_of(
        st.text(max_size=60),
        st.tuples(
            message_types,
            st.dictionaries(
                st.sampled_from(["id", "filter", "since", "command", "token"]), JSON_VALUES, max_size=3
            ),
        ).map(lambda t: json.dumps({"type": t[0], **t[1]})),
        JSON_VALUES.map(json.dumps),
    )


@case("DHI-FUZZ-3.2", "Generated malformed WebSocket frames never kill the connection or the hub",
      section="§13.7", target=HUB, tier=Tier.FUZZ, phase=Phase.FUZZ)  # fmt: skip
async def fuzz_frames(ctx: HubRun) -> Evidence:
    read = await ctx.scoped("read")
    loop = asyncio.get_running_loop()
    timeout = ctx.options.timeout

    async def exchange(frame: str) -> tuple[bool, list[Any]]:
        async with ctx.http.ws_connect(ctx.ws_url, headers=ctx.auth(read)) as ws:
            await ws.send_str(frame)
            await ws.send_json({"type": "ping", "id": "dhi-conf-alive"})
            pong, seen = await recv_until(
                ws, lambda f: f.get("type") == "pong" and f.get("id") == "dhi-conf-alive", timeout
            )
            return pong is not None, seen

    def check(frame: str) -> tuple[str, Any] | None:
        alive, seen = blocking(loop, exchange(frame), timeout + 5)
        if not alive:
            return ("the connection did not answer a ping after this frame", seen[-3:])
        health = blocking(loop, ctx.call("GET", "/health", anonymous=True), timeout + 5)
        if health.status != 200:
            return ("the hub stopped answering /health", health.evidence())
        return None

    run = await asyncio.to_thread(
        run_property, frames(), check, examples=max(10, ctx.options.fuzz_examples // 3)
    )
    return _report(run, "frames")
