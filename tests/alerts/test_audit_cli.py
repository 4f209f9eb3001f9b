"""``dhome audit`` reads the log offline (the command function on a real hub database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dhi.models.subscription import Receiver, SubscriptionRequest, Transport
from hub.cli.audit import audit
from tests.alerts.support import SMOKE, running_home
from tests.bridges.receiver import SECRET


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(audit)
    app.command("noop")(lambda: None)  # two commands: `audit` is then a named subcommand
    return app


async def test_audit_lists_grants_shares_and_refusals(tmp_path: Path, cli: typer.Typer) -> None:
    async with running_home(tmp_path) as home:
        sub = await home.consent.create(
            SubscriptionRequest(
                receiver=Receiver(name="物业"), transport=Transport.WEBHOOK, endpoint="http://127.0.0.1:9/x",
                secret=SECRET, alert_kinds=["smoke"],
            ),
            actor="admin",
        )  # fmt: skip
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [e["action"] for e in entries] == ["subscription.created", "share.refused"]
    assert (
        entries[1]["subscription"] == sub.id
        and entries[1]["detail"]["reason"] == "no consent from the resident"
    )
    result = runner.invoke(cli, ["audit", "--data-dir", str(tmp_path), "--action", "share", "--json"])
    assert [e["action"] for e in json.loads(result.output)] == ["share.refused"]
    result = runner.invoke(cli, ["audit", "--data-dir", str(tmp_path)])  # the table for people
    assert result.exit_code == 0 and "admin" in result.output
    result = runner.invoke(cli, ["audit", "--data-dir", str(tmp_path), "--subscription", "nope"])
    assert "no audit entries matching" in result.output
