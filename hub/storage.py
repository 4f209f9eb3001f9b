"""One SQLite file (WAL) per hub: devices, state, history, events, alerts, outbox, audit, tokens.

All SQL runs on dedicated threads, so the event loop never waits on disk: writes one statement
at a time (a lock) on one thread for the ordered queue and one for telemetry; reads on a third
thread with a connection of their own (WAL: a reader never waits for a writer, so an API read is
not held behind a telemetry transaction; it sees every transaction committed before it starts). Ingestion
writes are queued without awaiting and committed in batches; ``execute``/``flush`` are for
callers that must know a write is durable (outbox, alerts, tokens) before going on.

Two queues, each with a stated bound (docs/ingestion.md):

* the *ordered* queue (``write``, ``write_row``, ``write_latest``): device, state, alert,
  outbox and audit rows, committed in the order they were queued. State upserts keep one row
  per property, the rest are rare: it holds at most a few rows per known property.
* the *telemetry* queue (``write_telemetry``): history and event-log rows, at most
  ``telemetry_max`` rows. When SQLite falls behind and the queue is full, a row of a key that
  already has one pending replaces it in place (the newest value always lands, history thins
  out, each replacement is counted); a row that cannot replace one waits for the commit in
  progress (the one place ingestion is held back, counted as a stall). Rows without a key (a
  safety or care reading, an event, an alert's log row) have ``telemetry_room`` more rows
  before they wait: a smoke alarm's own history row must not hold the event loop until
  20 000 rows of telemetry are committed. ``execute`` does not commit this queue first, so an
  alert is never held behind a backlog of telemetry. The telemetry thread drains the queue by
  itself, chunk after chunk, without waiting for a turn of a busy event loop between chunks;
  before each chunk it gives way to safety work in flight (``adapters.sdk.giveway``).

  A telemetry row may carry an ``order`` (the event log's seq): ``telemetry_floor`` is the
  lowest one not yet committed, so a reader of the log can take what is settled below it
  instead of waiting for the backlog to be committed (``GET /events`` under saturation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import orjson

from adapters.sdk.giveway import GIVE_WAY, HOLD
from hub.private import private_dir, private_file

log = logging.getLogger(__name__)
T = TypeVar("T")

# Each entry migrates from version i to i+1. Never edit a released entry: append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE devices (
        id TEXT PRIMARY KEY, adapter TEXT NOT NULL, description TEXT NOT NULL,
        available INTEGER NOT NULL DEFAULT 1, added TEXT NOT NULL, updated TEXT NOT NULL
    );
    CREATE TABLE state (
        device TEXT NOT NULL, component TEXT NOT NULL, capability TEXT NOT NULL, property TEXT NOT NULL,
        value TEXT NOT NULL, time TEXT NOT NULL, source TEXT,
        PRIMARY KEY (device, component, capability, property)
    );
    CREATE TABLE history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, component TEXT NOT NULL,
        capability TEXT NOT NULL, property TEXT NOT NULL, value TEXT NOT NULL, time TEXT NOT NULL
    );
    CREATE INDEX history_device_time ON history (device, time);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY, type TEXT NOT NULL, time TEXT NOT NULL, device TEXT, message TEXT NOT NULL
    );
    CREATE INDEX events_time ON events (time);
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL, body TEXT NOT NULL
    );
    CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY, body TEXT NOT NULL, secret TEXT, created TEXT NOT NULL, deleted TEXT
    );
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, subscription TEXT NOT NULL, message_id TEXT NOT NULL,
        payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT NOT NULL, last_error TEXT, created TEXT NOT NULL, delivered TEXT,
        UNIQUE (subscription, message_id)
    );
    CREATE INDEX outbox_pending ON outbox (subscription, state, seq);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        subscription TEXT, message_id TEXT, detail TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
        created TEXT NOT NULL, last_used TEXT, revoked TEXT
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: history is read per device in seq order (the API's cursor); an integer second key
    # also makes each history insert ~1/3 cheaper than the (device, time) text key did.
    """
    DROP INDEX history_device_time;
    CREATE INDEX history_device_seq ON history (device, seq);
    """,
    # 3: a failed delivery is retried for a span of real time from its first failure
    """
    ALTER TABLE outbox ADD COLUMN first_failed TEXT;
    """,
]


#: how often the telemetry thread, holding back for safety work, looks again (seconds)
_GIVE_WAY_POLL = 0.005
#: rows of a telemetry chunk committed per transaction: between two pieces the telemetry
#: thread lets a waiting ordered job (an alert's commit, the outbox's read) have the
#: connection, so that waits for one piece (a few ms), not for a whole 2 000-row chunk
_PIECE_ROWS = 250


# holders, not list/dict subclasses: the module is compiled with mypyc (tools/compiled),
# which builds no subclasses of built-in types
class _Rows:
    """The parameter rows of one ``executemany`` (see ``Storage.write_row``)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[Sequence[Any]] = []


