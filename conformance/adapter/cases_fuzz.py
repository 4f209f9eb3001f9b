"""FUZZ cases of the adapter target: mutated recorded data and malformed commands."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import strategies as st

from conformance.adapter.cases import _targets, execute, request
from conformance.adapter.target import AdapterRun
from conformance.fuzz import JSON_SCALARS, JSON_VALUES, FuzzRun, TargetDead, blocking, run_property
from conformance.outcome import Failed, NotApplicable, passed
from conformance.registry import Phase, Tier, case
from dhi.errors import ERRORS
from dhi.models.catalog import ValueType
from dhi.models.conformance import Evidence, TargetKind

ADAPTER = TargetKind.ADAPTER
#: what ``dhome adapters check`` reports as "not data this adapter understands"
CLEAR_REFUSALS = (ValueError, TypeError, KeyError)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:20]):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any, drop: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        copy = dict(doc)
        if drop and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(doc[head], rest, value, drop)
        return copy
    copy_l = list(doc)
    if drop and not rest:
        del copy_l[head]
    else:
        copy_l[head] = _replace(doc[head], rest, value, drop)
    return copy_l


def mutations(doc: Any) -> st.SearchStrategy[Any]:
    """Recorded data with one value replaced by any JSON value, or one key/item dropped."""
    paths = _paths(doc)
    return st.tuples(st.sampled_from(paths), JSON_VALUES, st.booleans()).map(
        lambda t: _replace(doc, t[0], t[1], t[2] and bool(t[0]))
    )


@case("DHI-FUZZ-2.1", "Mutated recorded data is mapped or refused clearly, never crashes map_offline",
      section="§4", target=ADAPTER, tier=Tier.FUZZ, phase=Phase.FUZZ)  # fmt: skip
async def fuzz_offline(ctx: AdapterRun) -> Evidence:
    cls = ctx.require_class()
    files = ctx.recorded()
    if not callable(getattr(cls, "map_offline", None)) or not files:
        raise NotApplicable("no map_offline, or no recorded/ data in the fixtures")
    total = FuzzRun()
    share = max(5, ctx.options.fuzz_examples // len(files))
    for path in files:
        doc = ctx.load_recorded(path)

        def check(data: Any) -> tuple[str, Any] | None:
            try:
                cls.map_offline(data)
            except CLEAR_REFUSALS:
                return None
            except Exception as exc:
                return (f"map_offline crashed: {type(exc).__name__}: {exc}", None)
            return None

        run = await asyncio.to_thread(run_property, mutations(doc), check, examples=share)
        total.tried += run.tried
        total.failures += run.failures
    worst = total.minimal()
    if worst is not None:
        raise Failed(f"{worst.reason} (minimal failing input of {total.tried} tried)", sent=worst.example,
                     expected="mappings, or ValueError/TypeError/KeyError naming the problem")  # fmt: skip
    return passed(f"{total.tried} mutated recordings handled")


@case("DHI-FUZZ-2.2", "Generated malformed commands get error results, never exceptions or hangs",
      section="§6.4", target=ADAPTER, tier=Tier.FUZZ, phase=Phase.FUZZ)  # fmt: skip
async def fuzz_execute(ctx: AdapterRun) -> Evidence:
    adapter, hub = await ctx.running()
    scalar = (ValueType.BOOLEAN, ValueType.INTEGER, ValueType.NUMBER, ValueType.STRING, ValueType.ENUM)
    targets = [(d, i, p) for d, i in _targets(ctx, hub) for p in i.writable() if p.type in scalar]
    if not targets:
        raise NotApplicable("no device with a writable scalar property")
    loop = asyncio.get_running_loop()
    names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
    # an unknown property beside nothing else, or a list/object where a scalar belongs
    strategy = st.tuples(st.sampled_from(targets), names, JSON_VALUES).map(
        lambda t: request(t[0][0], t[0][1], "set", {f"{t[1]}_x": t[2]}, 0)
    ) | st.tuples(st.sampled_from(targets), st.lists(JSON_SCALARS, max_size=3) | st.dictionaries(names, JSON_SCALARS, max_size=3)).map(
        lambda t: request(t[0][0], t[0][1], "set", {t[0][2].name: t[1]}, 0)
    )  # fmt: skip

    async def call(cmd: Any) -> Any:
        try:
            return await execute(ctx, adapter, cmd)
        except TimeoutError:
            return "hang"
        except Exception as exc:
            return exc

    def check(cmd: Any) -> tuple[str, Any] | None:
        got = blocking(loop, call(cmd), ctx.options.command_timeout + 5)
        if got == "hang":
            raise TargetDead(f"execute() did not return within {ctx.options.command_timeout:g} s")
        if isinstance(got, Exception):
            return (f"execute() raised {type(got).__name__}: {got}", None)
        if got.status.value == "ok":
            return ("silent acceptance: an invalid command was answered ok", got.model_dump(mode="json"))
        if got.error is None or got.error.code not in ERRORS:
            return ("error result without a DHI code", got.model_dump(mode="json"))
        return None

    run = await asyncio.to_thread(run_property, strategy, check, examples=ctx.options.fuzz_examples)
    worst = run.minimal()
    if worst is not None:
        raise Failed(f"{worst.reason} (minimal failing command of {run.tried} tried)",
                     sent=worst.example.model_dump(mode="json"), got=worst.got)  # fmt: skip
    return passed(f"{run.tried} malformed commands answered with errors")
