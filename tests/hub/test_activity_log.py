"""The console activity log stays readable and cheap in a busy home: a line budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.activity_log import LineBudget


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate() -> None:
    clock = StepClock()
    budget = LineBudget(rate=10, burst=5, clock=clock)
    granted = [budget.take() for _ in range(8)]
    assert granted == [True] * 5 + [False] * 3
    assert budget.take_suppressed() == 3 and budget.suppressed == 0
    clock.now = 0.35  # 3.5 tokens refilled
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 100.0  # refill is capped at the burst
    assert sum(budget.take() for _ in range(50)) == 5


@given(
    rate=st.floats(0.5, 100),
    burst=st.integers(1, 50),
    steps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate: float, burst: int, steps: list[float]) -> None:
    clock = StepClock()
    budget = LineBudget(rate=rate, burst=burst, clock=clock)
    granted = 0
    for dt in steps:
        clock.now += dt
        granted += budget.take()
    assert granted <= burst + rate * clock.now + 1e-6
    assert granted + budget.suppressed == len(steps)


def test_suppressed_lines_are_summarised_at_most_every_interval() -> None:
    clock = StepClock()
    budget = LineBudget(rate=1, burst=1, clock=clock, summary_every=10)
    assert budget.take() and not budget.take() and not budget.take()
    assert budget.summary_due() == 0  # 10 s have not passed
    clock.now = 10.0
    assert budget.summary_due() == 2
    assert budget.summary_due() == 0  # said once
    budget.take(), budget.take(), budget.take()  # 1 granted (refilled), 2 suppressed
    clock.now = 15.0
    assert budget.summary_due() == 0
    clock.now = 20.0
    assert budget.summary_due() == 2
    clock.now = 40.0
    assert budget.summary_due() == 0  # nothing suppressed: nothing to say
