"""Drills: ``dhome simulate`` never touches a hub's data nor tells its platforms, and a drill a
platform receives on purpose (a test subscription) is marked as an exercise — in the webhook's
CloudEvent and as CAP ``status`` Exercise, valid against the OASIS XSD.

The command runs as a real ``dhome`` process; the platform is a real loopback HTTP receiver
that verifies Standard Webhooks signatures.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import xmlschema
import yaml

from dhi.errors import ConfigError
from dhi.models.envelope import MessageType, wire_json
from dhi.models.subscription import Consent, Receiver, SubscriptionRequest, Transport
from hub.api.models import Scope
from hub.bridges.cap import CAP_NS, EXERCISE_NOTE
from hub.cli.run import build_config
from hub.cli.sandbox import MARKER, hub_contents, simulation_dir
from hub.core import DB_NAME
from tests.alerts.support import SMOKE, running_home
from tests.api.support import hub_config, running_hub
from tests.bridges.receiver import SECRET
from tests.bridges.receiver import Receiver as HttpReceiver

NS = {"cap": CAP_NS}
#: fast enough that kitchen_fire (90 scenario minutes) plays in well under a second
SPEED = "20000"
#: long before any scenario's clock: a consent the scenario cannot fall outside of
GRANTED = datetime(2020, 1, 1, tzinfo=UTC)


async def dhome(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.cli", *args, cwd=cwd, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(120):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.slow  # real dhome processes
async def test_simulate_leaves_a_hub_and_its_platform_alone(tmp_path: Path, receiver: HttpReceiver) -> None:
    hub_dir = tmp_path / ".dhome"  # the default data dir of a hub started in tmp_path
    async with running_home(hub_dir) as home:
        home.add(SMOKE)
        await home.consent.create(
            SubscriptionRequest(
                receiver=Receiver(name="阳光社区服务中心", kind="community"), transport=Transport.WEBHOOK,
                endpoint=receiver.url, secret=SECRET, alert_kinds=["smoke"],
                consent=Consent(granted_by="resident", granted_at=GRANTED),
            ),
            actor="resident",
        )  # fmt: skip
    assert hub_contents(hub_dir), "the set-up must look like a hub's directory"
    before = snapshot(hub_dir)

    # by default: a temporary directory, even with the hub's directory as the default one
    code, out = await dhome("simulate", "kitchen_fire", "--speed", SPEED, cwd=tmp_path,
                            env={"DHOME_DATA_DIR": str(hub_dir)})  # fmt: skip
    assert code == 0, out
    assert "drill" in out and "alert smoke" in out, out
    # pointed at the hub's directory: refused, saying why
    code, out = await dhome("simulate", "kitchen_fire", "--speed", SPEED, "--data-dir", str(hub_dir),
                            cwd=tmp_path)  # fmt: skip
    assert code == 1
    assert "hub's data directory" in out and "1 subscription(s)" in out, out

    assert receiver.received == [] and receiver.rejected == 0
    assert snapshot(hub_dir) == before
    async with running_home(hub_dir) as home:
        assert home.open_alerts() == []
        assert [s.id for s in home.consent.list_subscriptions()] != []  # still the hub it was


@pytest.mark.slow
async def test_a_deliberate_drill_reaches_a_test_subscription_marked_as_an_exercise(
    tmp_path: Path, receiver: HttpReceiver, shared_fixtures: Path
) -> None:
    xsd = shared_fixtures / "cap" / "CAP-v1.2.xsd"
    consent = {"granted_by": "resident", "granted_at": GRANTED.isoformat()}
    common = {"receiver": {"name": "阳光社区演练", "kind": "community"}, "endpoint": receiver.url,
              "secret": SECRET, "alert_kinds": ["smoke"], "consent": consent}  # fmt: skip
    config = {
        "home": {"id": "flat-12", "division_code": "110105"},
        "alerts": {
            "cap": {"xsd": str(xsd)},  # the hub itself refuses to send invalid CAP
            "subscriptions": [
                {"id": "drill-webhook", "transport": "webhook", **common},
                {"id": "drill-cap", "transport": "cap_http", **common},
            ],
        },
    }
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    code, out = await dhome("simulate", "kitchen_fire", "--speed", SPEED, "--config", str(path),
                            "--data-dir", str(tmp_path / "drill"), cwd=tmp_path)  # fmt: skip
    assert code == 0, out

    webhooks = [r.verified for r in receiver.received if r.content_type.endswith("json")]
    caps = [r.body for r in receiver.received if r.content_type == "application/cap+xml"]
    raised = [m for m in webhooks if m["type"] == MessageType.ALERT_RAISED]
    assert len(raised) == 1 and raised[0]["data"]["alert"]["kind"] == "smoke"
    assert all(m["drill"] is True and m["data"]["alert"]["drill"] is True for m in webhooks), webhooks
    assert caps, out
    schema = xmlschema.XMLSchema(str(xsd))
    for body in caps:
        schema.validate(body.decode("utf-8"))
        root = ET.fromstring(body)
        assert root.findtext("cap:status", namespaces=NS) == "Exercise"
        assert root.findtext("cap:note", namespaces=NS) == EXERCISE_NOTE
        headlines = [h.text or "" for h in root.findall("cap:info/cap:headline", NS)]
        assert headlines and headlines[0].startswith("演练") and headlines[1].startswith("Drill")
    # the kept directory's audit says the shares were a drill's
    with sqlite3.connect(f"file:{tmp_path / 'drill' / DB_NAME}?mode=ro", uri=True) as conn:
        details = [d for (d,) in conn.execute("SELECT detail FROM audit WHERE action LIKE 'share.%'")]
    assert details and all('"drill":true' in d for d in details), details


def test_a_simulation_directory_is_not_a_hub_s(tmp_path: Path) -> None:
    with simulation_dir(None, keep=False) as temp:
        assert (temp / MARKER).is_file()
    assert not temp.exists()
    with simulation_dir(tmp_path / "mine", keep=False) as mine:
        (mine / DB_NAME).write_bytes(b"not a database")  # a simulation's own file, marked
    assert mine.exists() and hub_contents(mine) == []
    (mine / MARKER).unlink()
    with pytest.raises(ConfigError, match="cannot be read"), simulation_dir(mine, keep=False):
        pass
    (tmp_path / "fresh").mkdir()
    sqlite3.connect(tmp_path / "fresh" / DB_NAME).execute("CREATE TABLE devices (id TEXT)").connection.close()
    with (
        pytest.raises(ConfigError, match="not made by a simulation"),
        simulation_dir(tmp_path / "fresh", keep=False),
    ):
        pass


async def test_a_drill_hub_marks_what_it_makes_and_a_real_hub_does_not(tmp_path: Path) -> None:
    for drill in (True, False):
        seen: list[Any] = []
        async with running_home(tmp_path / str(drill), drill=drill) as home:
            home.hub.bus.tap(seen.append, raw=True)
            home.add(SMOKE)
            home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
            await home.settle()
            [alert] = home.open_alerts()
            audit = await home.consent.audit()
        marked = {m.drill for m in seen} | {alert.drill} | {e["detail"].get("drill") for e in audit}
        assert marked == ({True} if drill else {None}), (drill, marked)
        state = next(m for m in seen if m.type == MessageType.STATE_CHANGED)
        assert ('"drill":true' in wire_json(state)) is drill


async def test_the_api_says_a_hub_runs_a_drill(tmp_path: Path) -> None:
    cfg, _ = build_config(
        None, demo=False, port=None, speed=None, drill=True
    )  # what `dhome run --drill` runs
    assert cfg.drill and not build_config(None, demo=False, port=None, speed=None)[0].drill
    config = hub_config()
    config.drill = True
    async with running_hub(tmp_path, config=config) as h, aiohttp.ClientSession() as http:
        async with http.get(h.url + "/health") as resp:
            assert (await resp.json())["drill"] is True
        async with http.get(h.url + "/events?since=0", headers=h.auth(Scope.READ)) as resp:
            events = (await resp.json())["items"]
    assert events and all(e["drill"] is True for e in events)
