"""``dhome outbox list/retry`` on a real hub database: dead letters are listed and resent, and
the hub delivers a resent entry under its original message id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app
from tests.alerts.support import SMOKE, running_home
from tests.bridges.receiver import Receiver
from tests.bridges.test_webhook_outbox import dead_of, request

SHORT = {"outbox": {"base_delay": 0.01, "max_delay": 0.02, "give_up_after": 0.1}}


async def test_dead_letters_are_listed_and_resent_from_the_command_line(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.up()
    runner = CliRunner()
    try:
        receiver.fail_with = 503
        async with running_home(tmp_path, alerts=SHORT) as home:
            sub = await home.consent.create(request(receiver.url, home), actor="admin")
            home.add(SMOKE)
            home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
            await home.settle()
            [dead] = await dead_of(home, sub.id)
        listed = runner.invoke(
            app, ["outbox", "list", "--data-dir", str(tmp_path), "--status", "dead", "--json"]
        )
        assert listed.exit_code == 0, listed.output
        [row] = json.loads(listed.output)
        assert row["message_id"] == dead["message_id"] and row["subscription"] == sub.id
        table = runner.invoke(app, ["outbox", "list", "--data-dir", str(tmp_path)])
        assert table.exit_code == 0 and "dead" in table.output
        wrong = runner.invoke(app, ["outbox", "retry", "--data-dir", str(tmp_path), "nonesuch"])
        assert wrong.exit_code == 1 and "not a dead letter" in wrong.output
        done = runner.invoke(app, ["outbox", "retry", "--data-dir", str(tmp_path), dead["message_id"]])
        assert done.exit_code == 0 and "1 dead letter" in done.output, done.output
        receiver.fail_with = None
        async with running_home(tmp_path, alerts=SHORT) as home:
            await receiver.wait_for(1)
            assert receiver.received[0].message_id == dead["message_id"]
            requeued = [e for e in await home.consent.audit(limit=1000) if e["action"] == "share.requeued"]
            assert requeued and requeued[0]["actor"].startswith("cli:")
            async with asyncio.timeout(10):
                while not await home.consent.deliveries(sub.id, state="delivered"):
                    await asyncio.sleep(0.02)
    finally:
        await receiver.down()