class _Latest:
    """The newest parameter row per key of one upsert (see ``Storage.write_latest``)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: dict[Hashable, Sequence[Any]] = {}


class _Slot:
    """One queued telemetry row; a newer row of the same key may replace ``params``."""

    __slots__ = ("key", "ordered", "params", "sql")

    def __init__(self, sql: str, key: Hashable | None, params: Sequence[Any], ordered: bool) -> None:
        self.sql = sql
        self.key = key
        self.params = params
        #: it was queued with an ``order`` (kept in ``Storage._telemetry_orders``)
        self.ordered = ordered


@cache
def _table_of(sql: str) -> str:
    """The table an ``INSERT INTO <table>`` writes (the label of its coalescing count)."""
    found = re.match(r"\s*INSERT\s+INTO\s+(\w+)", sql, re.IGNORECASE)
    return found.group(1) if found else "other"


Statement = tuple[str, Sequence[Any]]
_Queued = tuple[str, Sequence[Any] | _Rows | _Latest]  # a statement, or rows to insert / upsert


class Storage:
    """Owns the SQLite file; every method is safe to call from the event loop."""

    def __init__(
        self,
        path: Path,
        *,
        batch_interval: float = 0.05,
        batch_max: int = 2000,
        checkpoint_interval: float = 1.0,
        telemetry_max: int = 20_000,
    ) -> None:
        self.path = path
        self._checkpoint_interval = checkpoint_interval
        self._checkpointer: _Checkpointer | None = None
        self._batch_interval = batch_interval
        self._batch_max = batch_max
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dhome-sqlite")
        # telemetry transactions run on a thread of their own: an alert's commit (on the
        # other) waits for the one telemetry transaction holding the connection, never for
        # those queued behind it
        self._telemetry_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dhome-sqlite-telemetry")
        self._conn: sqlite3.Connection | None = None
        self._read_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dhome-sqlite-read")
        self._reader: sqlite3.Connection | None = None
        self._pending: list[_Queued] = []
        self._open_rows: dict[str, _Rows] = {}  # row statements still taking rows
        self._open_latest: dict[str, _Latest] = {}  # upserts still taking rows
        self._queued = 0  # statements and rows in _pending
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._waiting = 0  # threads other than the telemetry one waiting for the connection
        self._waiting_changed = threading.Condition()
        self.writes_committed = 0
        self.batches = 0
        self.commit_seconds = 0.0  # on the storage thread, waiting for the lock included
        #: the telemetry queue: rows in order, and the newest pending slot of each key
        self.telemetry_max = telemetry_max
        #: rows without a key (never coalesced: safety readings, events) may go this far past
        #: ``telemetry_max`` before they wait for a commit
        self.telemetry_room = max(1, telemetry_max // 10)
        self._telemetry: list[_Slot] = []
        self._telemetry_keys: dict[Hashable, _Slot] = {}
        self.telemetry_peak = 0
        #: telemetry rows replaced by a newer one of the same key, by table
        self.coalesced: dict[str, int] = {}
        #: times a telemetry row had to wait for a commit (the queue full of distinct keys)
        self.stalls = 0
        # The telemetry thread drains the queue itself, chunk after chunk, for as long as rows
        # wait: a chunk handed over by the loop was seen done only several loop turns later,
        # and a saturated loop's turns take up to a second each — SQLite idled and history
        # thinned to ~3 % under a burst (decision 63). The mutex guards the queue, its orders
        # and the take between the two threads.
        self._telemetry_mutex = threading.Lock()
        self._draining = False
        self._telemetry_added = 0  # rows ever queued (a replacement adds none)
        self._telemetry_done = 0  # of those, committed (or failed) on the telemetry thread
        self._telemetry_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        #: the longest the telemetry thread holds back for safety work before a chunk (seconds)
        self.give_way_hold = HOLD
        #: times the telemetry thread held back for safety work (observability)
        self.telemetry_holds = 0
        self._stalled = False  # the loop waits for a telemetry commit (write_telemetry)
        # ``order`` of each queued row that has one, as queued (a replacement keeps the
        # replaced row's place and order: lower than its own, so the floor stays safe), and
        # the lowest order of each chunk on the telemetry thread, oldest first (popped there)
        self._telemetry_orders: deque[int] = deque()
        self._floors_in_flight: deque[int] = deque()
        #: rows of each chunk handed to the telemetry thread and not committed yet
        self._rows_in_flight: deque[int] = deque()

    # ------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        private_dir(self.path.parent)
        self._loop = asyncio.get_running_loop()
        await self._run(self._open_sync)
        await asyncio.get_running_loop().run_in_executor(self._read_pool, self._open_reader)
        self._flusher = asyncio.create_task(self._flush_loop(), name="dhome-storage-flush")
        self._checkpointer = _Checkpointer(self.path, self._checkpoint_interval)
        self._checkpointer.start()

    def _open_sync(self) -> None:
        private_file(self.path)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        # Checkpoints (copying the WAL back into the database, with an fsync) run on their
        # own connection and thread: done by a commit, they stalled that commit — and an
        # alert waiting on it — for tens of milliseconds every second or so under load.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn = conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path} was written by a newer dhome (schema {version} > {len(MIGRATIONS)})"
            )
        for i in range(version, len(MIGRATIONS)):
            conn.execute("BEGIN")
            for stmt in filter(None, (s.strip() for s in MIGRATIONS[i].split(";"))):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version={i + 1}")
            conn.execute("COMMIT")
            log.info("storage %s migrated to schema %d", self.path, i + 1)

    def _open_reader(self) -> None:
        # after the migrations (on the writer): the schema is there
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._reader = conn

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        # A telemetry chunk may still be running on its thread (handed over by a flush that
        # was cancelled): the connection is closed only after that thread is done, and under
        # the connection's turn, never under a statement in progress (that crashed the process).
        await asyncio.to_thread(self._telemetry_pool.shutdown, wait=True)
        await asyncio.get_running_loop().run_in_executor(self._read_pool, self._close_reader)
        self._read_pool.shutdown(wait=True)
        if self._conn is not None:
            await self._run(self._close_sync)
            self._conn = None
        self._pool.shutdown(wait=True)

    def _close_sync(self) -> None:
        conn = self._require()
        with self._turn():
            with contextlib.suppress(sqlite3.Error):  # a reader elsewhere may hold the WAL: fine
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()

    # ------------------------------------------------------------ writes
    def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue a write; it is committed with the next batch (within ``batch_interval``),
        in the order of ``write`` calls."""
        # rows queued later must not move before this statement
        self._open_rows.clear()
        self._open_latest.clear()
        self._pending.append((sql, params))
        self._count_queued()

    def write_row(self, sql: str, params: Sequence[Any]) -> None:
        """Queue one row of an append-style statement (history, state, the event log).

        Rows of the same statement queued between two ``write`` calls are committed with
        one ``executemany``; rows of *different* ``write_row`` statements may be committed
        in either order, so use it only for tables no other row statement depends on."""
        rows = self._open_rows.get(sql)
        if rows is None:
            rows = self._open_rows[sql] = _Rows()
            self._pending.append((sql, rows))
        rows.rows.append(params)
        self._count_queued()

    def write_latest(self, sql: str, key: Hashable, params: Sequence[Any]) -> None:
        """Queue an upsert of which only the newest row per ``key`` matters (the state
        table): a value that changes ten times within one batch is written once. Same
        ordering rules as ``write_row``."""
        rows = self._open_latest.get(sql)
        if rows is None:
            rows = self._open_latest[sql] = _Latest()
            self._pending.append((sql, rows))
        elif key in rows.rows:
            rows.rows[key] = params
            return
        rows.rows[key] = params
        self._count_queued()

    def write_telemetry(
        self, sql: str, params: Sequence[Any], key: Hashable | None = None, order: int | None = None
    ) -> None:
        """Queue a history or event-log row: committed in order with the other telemetry
        rows (not ordered against ``write``), in the batch after the one in progress.

        ``key`` names what the row is the latest value of (``None``: never replaced, e.g.
        an alert's event or a safety device's reading). With ``telemetry_max`` rows queued,
        a row whose key has one pending replaces it; a row without a key takes the room above
        (``telemetry_room``); any other row waits for the commit in progress, so the queue
        never holds more than ``telemetry_bound`` rows. ``order`` (rising from call to call)
        is what ``telemetry_floor`` reports."""
        added = self._telemetry_added
        with self._telemetry_mutex:
            queued = self._queue_telemetry(sql, params, key, order)
        if not queued:
            # nothing to replace: commit what is queued and wait for it (the loop waits; TCP
            # flow control keeps the rest at the broker) rather than grow past the bound. On
            # the telemetry thread, after the rows taken before: the order holds.
            self.stalls += 1
            chunk, floor = self._take_telemetry()
            self._stalled = True  # the loop waits: a drain holding back for safety work goes on
            try:
                self._telemetry_pool.submit(self._commit_telemetry, chunk, floor).result()
            finally:
                self._stalled = False
            with self._telemetry_mutex:
                self._queue_telemetry(sql, params, key, order)
        if self._telemetry_added != added:  # a replacement adds nothing to commit
            self._count_queued()

    def _queue_telemetry(
        self, sql: str, params: Sequence[Any], key: Hashable | None, order: int | None
    ) -> bool:
        """Append a row or replace its key's pending one (under the mutex); false when the
        queue is full (a keyed row: ``telemetry_max``; an unkeyed one: ``telemetry_bound``) and
        there is nothing to replace."""
        queue = self._telemetry
        if len(queue) >= self.telemetry_max:
            if key is None:
                # never replaced (a safety reading, an event): it takes the room above the
                # bound rather than hold the loop for a commit
                if len(queue) >= self.telemetry_bound:
                    return False
            else:
                slot = self._telemetry_keys.get((sql, key))
                if slot is None:
                    return False
                slot.params = params
                table = _table_of(sql)
                self.coalesced[table] = self.coalesced.get(table, 0) + 1
                return True
        slot = _Slot(sql, key, params, order is not None)
        queue.append(slot)
        if order is not None:
            self._telemetry_orders.append(order)
        if key is not None:
            self._telemetry_keys[(sql, key)] = slot
        self._telemetry_added += 1
        self.telemetry_peak = max(self.telemetry_peak, len(queue))
        return True

    def write_telemetry_many(
        self,
        sql: str,
        rows: Sequence[Sequence[Any]],
        keys: Sequence[Hashable | None],
        orders: Sequence[int] | None = None,
    ) -> None:
        """``write_telemetry(sql, row, key, order)`` for each row (one ingestion batch), in order."""
        with self._telemetry_mutex:
            queue = self._telemetry
            room = len(queue) + len(rows) <= self.telemetry_max
            if room:
                slots = self._telemetry_keys
                ordered = orders is not None
                for params, key in zip(rows, keys, strict=True):
                    slot = _Slot(sql, key, params, ordered)
                    queue.append(slot)
                    if key is not None:
                        slots[(sql, key)] = slot
                if orders is not None:
                    self._telemetry_orders.extend(orders)
                self._telemetry_added += len(rows)
                self.telemetry_peak = max(self.telemetry_peak, len(queue))
        if not room:
            # the bound and coalescing, row by row
            for i, (params, key) in enumerate(zip(rows, keys, strict=True)):
                self.write_telemetry(sql, params, key, None if orders is None else orders[i])
            return
        self._queued += len(rows)
        if self._queued >= self._batch_max:
            self._wake.set()

    @property
    def telemetry_bound(self) -> int:
        """The most rows the telemetry queue ever holds (bulk bound + the unkeyed rows' room)."""
        return self.telemetry_max + self.telemetry_room

    @property
    def telemetry_depth(self) -> int:
        return len(self._telemetry)

    def commit_soon(self) -> None:
        """Have what is queued committed now rather than at the next batch interval."""
        self._wake.set()

    @property
    def telemetry_pending(self) -> int:
        """Telemetry rows not committed yet: queued, or handed to the telemetry thread."""
        return len(self._telemetry) + sum(list(self._rows_in_flight))  # list(): one step under the GIL

    def telemetry_floor(self) -> int | None:
        """The lowest ``order`` of the telemetry rows not committed yet (queued, or in a
        transaction on the telemetry thread); ``None`` when every such row is committed. Every
        row queued with a lower order is committed (or was replaced by a newer one)."""
        with contextlib.suppress(IndexError):  # the telemetry thread pops as it commits
            return self._floors_in_flight[0]
        with contextlib.suppress(IndexError):
            return self._telemetry_orders[0]
        return None

    def _take_telemetry(self, limit: int | None = None) -> tuple[list[_Queued], int | None]:
        """The oldest ``limit`` telemetry rows (all without one) as row statements, each
        table's rows in their order, and the lowest ``order`` among them (``None``: none has
        one); that floor stays in ``telemetry_floor`` until the chunk is committed."""
        with self._telemetry_mutex:
            return self._take_locked(limit)

    def _take_locked(self, limit: int | None) -> tuple[list[_Queued], int | None]:
        queue = self._telemetry
        if limit is None or limit >= len(queue):
            taken, self._telemetry = queue, []
            self._telemetry_keys.clear()
        else:
            taken = queue[:limit]
            del queue[:limit]
            keys = self._telemetry_keys
            for slot in taken:
                if slot.key is not None and keys.get((slot.sql, slot.key)) is slot:
                    del keys[(slot.sql, slot.key)]
        grouped: dict[str, _Rows] = {}
        ordered = 0
        for slot in taken:
            rows = grouped.get(slot.sql)
            if rows is None:
                rows = grouped[slot.sql] = _Rows()
            rows.rows.append(slot.params)
            ordered += slot.ordered
        self._rows_in_flight.append(len(taken))
        floor: int | None = None
        if ordered:
            orders = self._telemetry_orders
            floor = orders[0]
            # the floor is in flight before its orders leave the queue: telemetry_floor, read
            # without the mutex, never misses both
            self._floors_in_flight.append(floor)
            for _ in range(ordered):
                orders.popleft()
        return list(grouped.items()), floor

    def _count_queued(self) -> None:
        self._queued += 1
        if self._queued >= self._batch_max:
            self._wake.set()  # a full batch is committed now, not at the next interval

    def _take(self) -> list[_Queued]:
        batch, self._pending = self._pending, []
        self._open_rows.clear()
        self._open_latest.clear()
        self._queued = 0
        return batch

    async def flush(self, *, telemetry: bool = True) -> None:
        """Commit everything queued so far: the ordered queue, then (unless ``telemetry`` is
        false: what the outbox needs is in the ordered queue, and it must not wait behind a
        backlog of history) the telemetry queue, in transactions of at most ``batch_max`` rows
        taken from its head."""
        if self._pending:
            await self._commit_soon(self._take())
        if not telemetry:
            return
        # rows queued so far are committed once the thread's count reaches theirs (it commits
        # in queue order); rows queued meanwhile (a burst goes on) are not waited for
        with self._telemetry_mutex:
            target = self._telemetry_added
            if self._telemetry_done >= target:
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._telemetry_waiters.append((target, waiter))
        self._drain_telemetry()
        await waiter

    def _drain_telemetry(self) -> None:
        """Start the telemetry thread's drain unless it runs (it stops once the queue is empty)."""
        with self._telemetry_mutex:
            if self._draining or not self._telemetry:
                return
            self._draining = True
        self._telemetry_pool.submit(self._drain)

    def _drain(self) -> None:
        """On the telemetry thread: commit the queue's head in chunks of ``batch_max`` rows
        until it is empty, without a trip through the event loop between chunks; before each
        chunk, give way to safety work in flight."""
        while True:
            self._give_way()
            with self._telemetry_mutex:
                if not self._telemetry:
                    self._draining = False
                    return
                chunk, floor = self._take_locked(self._batch_max)
            try:
                self._commit_telemetry(chunk, floor)
            except sqlite3.Error:
                log.exception("storage: telemetry commit failed")

    def _give_way(self) -> None:
        """While safety work is in flight (``adapters.sdk.giveway``: an alarm on its way to
        the alert engine, its alert's commit, its delivery) no chunk starts: the alert's
        commit would wait for the connection behind it. At most ``give_way_hold`` seconds,
        then one chunk before the next hold (history must not stop under a stream of
        alarms); never while the loop itself waits for a commit (a stall)."""
        if self._stalled or not GIVE_WAY.urgent():
            return
        self.telemetry_holds += 1
        deadline = time.monotonic() + self.give_way_hold
        while not self._stalled and time.monotonic() < deadline:
            time.sleep(_GIVE_WAY_POLL)
            if not GIVE_WAY.urgent():
                return

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Commit queued writes, then this one; returns ``lastrowid``/rowcount-ish id."""
        batch = self._take()
        batch.append((sql, params))
        return await self._commit_soon(batch)

    async def transaction(self, statements: Sequence[Statement]) -> None:
        batch = self._take()
        batch.extend(statements)
        await self._commit_soon(batch)

    async def _commit_soon(self, batch: list[_Queued]) -> int:
        # Shielded: a batch taken off the queue is committed even if the awaiting task is
        # cancelled (shutdown cancels the flusher); cancelling a job still queued in the
        # executor would silently drop those writes.
        # The job is handed to the executor now (not one loop turn later, as a shielded
        # coroutine would be), so a read issued right after sees this batch committed.
        job = self._ordered_job(self._commit, batch)
        return await asyncio.shield(job)

    def _ordered_job(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Hand ``fn(*args)`` to the ordered thread. From now until it is done the telemetry
        thread gives way (``_turn``): counted at hand-over, not when the job takes its turn, so
        two jobs in a row (an alert's commit, then the outbox's read of its entry) are not
        split by a telemetry piece taking the connection in between."""
        with self._waiting_changed:
            self._waiting += 1

        def job() -> T:
            try:
                return fn(*args)
            finally:
                with self._waiting_changed:
                    self._waiting -= 1
                    self._waiting_changed.notify_all()

        try:
            return asyncio.get_running_loop().run_in_executor(self._pool, job)
        except BaseException as exc:  # not handed over (pool shut down): not waiting either
            with self._waiting_changed:
                self._waiting -= 1
                self._waiting_changed.notify_all()
            raise exc

    @contextlib.contextmanager
    def _turn(self, *, telemetry: bool = False) -> Iterator[None]:
        """Hold the connection. Telemetry gives way: it waits while anything else (an alert's
        commit, a read) waits for it — a plain lock would let the telemetry thread take it
        back chunk after chunk, and an alert wait behind the whole backlog."""
        with self._waiting_changed:
            if telemetry:
                while self._waiting:
                    self._waiting_changed.wait()
            else:
                self._waiting += 1
        try:
            with self._lock:
                yield
        finally:
            if not telemetry:
                with self._waiting_changed:
                    self._waiting -= 1
                    self._waiting_changed.notify_all()

    def _commit_telemetry(self, batch: list[_Queued], floor: int | None) -> int:
        rows = sum(len(p.rows) for _, p in batch if isinstance(p, _Rows))
        try:
            last = 0
            for piece in _pieces(batch, _PIECE_ROWS):
                last = self._commit(piece, telemetry=True)  # each piece takes its own turn
            return last
        finally:
            # committed, or rolled back and never to be: either way no longer pending. Chunks
            # run in the order they were taken, so this one's entries are the oldest.
            self._rows_in_flight.popleft()
            if floor is not None:
                self._floors_in_flight.popleft()
            self._telemetry_committed(rows)  # counted even when it failed: no flush waits forever

    def _telemetry_committed(self, rows: int) -> None:
        with self._telemetry_mutex:
            self._telemetry_done += rows
            done = self._telemetry_done
            ready = [w for t, w in self._telemetry_waiters if t <= done]
            if ready:
                self._telemetry_waiters = [(t, w) for t, w in self._telemetry_waiters if t > done]
        if ready and self._loop is not None:
            for waiter in ready:
                self._loop.call_soon_threadsafe(_wake_waiter, waiter)

    def _commit(self, batch: list[_Queued], *, telemetry: bool = False) -> int:
        conn = self._require()
        last = 0
        if not batch:
            return last
        started = time.perf_counter()
        with self._turn(telemetry=telemetry):
            conn.execute("BEGIN")
            try:
                for sql, params in batch:
                    if isinstance(params, _Rows):
                        cur = _insert_rows(conn, sql, params.rows)
                    elif isinstance(params, _Latest):
                        cur = _insert_rows(conn, sql, list(params.rows.values()))
                    else:
                        cur = conn.execute(sql, params)
                    last = cur.lastrowid or cur.rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self.writes_committed += sum(len(p.rows) if isinstance(p, _Rows | _Latest) else 1 for _, p in batch)
        self.batches += 1
        self.commit_seconds += time.perf_counter() - started
        return last

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._batch_interval)
            self._wake.clear()
            try:
                # the telemetry thread drains by itself, giving way to safety work (_drain)
                self._drain_telemetry()
                await self.flush(telemetry=False)
            except sqlite3.Error:
                log.exception("storage: batch commit failed")

    # ------------------------------------------------------------ reads
    async def fetch_committed(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Commit the ordered queue (not telemetry), then read: one job on the storage thread,
        so a caller on the safety path (the outbox) waits for one answer from it, not two."""
        batch = self._take() if self._pending else []
        job = self._ordered_job(self._commit_then_fetch, batch, sql, params)
        return await asyncio.shield(job)  # the batch is committed even if the caller is cancelled

    def _commit_then_fetch(
        self, batch: list[_Queued], sql: str, params: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        self._commit(batch)
        # on the writing connection (this thread's), not the reading one (the read thread's)
        with self._turn():
            return list(self._require().execute(sql, params).fetchall())

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query on the reading connection: every write committed before the call
        (``execute``, ``flush``) is seen; one only queued (``write``) may not be."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self._fetchall, sql, params)

    async def fetch_then(
        self, sql: str, params: Sequence[Any], then: Callable[[list[tuple[Any, ...]]], T]
    ) -> T:
        """``then(rows)`` of a query, both on the read thread: one hop for a caller that would
        otherwise come back to the loop only to hand the rows to another thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self._fetch_then, sql, params, then)

    def _fetch_then(self, sql: str, params: Sequence[Any], then: Callable[[list[tuple[Any, ...]]], T]) -> T:
        return then(self._fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    def _fetchall(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self._reader is None:
            raise RuntimeError("storage is not open")
        return list(self._reader.execute(sql, params).fetchall())

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("storage is not open")
        return self._conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)


_VALUES = re.compile(r"VALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)


@cache
def _over_json_array(sql: str) -> str | None:
    """``INSERT … VALUES (?, …, ?) [ON CONFLICT …]`` rewritten to take all its rows as one
    JSON array: ``INSERT … SELECT json_extract(value, '$[0]'), … FROM json_each(?) WHERE
    true [ON CONFLICT …]`` (the ``WHERE`` keeps an upsert's ``ON`` unambiguous)."""
    found = _VALUES.search(sql)
    if found is None:
        return None
    columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(found.group(0).count("?")))
    # the statement is the caller's own constant SQL; only column extractors are added
    return f"{sql[: found.start()]}SELECT {columns} FROM json_each(?) WHERE true{sql[found.end() :]}"  # noqa: S608


def _insert_rows(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> sqlite3.Cursor:
    """Insert a batch of rows in one SQLite call. ``executemany`` binds every row under the
    GIL and gives it up and takes it back for each row, so the event loop and this thread
    took turns; one JSON array unpacked by SQLite itself runs the whole batch with the GIL
    released. Rows orjson cannot encode exactly (bytes, datetimes, huge integers) and text
    with NUL characters take ``executemany``."""
    rewritten = _over_json_array(sql) if len(rows) > 1 else None
    if rewritten is not None:
        try:
            encoded = orjson.dumps(rows, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except TypeError:
            pass
        else:
            # SQLite's JSON functions end a text at a NUL character: such a batch takes the
            # slow path rather than lose the rest of the text
            if b"\\u0000" not in encoded:
                return conn.execute(rewritten, (encoded.decode(),))
    return conn.executemany(sql, rows)


class _Checkpointer:
    """Checkpoints the WAL every ``interval`` seconds on a connection of its own. PASSIVE
    mode never waits for (or blocks) the writer or readers, so commits go on meanwhile."""

    def __init__(self, path: Path, interval: float) -> None:
        self._path = path
        self._interval = interval
        self._stopping = threading.Event()
        # not "_thread": compiled (tools/compiled), its C field would be GCC's keyword __thread
        self._worker = threading.Thread(target=self._run, name="dhome-sqlite-checkpoint", daemon=True)
        self.checkpoints = 0

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._stopping.set()
        self._worker.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._stopping.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy or I/O trouble: the next round tries again
                    log.warning("storage: WAL checkpoint failed: %s", exc)
        finally:
            conn.close()


def _pieces(batch: list[_Queued], size: int) -> Iterator[list[_Queued]]:
    """The row statements of ``batch`` in order, cut into pieces of at most ``size`` rows."""
    piece: list[_Queued] = []
    room = size
    for sql, params in batch:
        rows = params.rows if isinstance(params, _Rows) else None
        if rows is None:
            piece.append((sql, params))
            room -= 1
        else:
            start = 0
            while start < len(rows):
                part = _Rows()
                part.rows = rows[start : start + max(room, 1)]
                start += len(part.rows)
                piece.append((sql, part))
                room -= len(part.rows)
                if room <= 0:
                    yield piece
                    piece, room = [], size
        if room <= 0:
            yield piece
            piece, room = [], size
    if piece:
        yield piece


def _wake_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # a cancelled flush leaves its waiter behind
        waiter.set_result(None)


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection for offline tools (``dhome state dump``) while a hub runs."""
    if not path.exists():
        raise FileNotFoundError(f"no hub database at {path}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
