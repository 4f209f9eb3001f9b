"""Home Assistant → dhome against a real Home Assistant (tests/support/homeassistant.py).

1. HA's template entities appear as DHI devices with the catalog's capabilities; a dhome
   command changes HA's state and HA's new state comes back.
2. A smoke alarm HA reaches (a template binary_sensor with device_class smoke, switched by an
   input_boolean) raises dhome's smoke alert, delivered to a consented platform's webhook.
3. Loop safety: an entity dhome's bridge published into HA (MQTT discovery, unique_id
   ``dhome:…``) is never imported back; another MQTT entity is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.home_assistant import HomeAssistantAdapter
from dhi.models import CommandRequest
from dhi.models.subscription import Consent, Receiver, SubscriptionRequest, Transport
from hub.alerts.engine import AlertEngine
from hub.config import HubConfig
from hub.consent import ConsentService
from hub.core import Hub
from hub.outbox import Outbox
from hub.supervisor import Backoff
from tests.adapters.mqtt.helpers import availability_log, eventually, invalid_count, state_value
from tests.bridges.receiver import SECRET
from tests.bridges.receiver import Receiver as HttpReceiver
from tests.support.homeassistant import HomeAssistant, MqttLogin
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow

INSTANCE = "ha"


@asynccontextmanager
async def hub_with(tmp_path: Path, ha: HomeAssistant, **extra: Any) -> AsyncIterator[Hub]:
    """A real in-process hub running the adapter against ``ha``, with the alert and sharing services."""
    cfg = HubConfig.model_validate(
        {
            "home": {"id": "flat-ha"},
            "adapters": [
                {
                    "type": "home_assistant",
                    "name": INSTANCE,
                    "config": {"url": ha.url, "token": ha.token, **extra},
                }
            ],
            "command_timeout": 10,
            "alerts": {"outbox": {"base_delay": 0.1, "max_delay": 0.5}},
        }
    )
    hub = Hub(
        cfg,
        data_dir=tmp_path / "hub",
        adapter_classes={"home_assistant": HomeAssistantAdapter},
        backoff=Backoff(initial=0.05, maximum=0.5),
    )
    consent = ConsentService()
    hub.add_service(consent)
    hub.add_service(Outbox(consent))
    hub.add_service(AlertEngine())
    async with hub:
        await hub.supervisor.wait_running(INSTANCE)
        yield hub


def devices_of(hub: Hub) -> dict[str, Any]:
    return {
        r.description.name: r.description for r in hub.registry.all() if r.description.adapter == INSTANCE
    }


async def test_entities_become_devices_and_commands_reach_home_assistant(
    homeassistant: HomeAssistant, tmp_path: Path
) -> None:
    async with hub_with(tmp_path, homeassistant) as hub:
        found = await eventually(lambda: len(devices_of(hub)) >= 7 and devices_of(hub), what="devices")
        assert set(found) >= {
            "Kitchen smoke",
            "Living room temperature",
            "Living room comfort",
            "Hall light",
            "Kettle",
        }
        # HA's helpers (input_*) and machinery (zone) are not devices of the home
        assert not [n for n in found if "(raw)" in n or n == "Home"]
        caps = {name: d.capability_ids() for name, d in found.items()}
        assert caps["Kitchen smoke"] == ["dhi.smoke_alarm"]
        assert caps["Living room temperature"] == ["dhi.temperature"]
        assert set(caps["Hall light"]) == {"dhi.on_off", "dhi.level"}
        assert caps["Kettle"] == ["dhi.on_off"]
        assert caps["Living room comfort"] == ["x.home_assistant.sensor"]  # no catalog row: kept as vendor

        temp = found["Living room temperature"].id
        assert state_value(hub, temp, "main", "dhi.temperature", "temperature") == 21.5
        homeassistant.call_service(
            "input_number", "set_value", entity_id="input_number.living_temperature_raw", value=24.2
        )
        await eventually(
            lambda: state_value(hub, temp, "main", "dhi.temperature", "temperature") == 24.2,
            what="state_changed followed",
        )
        comfort = found["Living room comfort"].id
        assert state_value(hub, comfort, "main", "x.home_assistant.sensor", "state") == "cosy"

        light = found["Hall light"].id
        assert state_value(hub, light, "main", "dhi.on_off", "on") is False
        result = await hub.execute(
            CommandRequest(
                id="c1",
                device=light,
                component="main",
                capability="dhi.level",
                command="set_level",
                params={"level": 40},
            )
        )
        assert result.status == "ok", result
        await eventually(lambda: state_value(hub, light, "main", "dhi.on_off", "on") is True, what="light on")
        assert homeassistant.state("light.hall")["state"] == "on"
        assert homeassistant.state("input_number.hall_light_level")["state"] == "102.0"  # 40 % of 255
        await eventually(
            lambda: state_value(hub, light, "main", "dhi.level", "level") == 40.0, what="level back"
        )

        kettle = found["Kettle"].id
        result = await hub.execute(
            CommandRequest(
                id="c2", device=kettle, component="main", capability="dhi.on_off", command="toggle"
            )
        )
        assert result.status == "ok", result
        await eventually(
            lambda: state_value(hub, kettle, "main", "dhi.on_off", "on") is True, what="kettle on"
        )
        assert homeassistant.state("input_boolean.kettle_power")["state"] == "on"
        result = await hub.execute(
            CommandRequest(
                id="c3",
                device=kettle,
                component="main",
                capability="dhi.on_off",
                command="set",
                params={"on": False},
            )
        )
        assert result.status == "ok", result
        await eventually(
            lambda: state_value(hub, kettle, "main", "dhi.on_off", "on") is False, what="kettle off"
        )

        door = found["Front door"].id
        assert caps["Front door"] == ["dhi.lock"]
        assert state_value(hub, door, "main", "dhi.lock", "lock_state") == "unlocked"
        result = await hub.execute(
            CommandRequest(id="c5", device=door, component="main", capability="dhi.lock", command="lock")
        )
        assert result.status == "ok", result
        await eventually(
            lambda: state_value(hub, door, "main", "dhi.lock", "lock_state") == "locked", what="locked"
        )
        assert homeassistant.state("input_boolean.front_door_locked")["state"] == "on"

        curtain = found["Bedroom curtain"].id
        assert caps["Bedroom curtain"] == ["dhi.window_covering"]
        result = await hub.execute(
            CommandRequest(
                id="c6",
                device=curtain,
                component="main",
                capability="dhi.window_covering",
                command="set_position",
                params={"position": 60},
            )
        )
        assert result.status == "ok", result
        await eventually(
            lambda: state_value(hub, curtain, "main", "dhi.window_covering", "position") == 60,
            what="curtain moved",
        )
        assert homeassistant.state("input_number.curtain_position")["state"] == "60.0"

        # a template fan: on with HA's preset "sleep" (no DHI mode: on), its speed, and dhome
        # turning it off, choosing a preset and a speed through HA's fan services
        fan = found["Bedroom fan"].id
        assert caps["Bedroom fan"] == ["dhi.fan"]
        assert state_value(hub, fan, "main", "dhi.fan", "mode") == "off"
        assert state_value(hub, fan, "main", "dhi.fan", "speed") == 50
        for params, helper, shown in (
            ({"mode": "auto"}, "input_select.fan_preset", "auto"),
            ({"speed": 80}, "input_number.fan_percentage", "80.0"),
            ({"mode": "on"}, "input_boolean.fan_power", "on"),
        ):
            result = await hub.execute(CommandRequest(id=f"fan-{helper}", device=fan, component="main",
                                                      capability="dhi.fan", command="set", params=params))  # fmt: skip
            assert result.status == "ok", result
            await eventually(
                lambda h=helper, v=shown: homeassistant.state(h)["state"] == v, what=f"fan {params}"
            )
        await eventually(
            lambda: state_value(hub, fan, "main", "dhi.fan", "mode") == "auto", what="fan mode back"
        )
        assert state_value(hub, fan, "main", "dhi.fan", "speed") == 80

        # a command the entity cannot take is a clear error, not a call HA would refuse
        smoke = found["Kitchen smoke"].id
        refused = await hub.execute(
            CommandRequest(
                id="c4", device=smoke, component="main", capability="dhi.smoke_alarm", command="self_test"
            )
        )
        assert refused.status == "error" and refused.error is not None
        assert invalid_count(hub, INSTANCE) == 0


async def test_smoke_from_home_assistant_reaches_a_consented_platform(
    homeassistant: HomeAssistant, tmp_path: Path, receiver: HttpReceiver
) -> None:
    async with hub_with(tmp_path, homeassistant) as hub:
        consent = next(s for s in hub.services if isinstance(s, ConsentService))
        await consent.create(
            SubscriptionRequest(
                receiver=Receiver(name="Property office", kind="property"),
                transport=Transport.WEBHOOK,
                endpoint=receiver.url,
                secret=SECRET,
                alert_kinds=["smoke"],
                consent=Consent(granted_by="resident", granted_at=hub.clock.now()),
            ),
            actor="admin",
        )
        smoke = await eventually(lambda: devices_of(hub).get("Kitchen smoke"), what="smoke sensor imported")
        assert state_value(hub, smoke.id, "main", "dhi.smoke_alarm", "smoke") is False
        homeassistant.call_service("input_boolean", "turn_on", entity_id="input_boolean.kitchen_smoke_raw")
        await receiver.wait_for(1)
        event = receiver.received[0].verified
        assert event["type"] == "org.dhi.v1.alert.raised"
        alert = event["data"]["alert"]
        assert alert["kind"] == "smoke" and alert["devices"] == [smoke.id]
        homeassistant.call_service("input_boolean", "turn_off", entity_id="input_boolean.kitchen_smoke_raw")


async def test_dhome_entities_are_never_imported_back(
    mosquitto: Mosquitto, homeassistant_factory: Callable[..., HomeAssistant], tmp_path: Path
) -> None:
    ha = homeassistant_factory(mqtt=MqttLogin(mosquitto.host, mosquitto.port), home=None)
    with MqttPeer(mosquitto, "loop-test") as peer:

        def announce(node: str, unique_id: str, ident: str, name: str) -> None:
            peer.publish(
                f"homeassistant/sensor/{node}/t/config",
                {
                    "name": "Temperature",
                    "unique_id": unique_id,
                    "state_topic": f"loop/{node}/t",
                    "device_class": "temperature",
                    "unit_of_measurement": "°C",
                    "device": {"identifiers": [ident], "name": name},
                },
                retain=True,
            )
            peer.publish(f"loop/{node}/t", "19.5", retain=True)

        announce(
            "dhome_flat_a",
            "dhome:flat-a:virtual:bedroom:main:temperature",
            "dhome:flat-a:virtual:bedroom",
            "Bedroom (dhome)",
        )
        announce("other", "other_probe_t", "other-probe", "Other probe")
        await eventually(
            lambda: (
                len([s for s in ha.api("GET", "/api/states") if s["entity_id"].startswith("sensor.")]) >= 2
            ),
            what="both in HA",
        )
        async with hub_with(tmp_path, ha) as hub:
            found = await eventually(
                lambda: devices_of(hub).get("Other probe") and devices_of(hub), what="other imported"
            )
            assert "Bedroom (dhome)" not in found
            [probe] = [d for n, d in found.items() if n == "Other probe"]
            assert probe.components[0].capabilities[0].id == "dhi.temperature"


async def test_home_assistant_restart_is_survived(
    homeassistant_factory: Callable[..., HomeAssistant], tmp_path: Path
) -> None:
    """HA dying makes its devices unavailable; once it is back the adapter reconnects and reads
    the home again (the token and the entities are HA's own, kept across the restart)."""
    ha = homeassistant_factory()
    async with hub_with(tmp_path, ha) as hub:
        kettle = (await eventually(lambda: devices_of(hub).get("Kettle"), what="kettle")).id
        changes = availability_log(hub, kettle)
        ha.stop(graceful=False)  # as a power cut would: no goodbye on the WebSocket
        await eventually(lambda: changes[-1:] == [False], timeout=30, what="unavailable while HA is down")
        ha.start()
        await eventually(lambda: changes[-1:] == [True], timeout=60, what="available again")
        await hub.supervisor.wait_running(INSTANCE)
        result = await hub.execute(
            CommandRequest(id="r1", device=kettle, component="main", capability="dhi.on_off", command="on")
        )
        assert result.status == "ok", result
        await eventually(
            lambda: state_value(hub, kettle, "main", "dhi.on_off", "on") is True, what="state after reconnect"
        )
