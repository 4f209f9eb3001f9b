"""``dhome state``: look into a hub's database without the hub (read-only, safe while it runs)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hub.cli.common import DataDirOption, data_dir_or_default
from hub.core import DB_NAME
from hub.storage import read_only

app = typer.Typer(help="Inspect a hub's stored state.", no_args_is_help=True)


@app.command("dump")
def dump(
    data_dir: DataDirOption = None,
    device: Annotated[str | None, typer.Option("--device", help="Only this device.")] = None,
) -> None:
    """Offline JSON dump of devices, latest state, active alerts and outbox depth."""
    path = data_dir_or_default(data_dir) / DB_NAME
    conn = read_only(path)
    try:
        devices: dict[str, Any] = {}
        for dev_id, adapter, desc, available in conn.execute(
            "SELECT id, adapter, description, available FROM devices ORDER BY id"
        ):
            if device and dev_id != device:
                continue
            d = json.loads(desc)
            devices[dev_id] = {"name": d.get("name"), "room": d.get("room"), "adapter": adapter,
                               "available": bool(available), "state": {}}  # fmt: skip
        for dev_id, comp, cap, prop, value, time in conn.execute(
            "SELECT device, component, capability, property, value, time FROM state ORDER BY device"
        ):
            if dev_id in devices:
                devices[dev_id]["state"].setdefault(comp, {}).setdefault(cap, {})[prop] = {
                    "value": json.loads(value), "time": time,
                }  # fmt: skip
        alerts = [json.loads(b) for (b,) in conn.execute(
            "SELECT body FROM alerts WHERE state != 'cleared' ORDER BY last_seen DESC")]  # fmt: skip
        outbox = dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    finally:
        conn.close()
    out = {"database": str(path), "devices": devices, "active_alerts": alerts, "outbox": outbox}
    print(json.dumps(out, ensure_ascii=False, indent=2))
