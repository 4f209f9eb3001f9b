"""A slow bus subscriber never slows ingestion; overflow is counted and reported."""

from __future__ import annotations

from dhi.models.envelope import MessageType
from hub.bus import EventBus, Filter, Overflow, SubscriptionClosed
from hub.core import Hub


class _Msg:
    """The fields the bus reads of a message."""

    type = MessageType.EVENT_OCCURRED

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.seq: int | None = None
        self.drill: bool | None = None


async def test_slow_subscriber_does_not_block_ingestion(toy_hub: Hub) -> None:
    ctx = toy_hub.supervisor.slots["toy"].ctx
    assert ctx is not None
    slow = toy_hub.bus.subscribe("slow", maxsize=10)
    fast = toy_hub.bus.subscribe("fast", Filter.of(types=[MessageType.STATE_CHANGED]), maxsize=100_000)
    before = toy_hub.bus.published
    n = 5_000
    for i in range(n):  # ingestion is synchronous: every publish returns at once
        assert ctx.publish_state("toy:lamp1", "dhi.level", {"level": float(i % 100) + 0.5})
    assert toy_hub.bus.published - before >= n
    assert slow.depth == 10
    assert slow.dropped >= n - 10
    # the fast subscriber saw every change, in order
    got = []
    while (m := fast.get_nowait()) is not None:
        if m.subject == "toy:lamp1" and m.data.capability == "dhi.level":
            got.append(m.data.value)
    assert got[-n:] == [float(i % 100) + 0.5 for i in range(n)]


async def test_close_policy_drops_the_subscriber_with_a_reason(toy_hub: Hub) -> None:
    ctx = toy_hub.supervisor.slots["toy"].ctx
    assert ctx is not None
    sub = toy_hub.bus.subscribe("ws-client", maxsize=5, overflow=Overflow.CLOSE)
    for i in range(50):
        ctx.publish_state("toy:lamp0", "dhi.level", {"level": float(i)})
    assert sub.closed
    assert "overflow" in (sub.closed_reason or "")
    assert sub not in toy_hub.bus.subscribers()
    for _ in range(sub.depth):
        await sub.get()
    try:
        await sub.get()
    except SubscriptionClosed as exc:
        assert "overflow" in str(exc)
    else:
        raise AssertionError("a closed, drained subscription must raise")


async def test_sequence_numbers_are_monotonic_and_persisted(toy_hub: Hub) -> None:
    sub = toy_hub.bus.subscribe("seq", Filter.of(types=[MessageType.STATE_CHANGED]))
    ctx = toy_hub.supervisor.slots["toy"].ctx
    assert ctx is not None
    for i in range(20):
        ctx.publish_state("toy:lamp0", "dhi.level", {"level": float(i) + 0.25})
    seqs = []
    while (m := sub.get_nowait()) is not None:
        seqs.append(m.seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    await toy_hub.storage.flush()
    row = await toy_hub.storage.fetchone("SELECT MAX(seq) FROM events")
    assert row is not None and row[0] >= seqs[-1]


async def test_raw_subscribers_get_records_others_envelopes(toy_hub: Hub) -> None:
    """The hub's own hot-path consumers read ``StateChange`` records; every other subscriber
    and tap gets the validated envelope — the same message, built once."""
    from dhi.models.envelope import StateChange, StateChangedMessage

    ctx = toy_hub.supervisor.slots["toy"].ctx
    assert ctx is not None
    raw = toy_hub.bus.subscribe("raw", Filter.of(types=[MessageType.STATE_CHANGED]), raw=True)
    plain = toy_hub.bus.subscribe("plain", Filter.of(types=[MessageType.STATE_CHANGED]))
    tapped: list[object] = []
    untap = toy_hub.bus.tap(tapped.append)
    try:
        assert ctx.publish_state("toy:lamp1", "dhi.level", {"level": 42.5})
    finally:
        untap()
    record, envelope = raw.get_nowait(), plain.get_nowait()
    assert isinstance(record, StateChange)
    assert isinstance(envelope, StateChangedMessage)
    assert tapped == [envelope]
    assert record.envelope() is envelope
    assert (envelope.seq, envelope.data.value, envelope.data.capability) == (record.seq, 42.5, "dhi.level")


async def test_a_lane_takes_priority_messages_first_and_bulk_gives_way_to_them() -> None:
    bus = EventBus()
    sub = bus.subscribe("engine", maxsize=3, raw=True, lane=lambda m: m.subject == "smoke")
    for name in ("t1", "t2", "smoke", "t3"):
        bus.publish(_Msg(name))
    assert [m.subject for m in [sub.get_nowait(), sub.get_nowait(), sub.get_nowait()]] == [
        "smoke",
        "t2",
        "t3",
    ]
    assert sub.dropped == 1 and sub.peak == 3
