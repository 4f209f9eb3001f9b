"""SQLite storage: committed state survives restarts and kill -9; migrations are versioned."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.config import HubConfig
from hub.core import DB_NAME, Hub
from hub.storage import _PIECE_ROWS, MIGRATIONS, Storage, _insert_rows, _pieces, _Rows
from tests.hub.conftest import HubFactory
from tests.hub.toys import LampAdapter

DHOME = [sys.executable, "-m", "hub.cli"]


async def test_registry_and_state_are_back_after_restart(make_hub: HubFactory) -> None:
    spec = [{"type": "toy", "name": "toy", "config": {"devices": 3, "period": 0.005}}]
    hub = make_hub(spec)
    async with hub:
        await hub.supervisor.wait_running("toy")
        await asyncio.sleep(0.1)
        result = await hub.execute(
            __import__("dhi.models", fromlist=["CommandRequest"]).CommandRequest(
                id="x", device="toy:lamp2", capability="dhi.on_off", command="on"
            )
        )
        assert result.status == "ok"
    before = {(r.id, r.description.name) for r in hub.registry.all()}
    on_before = hub.state.get("toy:lamp2", "main", "dhi.on_off", "on")
    hub2 = make_hub(spec, adapter_classes={"toy": LampAdapter})
    await hub2.storage.open()
    await hub2.registry.load()
    await hub2.state.load()
    try:
        assert {(r.id, r.description.name) for r in hub2.registry.all()} == before
        restored = hub2.state.get("toy:lamp2", "main", "dhi.on_off", "on")
        assert restored is not None and on_before is not None
        assert restored.value is True and restored.time == on_before.time
    finally:
        await hub2.storage.close()


async def test_schema_version_is_recorded_and_newer_files_are_refused(tmp_path: Path) -> None:
    hub = Hub(HubConfig(), data_dir=tmp_path)
    async with hub:
        pass
    conn = sqlite3.connect(tmp_path / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer dhome"):
        async with Hub(HubConfig(), data_dir=tmp_path):
            pass


def _dump(data_dir: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [*DHOME, "state", "dump", "--data-dir", str(data_dir)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_kill_9_loses_no_committed_state(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "hub.yaml"
    cfg.write_text("api: {enabled: false}\nmdns: {enabled: false}\n", encoding="utf-8")
    env = os.environ | {"DHOME_LOG_LEVEL": "warning"}
    log = (tmp_path / "hub.log").open("wb")
    proc = subprocess.Popen(
        [*DHOME, "run", "--demo", "--config", str(cfg), "--data-dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=log, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        snapshot: dict = {}  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if (data / DB_NAME).exists():
                snapshot = _dump(data)
                with_state = [d for d in snapshot["devices"].values() if d["state"]]
                if len(with_state) >= 20:
                    break
        assert len(snapshot.get("devices", {})) >= 20, "the demo home never appeared in the database"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    after = _dump(data)
    # everything committed before the kill is still there, value for value or newer
    for dev_id, dev in snapshot["devices"].items():
        assert dev_id in after["devices"]
        for comp, caps in dev["state"].items():
            for cap, props in caps.items():
                for prop, val in props.items():
                    kept = after["devices"][dev_id]["state"][comp][cap][prop]
                    assert kept["time"] >= val["time"]
    conn = sqlite3.connect(data / DB_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    # and a new hub starts on the same file with the registry back
    restarted = subprocess.Popen(
        [*DHOME, "run", "--config", str(cfg), "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=log, env=env, text=True,
    )  # fmt: skip
    try:
        # the start banner's last line comes just before the event loop takes over Ctrl-C;
        # a SIGINT during a slow interpreter start would otherwise end it with 130
        assert restarted.stdout is not None
        for line in restarted.stdout:
            if "Ctrl-C" in line:
                break
        time.sleep(2)
        assert restarted.poll() is None, (tmp_path / "hub.log").read_text()
        assert set(_dump(data)["devices"]) >= set(snapshot["devices"])
    finally:
        restarted.send_signal(signal.SIGINT)
        restarted.communicate(timeout=20)  # drains and closes its stdout
        assert restarted.returncode == 0
        log.close()


async def test_wal_is_checkpointed_off_the_commit_path_and_truncated_on_close(tmp_path: Path) -> None:
    """Commits never checkpoint (a checkpoint's fsync would stall them); the checkpointer's
    own connection keeps the WAL from growing, and close leaves an empty WAL behind."""
    storage = Storage(tmp_path / "s.db", checkpoint_interval=0.05)
    await storage.open()
    wal = tmp_path / "s.db-wal"
    try:
        for batch in range(30):
            for i in range(500):
                storage.write_row(
                    "INSERT INTO history (device, component, capability, property, value, time) "
                    "VALUES (?,?,?,?,?,?)",
                    (f"d{i}", "main", "dhi.temperature", "temperature", str(batch), "2026-01-01T00:00:00Z"),
                )
            await storage.flush()
            await asyncio.sleep(0.01)
        # every frame written so far ends up in the database file (PASSIVE: no waiting)
        async with asyncio.timeout(10):
            while True:
                probe = sqlite3.connect(tmp_path / "s.db")
                busy, log_frames, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                probe.close()
                if busy == 0 and log_frames == done and storage._checkpointer.checkpoints > 0:  # type: ignore[union-attr]
                    break
                await asyncio.sleep(0.05)
        assert wal.stat().st_size > 0
    finally:
        await storage.close()
    assert wal.stat().st_size == 0 if wal.exists() else True
    rows = sqlite3.connect(tmp_path / "s.db").execute("SELECT count(*) FROM history").fetchone()[0]
    assert rows == 30 * 500


STATE_UPSERT = (
    "INSERT INTO state (device, component, capability, property, value, time, source) "
    "VALUES (?,?,?,?,?,?,?) ON CONFLICT(device, component, capability, property) "
    "DO UPDATE SET value=excluded.value"
)


async def test_row_writes_keep_their_order_around_ordinary_writes(tmp_path: Path) -> None:
    """write_row groups rows into one executemany, but never moves them across a write()."""
    storage = Storage(tmp_path / "s.db")
    await storage.open()
    key = ("d", "main", "dhi.on_off", "on")
    try:
        storage.write_row(STATE_UPSERT, (*key, "1", "t", None))
        storage.write("DELETE FROM state WHERE device = ?", ("d",))
        storage.write_row(STATE_UPSERT, (*key, "2", "t", None))
        storage.write_row(STATE_UPSERT, (*key, "3", "t", None))
        storage.write("UPDATE state SET value = '4' WHERE value = '1'")  # must find nothing
        await storage.flush()
        assert await storage.fetchall("SELECT value FROM state") == [("3",)]
        assert storage.writes_committed == 5
    finally:
        await storage.close()


async def test_latest_rows_keep_only_the_newest_per_key_and_their_order(tmp_path: Path) -> None:
    """write_latest writes one row per key per batch (the newest), never across a write()."""
    storage = Storage(tmp_path / "s.db")
    await storage.open()
    a, b = ("a", "main", "dhi.level", "level"), ("b", "main", "dhi.level", "level")
    try:
        for i in range(10):
            storage.write_latest(STATE_UPSERT, a, (*a, str(i), "t", None))
        storage.write_latest(STATE_UPSERT, b, (*b, "b1", "t", None))
        storage.write("DELETE FROM state WHERE device = ?", ("a",))
        storage.write_latest(STATE_UPSERT, a, (*a, "after", "t", None))
        await storage.flush()
        assert sorted(await storage.fetchall("SELECT device, value FROM state")) == [
            ("a", "after"),
            ("b", "b1"),
        ]
        assert storage.writes_committed == 4  # a's newest before the delete, b, the delete, a after
    finally:
        await storage.close()


async def test_history_is_indexed_for_the_api_query(tmp_path: Path) -> None:
    """The history API asks for one device's rows after a cursor, in seq order: SQLite
    answers it from the (device, seq) index, without sorting."""
    storage = Storage(tmp_path / "s.db")
    await storage.open()
    try:
        plan = await storage.fetchall(
            "EXPLAIN QUERY PLAN SELECT seq, value FROM history WHERE device = ? AND seq > ? ORDER BY seq LIMIT 10",
            ("d", 0),
        )
    finally:
        await storage.close()
    details = " ".join(str(row[-1]) for row in plan)
    assert "history_device_seq" in details
    assert "TEMP B-TREE" not in details


_CELLS = (
    st.none() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)  # fmt: skip


class _NoExecutemany(sqlite3.Connection):
    def executemany(self, *args: object, **kwargs: object) -> sqlite3.Cursor:
        raise AssertionError("the batch fell back to executemany")


@given(rows=st.lists(st.tuples(_CELLS, _CELLS, _CELLS), min_size=2, max_size=40))
def test_batched_rows_are_stored_exactly(rows: list[tuple[object, object, object]]) -> None:
    """A batch of rows reaches SQLite as one JSON array (``json_each``), never falling back
    for ordinary cells, and every cell comes back as exactly what was written: text (any
    Unicode, quotes, backslashes), 64-bit integers, doubles to the last bit, nulls. (Text
    with NUL characters takes executemany: SQLite's JSON functions would cut it there.)"""
    nul = any(isinstance(v, str) and "\x00" in v for row in rows for v in row)
    conn = sqlite3.connect(":memory:", factory=sqlite3.Connection if nul else _NoExecutemany)
    conn.execute("CREATE TABLE cells (n INTEGER PRIMARY KEY, a, b, c)")
    _insert_rows(conn, "INSERT INTO cells (a, b, c) VALUES (?, ?, ?)", rows)
    stored = conn.execute("SELECT a, b, c FROM cells ORDER BY n").fetchall()
    assert stored == rows
    for got, want in zip(stored, rows, strict=True):
        assert [type(v) for v in got] == [type(v) for v in want]


@pytest.mark.parametrize(
    "rows", [[(b"\x00\xff", 1), (b"", 2)], [("a\x00b", 1), ("", 2)]], ids=["bytes", "text-with-nul"]
)
def test_rows_json_cannot_carry_take_executemany(rows: list[tuple[object, object]]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE cells (a, b)")
    _insert_rows(conn, "INSERT INTO cells (a, b) VALUES (?, ?)", rows)
    assert conn.execute("SELECT a, b FROM cells").fetchall() == rows


def test_upserts_keep_their_conflict_clause() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v)")
    upsert = "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v"
    _insert_rows(conn, upsert, [("a", 1), ("b", 2)])
    _insert_rows(conn, upsert, [("a", 3), ("c", 4)])
    assert sorted(conn.execute("SELECT k, v FROM kv").fetchall()) == [("a", 3), ("b", 2), ("c", 4)]


HISTORY = "INSERT INTO history (device, component, capability, property, value, time) VALUES (?,?,?,?,?,?)"


async def test_telemetry_beyond_its_bound_keeps_the_newest_row_per_key_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    """A full telemetry queue replaces a key's pending row (counted); an unkeyed (safety) row
    is never replaced and first takes the room above the bulk bound (no wait for a commit:
    a smoke alarm's row must not hold the loop); rows that cannot replace one wait for a
    commit: the queue never grows past its bound and every row is accounted for."""
    storage = Storage(tmp_path / "s.db", batch_interval=5, telemetry_max=40)
    await storage.open()
    try:
        for i in range(100):
            for dev in ("a", "b"):
                key = (dev, "main", "dhi.temperature", "temperature")
                storage.write_telemetry(HISTORY, (*key, str(i), "t"), key)
            assert storage.telemetry_depth <= 40
        stalls = storage.stalls
        safety = ("s", "main", "dhi.smoke_alarm", "smoke")
        for v in ("true", "false", "true", "false", "true"):  # room for 4, the 5th waits
            storage.write_telemetry(HISTORY, (*safety, v, "t"))
            assert storage.telemetry_depth <= storage.telemetry_bound == 44
        assert storage.stalls == stalls + 1
        assert storage.telemetry_peak == 44
        await storage.flush()
        rows = await storage.fetchall("SELECT device, value FROM history ORDER BY seq")
    finally:
        await storage.close()
    assert len(rows) + storage.coalesced["history"] == 205
    assert [v for d, v in rows if d == "s"] == ["true", "false", "true", "false", "true"]
    for dev in ("a", "b"):
        values = [int(v) for d, v in rows if d == dev]
        assert values == sorted(values) and values[-1] == 99  # in order, the newest landed


async def test_close_waits_for_a_telemetry_chunk_still_on_its_thread(tmp_path: Path) -> None:
    """A chunk handed to the telemetry thread by a flush that was then cancelled is committed
    before the connection closes (closing under a running statement crashed the process)."""
    import threading

    path = tmp_path / "s.db"
    storage = Storage(path, batch_interval=5)
    await storage.open()
    key = ("a", "main", "dhi.temperature", "temperature")
    for i in range(500):
        storage.write_telemetry(HISTORY, (*key, str(i), "t"))
    loop = asyncio.get_running_loop()
    busy = threading.Event()
    loop.run_in_executor(storage._telemetry_pool, busy.wait)  # the telemetry thread is busy
    # handed over and not awaited, as a cancelled flush leaves it
    handed = loop.run_in_executor(
        storage._telemetry_pool, storage._commit_telemetry, *storage._take_telemetry()
    )
    loop.call_later(0.2, busy.set)
    await storage.close()
    assert handed.done() and handed.exception() is None
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM history").fetchone()[0] == 500


async def test_the_telemetry_thread_drains_chunk_after_chunk_without_the_event_loop(tmp_path: Path) -> None:
    """Under a burst the loop turns seldom; the telemetry thread commits every chunk of the
    queue by itself (it used to wait for a loop turn between chunks, and history thinned to a
    few per cent). Here the loop does not turn at all until every row is committed."""
    import threading

    path = tmp_path / "s.db"
    storage = Storage(path, batch_interval=5, batch_max=100)
    await storage.open()
    try:
        for i in range(450):  # five chunks
            storage.write_telemetry(HISTORY, ("a", "main", "dhi.temperature", "temperature", str(i), "t"))
        storage._drain_telemetry()
        stored = 0
        with sqlite3.connect(path) as conn:
            for _ in range(400):  # the loop thread waits here, without a turn of the event loop
                stored = conn.execute("SELECT count(*) FROM history").fetchone()[0]
                if stored == 450:
                    break
                threading.Event().wait(0.05)
        assert stored == 450
        assert storage.batches >= 5  # chunks of batch_max rows
        await storage.flush()  # returns at once: everything queued is committed
        assert storage.telemetry_depth == 0
    finally:
        await storage.close()


async def test_the_draining_thread_gives_way_to_safety_work_in_flight(tmp_path: Path) -> None:
    """While safety work is in flight (adapters.sdk.giveway) the telemetry thread starts no
    chunk: an alert's commit would wait behind it. Once the work is done it drains the rest;
    and a safety reading's row still takes the room above the bound meanwhile."""
    import threading

    from adapters.sdk.giveway import GIVE_WAY

    asked_there = threading.Event()
    urgent = [True]

    def safety_in_flight() -> bool:
        if threading.current_thread().name.startswith("dhome-sqlite-telemetry"):
            asked_there.set()
        return urgent[0]

    path = tmp_path / "s.db"
    storage = Storage(path, batch_interval=5, batch_max=100, telemetry_max=300)
    storage.give_way_hold = 60  # longer than the test: only the end of the safety work ends it
    remove = GIVE_WAY.add_source(safety_in_flight)
    await storage.open()
    try:
        for i in range(300):
            key = (f"t{i}", "main", "dhi.temperature", "temperature")
            storage.write_telemetry(HISTORY, (*key, "20", "t"), key)
        storage._drain_telemetry()
        assert await asyncio.to_thread(asked_there.wait, 30), "the telemetry thread asks"
        smoke = ("s", "main", "dhi.smoke_alarm", "smoke")
        storage.write_telemetry(HISTORY, (*smoke, "true", "t"))  # room above the bound: no wait
        assert storage.stalls == 0 and storage.telemetry_depth == 301
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM history").fetchone()[0] == 0
        assert storage.telemetry_holds >= 1
        urgent[0] = False
        await storage.flush()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM history").fetchone()[0] == 301
    finally:
        urgent[0] = False
        remove()
        await storage.close()


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=30), max_size=6),
    piece=st.integers(min_value=1, max_value=25),
)
def test_a_telemetry_chunk_is_cut_into_pieces_in_order(sizes: list[int], piece: int) -> None:
    batch: list[Any] = []
    for n, size in enumerate(sizes):
        rows = _Rows()
        rows.rows = [(n, i) for i in range(size)]
        batch.append((f"sql{n}", rows))
    pieces = list(_pieces(batch, piece))
    assert all(0 < sum(len(p.rows) for _, p in part) <= piece for part in pieces)
    flat = [(sql, row) for part in pieces for sql, p in part for row in p.rows]
    assert flat == [(sql, row) for sql, p in batch for row in p.rows]


