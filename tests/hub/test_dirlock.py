"""One hub per data directory, and a taken API port, told in one clear message (zh-CN and
English) instead of a traceback — and nothing of the refused start left behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dhi.errors import ConfigError, Conflict
from hub.cli.run import default_services
from hub.config import HubConfig
from hub.core import Hub


def _api_on(port: int) -> HubConfig:
    return HubConfig.model_validate({"api": {"enabled": True, "port": port, "health_server": False}})


async def test_a_second_hub_on_the_same_data_directory_is_refused_until_the_first_stops(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = Hub(HubConfig(), data_dir=data)
    await first.start()
    try:
        await first.storage.execute("INSERT INTO meta (key, value) VALUES ('mine', 'first')")
        second = Hub(HubConfig(), data_dir=data)
        with pytest.raises(Conflict) as refused:
            await second.start()
        assert refused.value.field == "data_dir"
        assert str(data) in refused.value.message
        assert f"进程 {os.getpid()}" in refused.value.message
        assert f"process {os.getpid()}" in refused.value.message
        assert not second.dir_lock.held
        row = await first.storage.fetchone("SELECT value FROM meta WHERE key = 'mine'")
        assert row is not None and row[0] == "first"  # the running hub goes on undisturbed
    finally:
        await first.stop()
    assert not first.dir_lock.held
    async with Hub(HubConfig(), data_dir=data) as third:  # once the first has stopped
        assert third.dir_lock.held
    assert oct((data / "dhome.lock").stat().st_mode & 0o777) == "0o600"


async def test_a_taken_api_port_is_a_config_error_and_leaves_the_directory_free(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        hub = Hub(_api_on(port), data_dir=data)
        default_services(hub)
        with pytest.raises(ConfigError) as refused:
            await hub.start()
    assert refused.value.field == "api.port"
    assert f"127.0.0.1:{port}" in refused.value.message
    assert "无法" in refused.value.message and "cannot listen" in refused.value.message
    assert not hub.dir_lock.held
    async with Hub(HubConfig(), data_dir=data):  # the refused start left nothing behind
        pass


async def test_dhome_run_says_which_hub_holds_the_directory_in_one_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Hub(HubConfig(), data_dir=data):
        out = subprocess.run(
            [sys.executable, "-m", "hub.cli", "run", "--port", "0", "--data-dir", str(data)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, out.stderr  # the message in Chinese, then in English
    assert "另一个 dhome 中枢" in errors[0] and str(os.getpid()) in errors[0]
    assert "another dhome hub" in errors[1] and str(data) in errors[1]
