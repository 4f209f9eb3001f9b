"""The energy panel and the null-version device end to end: real Mosquitto, the in-process hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.homie import HomieAdapter
from dhi.models import CommandRequest
from tests.adapters.homie.device import SimulatedHomie
from tests.adapters.mqtt.helpers import broker_config, eventually, invalid_count, running_hub, state_value
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

PANEL = "homie:energy-panel"
VALUES = {
    "lugs-upstream/imported-energy": "18234.5", "lugs-upstream/exported-energy": "4120.25",
    "lugs-upstream/current-a": "31.5", "lugs-upstream/current-b": "28.25",
    "lugs-upstream/voltage-a": "121.2", "lugs-upstream/voltage-b": "120.8",
    "power-flows/pv": "4200", "power-flows/battery": "-1500", "power-flows/grid": "350", "power-flows/site": "3050",
    "bess/soc": "76", "bess/soe": "10.1", "bess/nameplate-capacity": "13.5", "core/breaker-rating": "200",
    "core/grid-import-limit": "150", "core/door": "CLOSED", "kitchen/relay": "OPEN",
}  # fmt: skip


async def test_panel_values_each_land_on_their_own_property(mosquitto: Mosquitto, tmp_path: Path) -> None:
    config = {"broker": broker_config(mosquitto.url), "command_timeout": 5}
    with MqttPeer(mosquitto, "panel") as peer:
        panel = SimulatedHomie(peer, "energy-panel", VALUES)
        garage = SimulatedHomie(peer, "null-version", {"sensor/battery": "64", "sensor/temperature": "7.5"})
        panel.start()
        garage.start()
        async with running_hub(tmp_path, "homie", HomieAdapter, config) as hub:

            async def until(comp: str, cap: str, prop: str, expected: object, device: str = PANEL) -> None:
                await eventually(
                    lambda: state_value(hub, device, comp, cap, prop) == expected, what=f"{comp} {cap}.{prop}"
                )

            await until("lugs_upstream", "dhi.energy", "energy", 18234.5)
            await until("lugs_upstream", "dhi.energy", "produced_energy", 4120.25)
            await until("lugs_upstream_phase_a", "dhi.current", "current", 31.5)
            await until("lugs_upstream_phase_b", "dhi.current", "current", 28.25)
            await until("lugs_upstream_phase_b", "dhi.voltage", "voltage", 120.8)
            for flow, watts in (("pv", 4200), ("battery", -1500), ("grid", 350), ("site", 3050)):
                await until(f"power_flows_{flow}", "dhi.power", "power", watts)
            await until("bess", "dhi.battery", "percentage", 76)
            await until("bess", "x.homie.bess", "nameplate_capacity", 13.5)
            await until("core", "x.homie.core", "breaker_rating", 200)
            # a limit is a setting: written as a vendor property, never a current reading
            result = await hub.execute(
                CommandRequest(
                    id="lim", device=PANEL, component="core", capability="x.homie.core", command="set",
                    params={"grid_import_limit": 100},
                )
            )  # fmt: skip
            assert result.status == "ok", result
            assert panel.sets[-1] == ("core/grid-import-limit", "100")
            await until("core", "x.homie.core", "grid_import_limit", 100)
            await until("core", "dhi.contact", "contact", True)
            await until("kitchen", "dhi.on_off", "on", False)
            result = await hub.execute(
                CommandRequest(
                    id="on", device=PANEL, component="kitchen", capability="dhi.on_off", command="on"
                )
            )
            assert result.status == "ok" and panel.sets[-1] == ("kitchen/relay", "CLOSED"), result
            await until("kitchen", "dhi.on_off", "on", True)
            # version null: read anyway
            await until("sensor", "dhi.battery", "percentage", 64, device="homie:null-version")
            assert invalid_count(hub, "homie") == 0
