"""The real Home Assistant of the tests: started offline, the offline-made token accepted by its
WebSocket API (and a token signed with another key refused), its test home working."""

from __future__ import annotations

import secrets
import urllib.error
from collections.abc import Callable
from datetime import timedelta

import aiohttp
import pytest

from tests.adapters.mqtt.helpers import eventually
from tests.support.homeassistant import HomeAssistant, MqttLogin, sign_access_token
from tests.support.mosquitto import Mosquitto, MqttPeer

pytestmark = pytest.mark.slow


async def ws_auth(ha: HomeAssistant, token: str) -> str:
    async with aiohttp.ClientSession() as session, session.ws_connect(ha.ws_url) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "auth_required"
        await ws.send_json({"type": "auth", "access_token": token})
        answer = await ws.receive_json(timeout=10)
        return str(answer["type"])


async def test_token_and_test_home(homeassistant: HomeAssistant) -> None:
    assert await ws_auth(homeassistant, homeassistant.token) == "auth_ok"
    forged = sign_access_token("not-a-token-id", secrets.token_hex(32), now=0, lifetime=timedelta(days=1))
    assert await ws_auth(homeassistant, forged) == "auth_invalid"

    config = homeassistant.api("GET", "/api/config")
    assert config["state"] == "RUNNING" and config["unit_system"]["temperature"] == "°C"
    assert "mqtt" not in config["components"] and "cloud" not in config["components"]

    assert homeassistant.state("binary_sensor.kitchen_smoke")["attributes"]["device_class"] == "smoke"
    homeassistant.call_service("switch", "turn_on", entity_id="switch.kettle")
    assert homeassistant.state("switch.kettle")["state"] == "on"
    assert homeassistant.state("input_boolean.kettle_power")["state"] == "on"


async def test_mqtt_discovery_reaches_home_assistant(
    mosquitto: Mosquitto, homeassistant_factory: Callable[..., HomeAssistant]
) -> None:
    """The MQTT integration, configured offline as a config entry, connects and takes discovery."""
    ha = homeassistant_factory(mqtt=MqttLogin(mosquitto.host, mosquitto.port), home=None)
    with MqttPeer(mosquitto, "discovery-test") as peer:
        config = {
            "name": "Probe temperature",
            "unique_id": "fixture_probe_t",
            "state_topic": "fixture/probe/t",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "device": {"identifiers": ["fixture-probe"], "name": "Probe"},
        }
        peer.publish("homeassistant/sensor/fixture_probe/t/config", config, retain=True)
        await eventually(lambda: _state(ha, "sensor.probe_probe_temperature") is not None, what="entity")
        peer.publish("fixture/probe/t", "23.5", retain=True)  # HA subscribes after discovery
        await eventually(lambda: _state(ha, "sensor.probe_probe_temperature") == "23.5", what="state")


def _state(ha: HomeAssistant, entity_id: str) -> str | None:
    try:
        return str(ha.state(entity_id)["state"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