async def test_an_alert_commit_goes_between_the_pieces_of_a_telemetry_chunk(tmp_path: Path) -> None:
    """An ordered write (an alert and its outbox rows) handed over while the telemetry thread
    commits a chunk waits for the piece in progress, not for the whole chunk: the order of
    the commits on the connection, as SQLite reports them, shows it."""
    import threading

    storage = Storage(tmp_path / "s.db", batch_interval=5, batch_max=4 * _PIECE_ROWS)
    await storage.open()
    loop = asyncio.get_running_loop()
    commits: list[str] = []
    alert: list[asyncio.Task[int]] = []

    async def raise_alert() -> None:
        alert.append(asyncio.create_task(storage.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")))
        await asyncio.sleep(0)  # the task's first step: the write is handed to the storage thread

    def trace(sql: str) -> None:
        if sql != "COMMIT":
            return
        telemetry = "telemetry" in threading.current_thread().name
        commits.append("telemetry" if telemetry else "alert")
        if telemetry and not alert:  # the chunk's first piece: now a smoke alarm's alert comes
            asyncio.run_coroutine_threadsafe(raise_alert(), loop).result(timeout=30)

    try:
        assert storage._conn is not None
        storage._conn.set_trace_callback(trace)
        key = ("a", "main", "dhi.temperature", "temperature")
        for i in range(3 * _PIECE_ROWS):
            storage.write_telemetry(HISTORY, (*key, str(i), "t"))
        await storage.flush()
        await alert[0]
        count = await storage.fetchone("SELECT count(*) FROM history")
    finally:
        await storage.close()
    assert count == (3 * _PIECE_ROWS,)
    assert commits[0] == "telemetry" and "alert" in commits
    assert commits[commits.index("alert") + 1 :].count("telemetry") >= 1, commits
