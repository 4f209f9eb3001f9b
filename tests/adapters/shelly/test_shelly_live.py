"""Shelly end to end: real Mosquitto, the in-process hub, a simulated Gen2 device answering RPC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.shelly import ShellyAdapter
from dhi.models import CommandRequest
from tests.adapters.mqtt.helpers import (
    availability_log,
    broker_config,
    eventually,
    invalid_count,
    running_hub,
    state_value,
)
from tests.adapters.shelly.device import SimulatedShelly, load_dump, notify_status
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

PREFIX = "shellyplus1pm-aabbccddeeff"
DEV = "shelly:shellyplus1pm-aabbccddeeff"


def config(broker: Mosquitto) -> dict[str, object]:
    return {"broker": broker_config(broker.url), "rpc_timeout": 5}


async def test_discovery_state_and_commands(
    mosquitto: Mosquitto, tmp_path: Path, shared_fixtures: Path
) -> None:
    with MqttPeer(mosquitto, PREFIX, will=(f"{PREFIX}/online", "false")) as peer:
        device = SimulatedShelly(peer, PREFIX, load_dump(shared_fixtures))
        device.start()
        async with running_hub(tmp_path, "shelly", ShellyAdapter, config(mosquitto)) as hub:
            rec = await eventually(lambda: hub.registry.get(DEV), what="device discovered")
            assert rec.description.model == "SNSW-001P16EU"
            assert [c["method"] for c in device.calls[:3]] == [
                "Shelly.GetDeviceInfo",
                "Shelly.GetConfig",
                "Shelly.GetStatus",
            ]
            assert state_value(hub, DEV, "switch_0", "dhi.energy", "energy") == pytest.approx(0.110046)

            result = await hub.execute(
                CommandRequest(
                    id="c1", device=DEV, component="switch_0", capability="dhi.on_off", command="on"
                )
            )
            assert result.status == "ok", result
            assert device.calls[-1]["method"] == "Switch.Set" and device.calls[-1]["params"] == {
                "id": 0,
                "on": True,
            }
            await eventually(
                lambda: state_value(hub, DEV, "switch_0", "dhi.on_off", "on") is True,
                what="NotifyStatus applied",
            )

            toggled = await hub.execute(
                CommandRequest(
                    id="c2", device=DEV, component="switch_0", capability="dhi.on_off", command="toggle"
                )
            )
            assert toggled.status == "ok" and toggled.result == {"was_on": True}
            await eventually(
                lambda: state_value(hub, DEV, "switch_0", "dhi.on_off", "on") is False, what="toggled off"
            )

            # the device's RPC error comes back as a precise DHI error
            adapter = hub.supervisor.slots["shelly"].instance
            device.status.pop("switch:0")
            failed = await adapter.execute(
                CommandRequest(
                    id="c3", device=DEV, component="switch_0", capability="dhi.on_off", command="off"
                )
            )
            assert failed.error is not None and failed.error.code == "unsupported"
            assert "-105" in failed.error.message

            # a power reading pushed by the device
            device.notify(notify_status("switch:0", {"id": 0, "apower": 12.5}))
            await eventually(
                lambda: state_value(hub, DEV, "switch_0", "dhi.power", "power") == 12.5, what="power"
            )
            peer.publish(f"{PREFIX}/events/rpc", b"{broken")
            await eventually(lambda: invalid_count(hub, "shelly") == 1, what="invalid counted")

            peer.kill()  # LWT "false"
            await eventually(lambda: not hub.registry.get(DEV).available, what="offline via LWT")  # type: ignore[union-attr]


async def test_broker_restart_is_survived(
    mosquitto: Mosquitto, tmp_path: Path, shared_fixtures: Path
) -> None:
    with MqttPeer(mosquitto, PREFIX) as peer:
        device = SimulatedShelly(peer, PREFIX, load_dump(shared_fixtures))
        device.start()
        async with running_hub(tmp_path, "shelly", ShellyAdapter, config(mosquitto)) as hub:
            await eventually(lambda: hub.registry.get(DEV), what="device discovered")
            probes = sum(1 for c in device.calls if c["method"] == "Shelly.GetStatus")
            changes = availability_log(hub, DEV)
            mosquitto.restart()
            # unavailable while the broker is down, available again once the retained
            # availability is replayed to the re-subscribed adapter
            await eventually(lambda: changes[-2:] == [False, True], what="down, then up again")
            # and its state is read again: the device may have changed while the broker was down
            await eventually(
                lambda: sum(1 for c in device.calls if c["method"] == "Shelly.GetStatus") > probes,
                what="re-probed",
            )
            await peer.wait_connected()
            device.notify(notify_status("switch:0", {"id": 0, "apower": 99.0}))
            await eventually(
                lambda: state_value(hub, DEV, "switch_0", "dhi.power", "power") == 99.0, what="new state"
            )
    with MqttPeer(mosquitto, "observer") as observer:
        observer.subscribe(f"{PREFIX}/online")
        online = await observer.wait_for(f"{PREFIX}/online")
        assert online.retain and online.payload == b"true"
        assert json.loads(json.dumps(device.status))["switch:0"]["output"] is False
