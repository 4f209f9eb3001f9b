"""The data directory and the database files are private to the hub's user whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.core import Hub


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("loose_umask")
async def test_a_new_data_directory_is_0700_and_the_database_files_0600(tmp_path: Path) -> None:
    data = tmp_path / "home" / "data"
    async with Hub(HubConfig(), data_dir=data) as hub:
        await hub.storage.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
        files = sorted(data.glob("dhome.db*"))
        assert {f.name for f in files} >= {"dhome.db", "dhome.db-wal", "dhome.db-shm"}
        assert mode(data) == 0o700
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


@pytest.mark.usefixtures("loose_umask")
async def test_an_existing_loose_directory_is_warned_about_and_its_files_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "dhome.db-wal").write_bytes(b"")  # left by an older hub, 0644
    with caplog.at_level(logging.WARNING, logger="hub.private"):
        async with Hub(HubConfig(), data_dir=data):
            pass
    assert any(
        "readable by other users" in r.getMessage() and "755" in r.getMessage() for r in caplog.records
    )
    assert mode(data / "dhome.db") == 0o600
