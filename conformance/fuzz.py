"""The fuzz tier's driver: hypothesis generates inputs, a check judges the target's reaction.

The target is live (a device, an adapter, a hub), so the property runs in a worker thread and
each check blocks on the event loop that talks to the target. Every failing input is kept;
hypothesis shrinks towards smaller ones, and the smallest seen is reported as the minimal
failing example. A target that stops answering ends the run (it cannot be shrunk against).
Runs are derandomized: the same target gets the same inputs every time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
from hypothesis import strategies as st

#: JSON values hypothesis may put into requests (orjson takes 64-bit integers only)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


class TargetDead(Exception):
    """The target stopped answering: stop generating, report the input that did it."""


@dataclass(frozen=True)
class FuzzFailure:
    example: Any
    reason: str
    got: Any = None

    @property
    def size(self) -> int:
        return len(json.dumps(self.example, default=repr, sort_keys=True))


@dataclass
class FuzzRun:
    tried: int = 0
    failures: list[FuzzFailure] = field(default_factory=list)
    dead: FuzzFailure | None = None

    def minimal(self) -> FuzzFailure | None:
        if self.dead is not None:
            return self.dead
        return min(self.failures, key=lambda f: f.size) if self.failures else None


class _Found(Exception):
    pass


Check = Callable[[Any], tuple[str, Any] | None]


def run_property(
    strategy: st.SearchStrategy[Any],
    check: Check,
    *,
    examples: int,
    budget: float = 60.0,
    keep: Callable[[Any], bool] | None = None,
) -> FuzzRun:
    """Run ``check`` on up to ``examples`` generated inputs (plus shrinking); blocking.
    ``keep`` filters generated inputs (e.g. only requests that are really invalid)."""
    run = FuzzRun()
    deadline = time.monotonic() + budget

    @settings(
        max_examples=max(1, examples),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @given(strategy)
    def prop(example: Any) -> None:
        if keep is not None:
            assume(keep(example))
        if run.dead is not None or time.monotonic() > deadline:
            return
        run.tried += 1
        try:
            outcome = check(example)
        except TargetDead as exc:
            run.dead = FuzzFailure(example, str(exc))
            return
        if outcome is not None:
            run.failures.append(FuzzFailure(example, outcome[0], outcome[1]))
            raise _Found

    try:
        prop()
    except Exception:
        # _Found, or hypothesis' flaky/multiple-failure wrappers around it: the run holds the
        # facts. Anything else with no failure recorded is a problem of the run itself.
        if not run.failures and run.dead is None:
            raise
    return run


def blocking[T](loop: asyncio.AbstractEventLoop, coro: Awaitable[T], timeout: float) -> T:
    """Run ``coro`` on the target's loop from the hypothesis thread."""
    fut = asyncio.run_coroutine_threadsafe(_wrap(coro), loop)
    try:
        return fut.result(timeout)
    except FutureTimeout:
        fut.cancel()
        raise TargetDead(f"no reaction within {timeout:g} s") from None


async def _wrap[T](coro: Awaitable[T]) -> T:
    return await coro
