"""The dhome → Home Assistant bridge against a real Mosquitto that requires a login: discovery
payloads as HA's MQTT integration reads them, consent (rooms, withdrawal, audit), read-only
locks and sirens, commands from HA through the hub's validated path, removal."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.virtual import VirtualAdapter
from dhi.errors import ConfigError
from hub.bridges.home_assistant import HomeAssistantExport, HomeAssistantSettings
from hub.bridges.home_assistant.service import SUBSCRIPTION_ID
from hub.bridges.home_assistant.topics import node_id
from hub.cli.run import default_services
from hub.config import parse_config
from hub.consent import ConsentService
from hub.core import Hub
from tests.alerts.support import SMOKE, running_home
from tests.bridges.home_assistant.support import HOME, running
from tests.support.mosquitto import AUTH_USERS, Mosquitto, MqttPeer, PeerMessage

pytestmark = pytest.mark.slow

PREFIX = "homeassistant"
#: keys HA's MQTT discovery accepts for every entity (homeassistant/components/mqtt, 2025.4)
COMMON = {"unique_id", "object_id", "device", "availability", "availability_mode", "origin", "qos", "name",
          "device_class", "entity_category"}  # fmt: skip
TOPIC_KEYS = ("_topic",)


def settings_block(broker: Mosquitto, **extra: Any) -> dict[str, Any]:
    return {
        "broker": {"url": broker.url, "username": "dhome", "password": AUTH_USERS["dhome"]},
        "rooms": ["living_room", "hallway"],
        **extra,
    }


def config_of(peer: MqttPeer, domain: str, device: str, obj: str) -> dict[str, Any] | None:
    """The latest retained discovery config (None: absent or emptied)."""
    found = peer.received(f"{PREFIX}/{domain}/{node_id(device)}/{obj}/config")
    return json.loads(found[-1].payload) if found and found[-1].payload else None


async def wait_for(predicate: Callable[[], Any], timeout: float = 15) -> Any:
    async with asyncio.timeout(timeout):
        while not (result := predicate()):
            await asyncio.sleep(0.05)
        return result


def observer(broker: Mosquitto) -> MqttPeer:
    return MqttPeer(broker, "observer", credentials=("observer", AUTH_USERS["observer"]))


async def test_an_anonymous_broker_is_refused(tmp_path: Path, mosquitto: Mosquitto) -> None:
    block = {"broker": {"url": mosquitto.url, "username": "dhome", "password": "whatever"}, "rooms": ["x"]}
    with pytest.raises(ConfigError) as err:
        async with running(tmp_path, block):
            pass
    text = str(err.value)
    assert "匿名" in text and "anonymous" in text and mosquitto.url.split("//")[1] in text


def test_the_block_needs_a_login(tmp_path: Path) -> None:
    cfg = parse_config({"bridges": {"home_assistant": {"broker": {"url": "mqtt://127.0.0.1:1"}}}}, "<test>")
    hub = Hub(cfg, data_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"bridges\.home_assistant.*username.*需要登录"):
        default_services(hub)


async def test_shared_rooms_appear_with_device_classes_units_and_commands(
    tmp_path: Path, mosquitto_auth: Mosquitto
) -> None:
    with observer(mosquitto_auth) as peer:
        peer.subscribe(f"{PREFIX}/#")
        peer.subscribe(f"dhome/{HOME}/#")
        async with running(tmp_path, settings_block(mosquitto_auth)) as (hub, bridge):
            light = await wait_for(lambda: config_of(peer, "light", "virtual:living-light", "main_light"))
            # device registry, availability, unique id marked for loop safety
            assert light["unique_id"] == "dhome:chen:virtual:living-light:main_light"
            assert light["device"]["identifiers"] == ["dhome:chen:virtual:living-light"]
            assert light["device"]["via_device"] == "dhome:chen"
            assert light["device"]["suggested_area"] == "living_room"
            assert [a["topic"] for a in light["availability"]] == [
                f"dhome/{HOME}/bridge/availability", f"dhome/{HOME}/{node_id('virtual:living-light')}/availability",
            ]  # fmt: skip
            assert light["schema"] == "json" and light["supported_color_modes"] == ["color_temp"]
            assert light["min_kelvin"] == 2700 and light["max_kelvin"] == 6500
            for entity in (light,):
                assert all(k in COMMON or k.endswith(TOPIC_KEYS) or k in entity for k in entity)

            temp = config_of(peer, "sensor", "virtual:living-climate", "main_temperature_temperature_sensor")
            assert temp is not None
            assert (temp["device_class"], temp["unit_of_measurement"], temp["state_class"]) == (
                "temperature", "°C", "measurement",
            )  # fmt: skip
            door = config_of(
                peer, "binary_sensor", "virtual:entrance-door", "main_contact_contact_binary_sensor"
            )
            assert door is not None and door["device_class"] == "opening"
            # a lock and a siren the resident did not let HA operate: shown, not controllable
            assert config_of(peer, "lock", "virtual:entrance-lock", "main_lock") is None
            shown = config_of(
                peer, "binary_sensor", "virtual:entrance-lock", "main_lock_lock_state_binary_sensor"
            )
            assert shown is not None and shown["device_class"] == "lock" and "command_topic" not in shown
            assert config_of(peer, "siren", "virtual:siren", "main_siren") is None
            # not shared: the kitchen
            assert not peer.received(f"{PREFIX}/+/{node_id('virtual:kitchen-light')}/#")

            # HA's state follows the device, and a command from HA takes the hub's path
            state_topic = light["state_topic"]
            peer.publish(light["command_topic"], {"state": "ON", "brightness": 55})
            on = await wait_for(
                lambda: [m for m in peer.received(state_topic) if json.loads(m.payload).get("state") == "ON"]
            )
            assert json.loads(on[-1].payload)["brightness"] == 55
            assert hub.state.get("virtual:living-light", "main", "dhi.on_off", "on").value is True  # type: ignore[union-attr]
            peer.publish(light["command_topic"], "not json")  # refused, counted, nothing breaks
            await wait_for(lambda: bridge.bad_payloads == 1)
            assert bridge.commands_ok >= 2
            counted = hub.metrics.bridge_commands.labels("home_assistant", "bad_payload")._value.get()
            assert counted == 1  # /metrics: dhome_bridge_commands_total{bridge="home_assistant",…}

            # the whole share is audited like any other
            await hub.storage.flush()
            audit = await hub.subscriptions.audit(limit=1000)  # type: ignore[union-attr]
            grants = [
                a for a in audit
                if a["subscription"] == SUBSCRIPTION_ID and a["action"] in ("subscription.created", "subscription.updated")
            ]  # fmt: skip
            assert grants[0]["action"] == "subscription.created" and grants[0]["actor"] == "config"
            shared = grants[-1]["detail"]["devices"]  # the rooms' devices, as the adapter published them
            assert "virtual:living-light" in shared and "virtual:entrance-lock" in shared
            assert "virtual:kitchen-light" not in shared
            assert any(
                a["action"] == "share.delivered" and a["subscription"] == SUBSCRIPTION_ID for a in audit
            )
            # … and so is every command HA sent: who, what, how it ended
            ran = [a for a in audit if a["action"] == "command.executed"]
            assert ran and {(a["actor"], a["subscription"]) for a in ran} == {
                ("home-assistant", SUBSCRIPTION_ID)
            }
            assert {
                (a["detail"]["device"], a["detail"]["capability"], a["detail"]["command"]) for a in ran
            } >= {
                ("virtual:living-light", "dhi.level", "set_level"),
            }
            level = next(a for a in ran if a["detail"]["capability"] == "dhi.level")
            assert level["detail"]["params"] == {"level": 55.0} and level["message_id"].startswith("ha-")
            # a command the hub's path turns down (a level out of range) is audited as failed
            peer.publish(light["command_topic"], {"state": "ON", "brightness": 500})
            await wait_for(lambda: bridge.commands_failed == 1)
            await hub.storage.flush()
            audit = await hub.subscriptions.audit(limit=1000)  # type: ignore[union-attr]
            failed = [a for a in audit if a["action"] == "command.failed"]
            assert [a["detail"]["error"]["code"] for a in failed] == ["invalid_params"]
            assert failed[0]["actor"] == "home-assistant" and failed[0]["detail"]["params"] == {
                "level": 500.0
            }

            # a device that leaves the home leaves HA: its retained configs are emptied
            hub.registry.remove("virtual:living-blind")
            await wait_for(lambda: _emptied(peer, "cover", "virtual:living-blind", "main_cover"))

            # the resident withdraws consent: every entity goes
            consent = next(s for s in hub.services if isinstance(s, ConsentService))
            await consent.withdraw(SUBSCRIPTION_ID, actor="resident")
            await wait_for(lambda: _emptied(peer, "light", "virtual:living-light", "main_light"))


def _emptied(peer: MqttPeer, domain: str, device: str, obj: str) -> bool:
    found: list[PeerMessage] = peer.received(f"{PREFIX}/{domain}/{node_id(device)}/{obj}/config")
    return bool(found) and found[-1].payload == b""


async def test_control_enabled_lock_takes_commands(tmp_path: Path, mosquitto_auth: Mosquitto) -> None:
    block = settings_block(
        mosquitto_auth, rooms=[], devices=["virtual:entrance-lock"], control=["virtual:entrance-lock"]
    )
    with observer(mosquitto_auth) as peer:
        peer.subscribe(f"{PREFIX}/#")
        async with running(tmp_path, block) as (hub, _bridge):
            lock = await wait_for(lambda: config_of(peer, "lock", "virtual:entrance-lock", "main_lock"))
            peer.publish(lock["command_topic"], "UNLOCK")
            await wait_for(
                lambda: (
                    (sv := hub.state.get("virtual:entrance-lock", "main", "dhi.lock", "lock_state"))
                    and sv.value == "unlocked"
                )
            )


async def test_alerts_reach_home_assistant_as_binary_sensor_and_event(
    tmp_path: Path, mosquitto_auth: Mosquitto
) -> None:
    """A smoke alert of a shared detector: the hub device's alert sensor turns on and the alert
    event fires (HA automations trigger on either); clearing turns the sensor off."""
    settings = HomeAssistantSettings.model_validate(
        {"broker": settings_block(mosquitto_auth)["broker"], "devices": [SMOKE.id]}
    )
    with observer(mosquitto_auth) as peer:
        peer.subscribe("dhome/flat-12/hub/#")
        async with running_home(
            tmp_path, extra=lambda hub: hub.add_service(HomeAssistantExport(settings))
        ) as home:
            bridge = next(s for s in home.hub.services if isinstance(s, HomeAssistantExport))
            await bridge.ready()
            home.add(SMOKE)
            await wait_for(lambda: SMOKE.id in bridge._exported)
            home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
            await home.settle()
            on = await peer.wait_for("dhome/flat-12/hub/alert_smoke/state", lambda m: m.payload == b"ON")
            assert on.retain is False or on.payload == b"ON"
            raised = await peer.wait_for(
                "dhome/flat-12/hub/alerts/event", lambda m: json.loads(m.payload)["event_type"] == "raised"
            )
            assert json.loads(raised.payload)["kind"] == "smoke"
            attributes = json.loads(peer.received("dhome/flat-12/hub/alert_smoke/attributes")[-1].payload)
            assert attributes["devices"] == [SMOKE.id] and attributes["state"] == "active"


async def test_a_withdrawal_stands_across_restarts_until_the_block_changes(
    tmp_path: Path, mosquitto_auth: Mosquitto
) -> None:
    block = settings_block(mosquitto_auth, rooms=["hallway"])
    async with running(tmp_path, block) as (hub, _bridge):
        await wait_for(lambda: hub.subscriptions.get_subscription(SUBSCRIPTION_ID).devices)  # type: ignore[union-attr]
        await hub.subscriptions.withdraw(SUBSCRIPTION_ID, actor="resident")  # type: ignore[union-attr]
    async with running(tmp_path, block) as (hub, bridge):
        assert hub.subscriptions.get_subscription(SUBSCRIPTION_ID) is None  # type: ignore[union-attr]
        assert bridge._exported == {} and not bridge.sharing()
    async with running(tmp_path, {**block, "rooms": ["hallway", "kitchen"]}) as (hub, bridge):
        # a changed block is the resident's new decision
        await wait_for(lambda: "virtual:kitchen-light" in bridge._exported)


async def test_devices_that_came_from_home_assistant_never_go_back(
    tmp_path: Path, mosquitto_auth: Mosquitto
) -> None:
    """Loop safety: devices of an adapter of type home_assistant (here a stand-in publishing the
    same demo flat as instance ``ha``) stay out of HA even in a shared room."""
    more = [{"type": "home_assistant", "name": "ha", "config": {"home": "demo"}}]
    block = settings_block(mosquitto_auth, rooms=["hallway"])
    async with running(tmp_path, block, more=more, classes={"home_assistant": VirtualAdapter}) as (
        hub,
        bridge,
    ):
        await wait_for(
            lambda: hub.registry.get("ha:hallway-light") and "virtual:hallway-light" in bridge._exported
        )
        assert not [d for d in bridge._exported if d.startswith("ha:")]
        assert not [
            d
            for d in hub.subscriptions.get_subscription(SUBSCRIPTION_ID).devices or []
            if d.startswith("ha:")
        ]  # type: ignore[union-attr]


async def test_a_hub_that_vanishes_goes_unavailable_and_comes_back(
    tmp_path: Path, mosquitto_auth: Mosquitto
) -> None:
    """The broker publishes the bridge's Last Will when the hub's connection dies without a
    goodbye; on reconnect the bridge says online again (and republishes what HA needs)."""
    topic = f"dhome/{HOME}/bridge/availability"
    with observer(mosquitto_auth) as peer:
        peer.subscribe(topic)
        async with running(tmp_path, settings_block(mosquitto_auth, rooms=["hallway"])) as (_hub, bridge):
            await peer.wait_for(topic, lambda m: m.payload == b"online")
            conn = bridge._conn
            assert conn is not None and conn._client is not None
            sock = conn._client.socket()
            assert isinstance(sock, socket.socket)
            seen = len(peer.received(topic))
            sock.shutdown(socket.SHUT_RDWR)  # the hub "dies": no DISCONNECT
            await wait_for(lambda: any(m.payload == b"offline" for m in peer.received(topic)[seen:]))
            await wait_for(lambda: peer.received(topic)[-1].payload == b"online", timeout=30)
