"""``dhome token``: works offline on the hub's SQLite file, also while the hub is running."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from click.testing import Result
from typer.testing import CliRunner

from hub.cli.token import app
from tests.api.support import running_hub


async def cli(*args: str) -> Result:
    # the command runs its own event loop, so it runs in a thread beside the test's
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_token_created_by_the_cli_works_on_a_running_hub_until_revoked(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path) as h:
        result = await cli("create", "--scope", "read,control", "--name", "kitchen tablet",
                           "--data-dir", str(tmp_path), "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
        created = json.loads(result.stdout)
        assert created["scopes"] == ["read", "control"] and created["token"].startswith("dhk_")
        headers = {"Authorization": f"Bearer {created['token']}"}
        async with http.get(h.url + "/devices", headers=headers) as resp:
            assert resp.status == 200

        listed = await cli("list", "--data-dir", str(tmp_path), "--json")
        assert listed.exit_code == 0
        tokens = {t["id"]: t for t in json.loads(listed.stdout)}
        assert "token" not in tokens[created["id"]] and tokens[created["id"]]["name"] == "kitchen tablet"

        revoked = await cli("revoke", created["id"], "--data-dir", str(tmp_path))
        assert revoked.exit_code == 0, revoked.output
        async with http.get(h.url + "/devices", headers=headers) as resp:
            assert resp.status == 401


async def test_plain_output_prints_the_secret_once_on_its_own_line(tmp_path: Path) -> None:
    result = await cli("create", "--scope", "admin", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("dhk_")
    listed = await cli("list", "--data-dir", str(tmp_path))
    assert secret not in listed.stdout and "admin" in listed.stdout


async def test_bad_scope_is_a_clear_error(tmp_path: Path) -> None:
    result = await cli("create", "--scope", "read,superuser", "--data-dir", str(tmp_path))
    assert result.exit_code != 0
    assert "superuser" in str(result.exception) or "superuser" in result.output
    missing = await cli("revoke", "tok_nope", "--data-dir", str(tmp_path))
    assert missing.exit_code != 0
