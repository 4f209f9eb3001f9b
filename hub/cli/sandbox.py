"""Where ``dhome simulate`` runs: a fresh temporary data directory, never a hub's.

A simulation raises alerts on a scenario's clock; in a real hub's directory those would be
loaded as open emergencies, and the hub's subscriptions would carry them to platforms. So the
default is a new temporary directory, removed afterwards, and ``--data-dir`` is refused when
it holds a hub's database — its device registry, subscriptions or API tokens, or a database
not yet filled. A directory a simulation made before carries a marker file and may be used again.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dhi.errors import ConfigError
from hub.core import DB_NAME

#: written into every directory a simulation uses, so it can be told from a hub's
MARKER = "SIMULATION"
MARKER_TEXT = "dhome simulate: a drill's data directory (not a hub's); safe to delete.\n"
#: the tables whose rows make a directory a hub's (query: how many rows count)
HUB_TABLES: tuple[tuple[str, str, str], ...] = (
    ("devices", "SELECT COUNT(*) FROM devices", "device(s) in its registry"),
    ("subscriptions", "SELECT COUNT(*) FROM subscriptions", "subscription(s)"),
    ("tokens", "SELECT COUNT(*) FROM tokens", "API token(s)"),
)


def hub_contents(data_dir: Path) -> list[str]:
    """What in ``data_dir`` belongs to a hub (empty: nothing). Reads the database read-only,
    so a hub running on it is not disturbed and its file is not changed."""
    db = data_dir / DB_NAME
    if not db.exists() or (data_dir / MARKER).exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"a {DB_NAME} that cannot be read ({exc})"]
    found = []
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, query, what in HUB_TABLES:
            if table in tables and (count := conn.execute(query).fetchone()[0]):
                found.append(f"{count} {what}")
    except sqlite3.Error as exc:
        found.append(f"a {DB_NAME} that cannot be read ({exc})")
    finally:
        conn.close()
    # a hub database with nothing in it yet is still a hub's (it was started there)
    return found or [f"a hub database, {DB_NAME}, not made by a simulation"]


def check_not_a_hub(data_dir: Path) -> None:
    found = hub_contents(data_dir)
    if found:
        raise ConfigError(
            f"--data-dir {data_dir}: this is a hub's data directory ({', '.join(found)}); a simulation "
            "never runs there (its alerts would be taken for real ones). Leave --data-dir out to use a "
            "fresh temporary directory, or name an empty one. "
            "模拟演练不能使用住宅中枢的数据目录。"
        )


@contextlib.contextmanager
def simulation_dir(data_dir: Path | None, *, keep: bool) -> Iterator[Path]:
    """The directory a simulation runs in: ``data_dir`` when it is not a hub's (never removed:
    the user named it), else a new temporary one, removed afterwards unless ``keep``."""
    if data_dir is not None:
        check_not_a_hub(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        yield data_dir
        return
    target = Path(tempfile.mkdtemp(prefix="dhome-simulate-"))
    (target / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    try:
        yield target
    finally:
        if not keep:
            shutil.rmtree(target, ignore_errors=True)
