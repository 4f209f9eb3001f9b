"""Consent that sticks and alerts that are never silently lost, with real processes: a hub
(``dhome run``'s set-up, web app included) reading DHI-MQTT devices through Mosquitto, and a
webhook receiver that verifies every request with the ``standardwebhooks`` package.

* a withdrawal through the API survives a restart of a hub whose config file declares the
  subscription;
* a narrowing PUT withholds an alert already queued for a receiver that is away;
* an outage longer than the (compressed) retry schedule leaves a dead letter that the API, the
  CLI, the metrics and the web app show, and that is delivered once resent;
* ``kill -9`` within milliseconds of an SOS press published at QoS 1, twenty times: every
  press is one alert and reaches the receiver under one message id.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from tests.bridges.receiver import Receiver
from tests.e2e.procs import HOME, PYTHON, REPO, http, wait_until, webhook_subscription
from tests.support.mosquitto import Mosquitto, MqttPeer
from tests.webapp.browser import WebHubProcess, chromium, sign_in

pytestmark = pytest.mark.slow

PREFIX = f"dhi/v1/{HOME}"
SOS_ID, GAS_ID = "dhi_mqtt:sos-1", "dhi_mqtt:gas-1"


class ThreadReceiver:
    """The Standard Webhooks receiver on its own event loop, for these synchronous tests."""

    def __init__(self) -> None:
        self.receiver = Receiver()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="receiver", daemon=True)

    def __enter__(self) -> ThreadReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.up(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        return self.receiver.url

    def fail_with(self, status: int | None) -> None:
        self.receiver.fail_with = status

    def bodies(self) -> list[dict[str, Any]]:
        out = []
        for r in list(self.receiver.received):
            assert r.verified, "every accepted request verified with standardwebhooks"
            out.append(json.loads(r.body))
        return out


def description(native: str, capability: str, room: str) -> dict[str, Any]:
    return {
        "dhi_version": "1.0",
        "id": f"dhi:{native}",
        "name": native,
        "manufacturer": "Acme",
        "model": native.upper(),
        "room": room,
        "components": [{"id": "main", "capabilities": [{"id": capability}]}],
    }


def now() -> str:
    return datetime.now(UTC).isoformat()


class Home:
    """The devices of the flat, as DHI-native devices publishing through the broker; ``buttons``
    more SOS buttons without a room (one alert each)."""

    def __init__(self, broker: Mosquitto, buttons: int = 0) -> None:
        self.peer = MqttPeer(broker, "flat-devices")
        self.buttons = buttons

    def __enter__(self) -> Home:
        self.peer.__enter__()
        self.peer.publish(f"{PREFIX}/sos-1/desc", description("sos-1", "dhi.sos", "bedroom"), retain=True)
        self.peer.publish(
            f"{PREFIX}/gas-1/desc", description("gas-1", "dhi.gas_leak", "kitchen"), retain=True
        )
        for i in range(self.buttons):
            desc = description(f"button-{i}", "dhi.sos", "") | {"room": None}
            self.peer.publish(f"{PREFIX}/button-{i}/desc", desc, retain=True)
        return self

    def press(self, i: int) -> None:
        """An SOS press of button ``i``, at QoS 1: returns once the broker has it (PUBACK)."""
        event = {
            "component": "main",
            "capability": "dhi.sos",
            "event": "pressed",
            "payload": {},
            "time": now(),
        }
        self.peer.publish(f"{PREFIX}/button-{i}/event", event)

    def __exit__(self, *exc: object) -> None:
        self.peer.__exit__(*exc)

    def sos(self) -> None:
        event = {
            "component": "main",
            "capability": "dhi.sos",
            "event": "pressed",
            "payload": {},
            "time": now(),
        }
        self.peer.publish(f"{PREFIX}/sos-1/event", event)

    def gas(self, on: bool) -> None:
        report = {"component": "main", "capability": "dhi.gas_leak", "properties": {"gas": on}, "time": now()}
        self.peer.publish(f"{PREFIX}/gas-1/state/main/dhi.gas_leak", report, retain=True)


class Stack:
    def __init__(
        self, tmp: Path, broker: Mosquitto, receiver: ThreadReceiver, outbox: dict[str, Any]
    ) -> None:
        sub = webhook_subscription(receiver.url, ["sos", "gas_leak"])
        self.hub = WebHubProcess(
            tmp, scenario=None, speed=1.0, alerts={"outbox": outbox, "subscriptions": [sub]}
        )
        config = yaml.safe_load(self.hub.config.read_text(encoding="utf-8"))
        broker_cfg = {"url": broker.url, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.5}
        config["adapters"] = [{"type": "dhi_mqtt", "config": {"broker": broker_cfg}}]
        self.hub.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.admin = self.hub.token("admin", "test")

    def api(self, method: str, path: str, body: Any = None, expect_status: int | None = None) -> Any:
        status, data = http(method, self.hub.api + path, body, token=self.admin)
        if expect_status is not None:
            assert status == expect_status, (status, data)
        else:
            assert status < 300, (status, data)
        return data

    def devices_ready(self) -> None:
        # running = every subscription acknowledged (the event topic comes last): a press before
        # that would be published to nobody
        wait_until(lambda: self.api("GET", "/adapters")["items"][0]["state"] == "running", 30, "the adapter")
        wait_until(
            lambda: {d["device"]["id"] for d in self.api("GET", "/devices")["items"]} >= {SOS_ID, GAS_ID},
            30,
            "the devices",
        )

    def alerts(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.api("GET", "/alerts")["items"] if a["kind"] == kind]

    def deliveries(self, status: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/subscriptions/community/deliveries?status={status}")["items"])

    def audit(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/audit?limit=1000")["items"])


@pytest.fixture
def receiver() -> Iterator[ThreadReceiver]:
    with ThreadReceiver() as r:
        yield r


STARTED: list[Stack] = []


@pytest.fixture(autouse=True)
def stop_hubs() -> Iterator[None]:
    yield
    while STARTED:
        STARTED.pop().hub.stop()


def start(tmp: Path, broker: Mosquitto, receiver: ThreadReceiver, **outbox: Any) -> Stack:
    stack = Stack(tmp, broker, receiver, {"base_delay": 0.05, "max_delay": 0.2, **outbox})
    STARTED.append(stack)
    stack.hub.start()
    stack.devices_ready()
    return stack


def test_a_withdrawal_through_the_api_survives_a_restart(
    tmp_path: Path, mosquitto: Mosquitto, receiver: ThreadReceiver
) -> None:
    with Home(mosquitto) as home:
        stack = start(tmp_path, mosquitto, receiver)
        try:
            stack.api("DELETE", "/subscriptions/community", expect_status=204)
            stack.hub.stop()
            stack.hub.start()  # the config file still declares the subscription
            stack.devices_ready()
            assert stack.api("GET", "/subscriptions")["items"] == []
            home.gas(True)
            [alert] = wait_until(lambda: stack.alerts("gas_leak"), 30, "the gas alert")
            withheld = wait_until(
                lambda: [e for e in stack.audit() if e["action"] == "share.withheld"],
                30,
                "the withheld entry",
            )
            assert withheld[0]["detail"]["alert"] == alert["id"]
            consent = [
                (e["action"], e["actor"].split("(")[0])
                for e in stack.audit()
                if e["action"].startswith("consent.")
            ]
            assert consent == [("consent.granted", "config"), ("consent.withdrawn", consent[1][1])]
            assert consent[1][1].startswith("token:")
            assert receiver.bodies() == []
        finally:
            stack.hub.stop()


def test_a_narrowing_put_withholds_what_is_already_queued(
    tmp_path: Path, mosquitto: Mosquitto, receiver: ThreadReceiver
) -> None:
    receiver.fail_with(503)
    with Home(mosquitto) as home:
        stack = start(tmp_path, mosquitto, receiver, give_up_after=3600)
        try:
            home.sos()
            [queued] = wait_until(lambda: stack.deliveries("pending"), 30, "the SOS alert queued")
            assert queued["kind"] == "sos"
            sub = stack.api("GET", "/subscriptions/community")
            body = {k: sub[k] for k in ("receiver", "transport", "endpoint", "message_types", "consent")}
            stack.api("PUT", "/subscriptions/community", body | {"alert_kinds": ["gas_leak"]})
            [cancelled] = stack.deliveries("cancelled")  # at once, while the receiver is still away
            assert cancelled["message_id"] == queued["message_id"]
            withheld = [e for e in stack.audit() if e["action"] == "share.withheld"]
            assert (
                withheld[-1]["message_id"] == queued["message_id"]
                and "sos" in withheld[-1]["detail"]["reason"]
            )
            receiver.fail_with(None)
            home.gas(True)
            wait_until(receiver.bodies, 30, "the gas alert at the receiver")
            assert [b["data"]["alert"]["kind"] for b in receiver.bodies()] == ["gas_leak"]
        finally:
            stack.hub.stop()


def test_a_dead_letter_is_shown_everywhere_and_delivered_when_resent(
    tmp_path: Path, mosquitto: Mosquitto, receiver: ThreadReceiver
) -> None:
    receiver.fail_with(503)
    with Home(mosquitto) as home:
        stack = start(tmp_path, mosquitto, receiver, give_up_after=1)  # the day, compressed to a second
        try:
            home.sos()
            [dead] = wait_until(lambda: stack.deliveries("dead"), 30, "the dead letter")
            assert dead["kind"] == "sos" and "503" in dead["last_error"] and dead["attempts"] > 1
            # the CLI, on the running hub's data directory
            out = subprocess.run(
                [PYTHON, "-m", "hub.cli", "outbox", "list", "--status", "dead", "--json", "--data-dir", str(stack.hub.data)],
                capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
            )  # fmt: skip
            assert [r["message_id"] for r in json.loads(out.stdout)] == [dead["message_id"]]
            # the metrics
            metrics = metrics_text(stack)
            assert re.search(r'dhome_outbox_dead_letters_total\{subscription="community"\} 1\.0', metrics)
            assert re.search(r'dhome_outbox_depth\{state="dead",subscription="community"\} 1\.0', metrics)
            receiver.fail_with(None)
            # the web app: the resident sees it and sends it again
            with chromium() as browser:
                page = browser.new_page(locale="zh-CN")
                sign_in(page, stack.hub.base, stack.hub.printed_code(), "/sharing")
                row = page.locator(f'tr[data-dead="{dead["message_id"]}"]')
                expect(row).to_be_visible()
                expect(page.locator("#dead-letters")).to_contain_text("未送达")
                row.get_by_role("button").click()
                expect(page.locator("#dead-letters")).to_contain_text("所有消息均已送达")
            wait_until(receiver.bodies, 30, "the resent alert")
            assert [r.message_id for r in receiver.receiver.received] == [dead["message_id"]]
            requeued = [e for e in stack.audit() if e["action"] == "share.requeued"]
            assert [e["message_id"] for e in requeued] == [dead["message_id"]]
        finally:
            stack.hub.stop()


def metrics_text(stack: Stack) -> str:
    req = urllib.request.Request(
        stack.hub.api + "/metrics", headers={"Authorization": f"Bearer {stack.admin}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(resp.read().decode())


def test_an_sos_press_survives_kill_9_as_one_alert_under_one_message_id(
    tmp_path: Path, mosquitto: Mosquitto, receiver: ThreadReceiver
) -> None:
    presses = 20
    rng = random.Random(16)
    with Home(mosquitto, buttons=presses) as home:
        stack = start(tmp_path, mosquitto, receiver, give_up_after=3600)
        wait_until(
            lambda: len(stack.api("GET", "/devices?limit=100")["items"]) >= presses + 2, 30, "the buttons"
        )
        for i in range(presses):
            home.press(i)
            time.sleep(rng.uniform(0, 0.01))  # within milliseconds: before, during or after the alert
            assert stack.hub.proc is not None
            stack.hub.proc.kill9()
            stack.hub.start()  # the same client id: the broker resumes the session
            stack.devices_ready()

        def sos_alerts() -> list[dict[str, Any]]:
            return [a for a in stack.api("GET", "/alerts?limit=100")["items"] if a["kind"] == "sos"]

        wait_until(lambda: len(sos_alerts()) >= presses, 60, "an alert for every press")
        sos = sos_alerts()
        assert sorted(d for a in sos for d in a["devices"]) == sorted(
            f"dhi_mqtt:button-{i}" for i in range(presses)
        )
        assert len(sos) == presses  # one alert per press: no second one from a redelivery
        raised = {f"{a['id']}.raised" for a in sos}
        wait_until(
            lambda: raised <= {r.message_id for r in receiver.receiver.received}, 60, "every alert delivered"
        )
        by_alert: dict[str, set[str]] = {}
        for r in list(receiver.receiver.received):
            assert r.verified  # standardwebhooks accepted the signature
            by_alert.setdefault(json.loads(r.body)["data"]["alert"]["id"], set()).add(r.message_id)
        # each alert reached the receiver under one message id (a redelivery carries the same one)
        assert by_alert == {a["id"]: {f"{a['id']}.raised"} for a in sos}
