"""A real Home Assistant for the tests (pytest plugin, loaded from tests/conftest.py).

Home Assistant Core (PyPI ``homeassistant``, pinned in ``scripts/ensure-homeassistant``) runs
from its own venv ``.venv-ha`` (``make homeassistant``): its exact pins (aiohttp, orjson,
numpy, …) must not constrain the hub's dependencies, and it needs Python 3.13.

Network-free by construction: the config dir is prepared before the first start — only the
integrations the tests need (no ``default_config``: no cloud, no discovery, no recorder),
HTTP bound to 127.0.0.1 on a free port, ``--skip-pip`` (every requirement of the loaded
integrations is preinstalled in the venv, so nothing is fetched at run time). The owner user
and a long-lived access token are written offline into ``.storage/auth`` (the token is the
HS256 JWT Home Assistant itself would issue: ``iss`` = the refresh token's id, signed with
its ``jwt_key``), so no onboarding or login flow is needed.

Fixtures: ``homeassistant`` (one instance per test module with the test home below) and
``homeassistant_factory`` (``make(mqtt=…, home=…)``: own configuration, e.g. the MQTT
integration pointed at a Mosquitto for discovery tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]
HA_PYTHON = Path(os.environ.get("DHOME_HA_PYTHON", REPO / ".venv-ha" / "bin" / "python"))
#: the first start of a fresh config dir compiles translations and byte code: allow for it on 2 busy cores
START_TIMEOUT = 240.0
STOP_TIMEOUT = 30.0
#: what Home Assistant gives a long-lived access token (its "valid for 10 years")
LONG_LIVED = timedelta(days=3650)


class HomeAssistantError(RuntimeError):
    pass


@dataclass(frozen=True)
class MqttLogin:
    """The broker Home Assistant's MQTT integration connects to (a config entry, as the UI
    would write it; MQTT has no YAML broker settings)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    discovery_prefix: str = "homeassistant"


# ---------------------------------------------------------------- the test home


def _toggle(entity: str) -> dict[str, Any]:
    return {
        "turn_on": {"action": "input_boolean.turn_on", "target": {"entity_id": entity}},
        "turn_off": {"action": "input_boolean.turn_off", "target": {"entity_id": entity}},
    }


#: Entities of the home Home Assistant reaches and dhome does not: template entities backed by
#: input helpers, so a test changes the "device" with one service call and reads it back.
TEST_HOME: dict[str, Any] = {
    "input_boolean": {
        "kitchen_smoke_raw": {"name": "Kitchen smoke (raw)"},
        "hall_light_power": {"name": "Hall light power"},
        "kettle_power": {"name": "Kettle power"},
        "front_door_locked": {"name": "Front door locked"},
        "fan_power": {"name": "Fan power"},
    },
    "input_select": {
        "fan_preset": {"name": "Fan preset", "options": ["auto", "sleep"], "initial": "sleep"},
    },
    "input_number": {
        "living_temperature_raw": {
            "name": "Living room temperature (raw)",
            "min": -20,
            "max": 50,
            "step": 0.1,
            "initial": 21.5,
            "unit_of_measurement": "°C",
        },
        "hall_light_level": {"name": "Hall light level", "min": 0, "max": 255, "step": 1, "initial": 128},
        "curtain_position": {"name": "Curtain position", "min": 0, "max": 100, "step": 1, "initial": 0},
        "fan_percentage": {"name": "Fan percentage", "min": 0, "max": 100, "step": 1, "initial": 50},
    },
    "template": [
        {
            "binary_sensor": [
                {
                    "name": "Kitchen smoke",
                    "unique_id": "kitchen_smoke",
                    "device_class": "smoke",
                    "state": "{{ is_state('input_boolean.kitchen_smoke_raw', 'on') }}",
                }
            ],
            "sensor": [
                {
                    "name": "Living room temperature",
                    "unique_id": "living_temperature",
                    "device_class": "temperature",
                    "state_class": "measurement",
                    "unit_of_measurement": "°C",
                    "state": "{{ states('input_number.living_temperature_raw') }}",
                },
                {
                    "name": "Living room comfort",
                    "unique_id": "living_comfort",
                    "state": "{{ 'cosy' if states('input_number.living_temperature_raw') | float(0) > 18 else 'cold' }}",
                },
            ],
        }
    ],
    "light": [
        {
            "platform": "template",
            "lights": {
                "hall": {
                    "friendly_name": "Hall light",
                    "unique_id": "hall_light",
                    "value_template": "{{ is_state('input_boolean.hall_light_power', 'on') }}",
                    "level_template": "{{ states('input_number.hall_light_level') | int(0) }}",
                    **_toggle("input_boolean.hall_light_power"),
                    "set_level": [
                        {
                            "action": "input_number.set_value",
                            "target": {"entity_id": "input_number.hall_light_level"},
                            "data": {"value": "{{ brightness }}"},
                        },
                        {
                            "action": "input_boolean.turn_on",
                            "target": {"entity_id": "input_boolean.hall_light_power"},
                        },
                    ],
                }
            },
        }
    ],
    "lock": [
        {
            "platform": "template",
            "name": "Front door",
            "unique_id": "front_door",
            "value_template": "{{ is_state('input_boolean.front_door_locked', 'on') }}",
            "lock": {
                "action": "input_boolean.turn_on",
                "target": {"entity_id": "input_boolean.front_door_locked"},
            },
            "unlock": {
                "action": "input_boolean.turn_off",
                "target": {"entity_id": "input_boolean.front_door_locked"},
            },
        }
    ],
    "cover": [
        {
            "platform": "template",
            "covers": {
                "bedroom_curtain": {
                    "friendly_name": "Bedroom curtain",
                    "unique_id": "bedroom_curtain",
                    "device_class": "curtain",
                    "position_template": "{{ states('input_number.curtain_position') | int(0) }}",
                    **{
                        action: {
                            "action": "input_number.set_value",
                            "target": {"entity_id": "input_number.curtain_position"},
                            "data": {"value": value},
                        }
                        for action, value in (
                            ("open_cover", 100),
                            ("close_cover", 0),
                            ("set_cover_position", "{{ position }}"),
                        )
                    },
                }
            },
        }
    ],
    "fan": [
        {
            "platform": "template",
            "fans": {
                "bedroom_fan": {
                    "friendly_name": "Bedroom fan",
                    "unique_id": "bedroom_fan",
                    "value_template": "{{ states('input_boolean.fan_power') }}",
                    "percentage_template": "{{ states('input_number.fan_percentage') | int(0) }}",
                    "preset_mode_template": "{{ states('input_select.fan_preset') }}",
                    "preset_modes": ["auto", "sleep"],
                    **_toggle("input_boolean.fan_power"),
                    "set_percentage": {
                        "action": "input_number.set_value",
                        "target": {"entity_id": "input_number.fan_percentage"},
                        "data": {"value": "{{ percentage }}"},
                    },
                    "set_preset_mode": {
                        "action": "input_select.select_option",
                        "target": {"entity_id": "input_select.fan_preset"},
                        "data": {"option": "{{ preset_mode }}"},
                    },
                }
            },
        }
    ],
    "switch": [
        {
            "platform": "template",
            "switches": {
                "kettle": {
                    "friendly_name": "Kettle",
                    "unique_id": "kettle",
                    "value_template": "{{ is_state('input_boolean.kettle_power', 'on') }}",
                    **_toggle("input_boolean.kettle_power"),
                }
            },
        }
    ],
}


# ---------------------------------------------------------------- offline credentials


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_access_token(refresh_token_id: str, jwt_key: str, *, now: int, lifetime: timedelta) -> str:
    """The access token Home Assistant issues for a refresh token: an HS256 JWT whose issuer is
    the refresh token's id, signed with that token's own ``jwt_key``."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": refresh_token_id, "iat": now, "exp": now + int(lifetime.total_seconds())}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(jwt_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def _store(key: str, data: Any, minor: int = 1) -> str:
    """A file of Home Assistant's ``.storage`` (its ``helpers.storage`` envelope)."""
    return json.dumps({"version": 1, "minor_version": minor, "key": key, "data": data}, indent=2)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _password_hash(password: str) -> str:
    """bcrypt hash as the ``homeassistant`` auth provider stores it (base64 of the hash);
    made with the HA venv's own bcrypt (the hub's venv has none)."""
    code = (
        "import base64, bcrypt, sys; "
        "print(base64.b64encode(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(rounds=4))).decode())"
    )
    out = subprocess.run(
        [str(HA_PYTHON), "-c", code], input=password.encode(), capture_output=True, check=True, timeout=60
    )
    return out.stdout.decode().strip()


@dataclass(frozen=True)
class Owner:
    user_id: str
    username: str
    password: str
    token: str  # the long-lived access token


def write_auth(storage: Path, *, username: str = "dhome") -> Owner:
    """``.storage/auth`` + ``.storage/auth_provider.homeassistant``: an owner (administrator)
    who can log in, and one long-lived access token of theirs for the API clients."""
    created = datetime.now(UTC)
    user_id, cred_id, rt_id = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    jwt_key = secrets.token_hex(64)
    password = secrets.token_urlsafe(16)
    auth = {
        "users": [
            {
                "id": user_id,
                "group_ids": ["system-admin"],
                "is_owner": True,
                "is_active": True,
                "name": "dhome tests",
                "system_generated": False,
                "local_only": False,
            }
        ],
        "groups": [
            {"id": "system-admin", "name": "Administrators"},
            {"id": "system-users", "name": "Users"},
            {"id": "system-read-only", "name": "Read Only"},
        ],
        "credentials": [
            {
                "id": cred_id,
                "user_id": user_id,
                "auth_provider_type": "homeassistant",
                "auth_provider_id": None,
                "data": {"username": username},
            }
        ],
        "refresh_tokens": [
            {
                "id": rt_id,
                "user_id": user_id,
                "client_id": None,
                "client_name": "dhome tests",
                "client_icon": None,
                "token_type": "long_lived_access_token",
                "created_at": created.isoformat(),
                "access_token_expiration": LONG_LIVED.total_seconds(),
                "token": secrets.token_hex(64),
                "jwt_key": jwt_key,
                "last_used_at": None,
                "last_used_ip": None,
                "expire_at": None,
                "credential_id": None,
                "version": None,
            }
        ],
    }
    _write_private(storage / "auth", _store("auth", auth))
    provider = {"users": [{"username": username, "password": _password_hash(password)}]}
    _write_private(storage / "auth_provider.homeassistant", _store("auth_provider.homeassistant", provider))
    token = sign_access_token(rt_id, jwt_key, now=int(created.timestamp()), lifetime=LONG_LIVED)
    return Owner(user_id, username, password, token)


def write_mqtt_entry(storage: Path, mqtt: MqttLogin) -> None:
    """The MQTT integration's config entry (what its config flow stores)."""
    now = datetime.now(UTC).isoformat()
    data: dict[str, Any] = {"broker": mqtt.host, "port": mqtt.port}
    if mqtt.username is not None:
        data["username"] = mqtt.username
    if mqtt.password is not None:
        data["password"] = mqtt.password
    entry: dict[str, Any] = {
        "created_at": now,
        "data": data,
        "discovery_keys": {},
        "disabled_by": None,
        "domain": "mqtt",
        "entry_id": uuid.uuid4().hex,
        "minor_version": 2,
        "modified_at": now,
        "options": {"discovery": True, "discovery_prefix": mqtt.discovery_prefix},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": f"{mqtt.host}:{mqtt.port}",
        "unique_id": None,
        "version": 1,
    }
    _write_private(
        storage / "core.config_entries", _store("core.config_entries", {"entries": [entry]}, minor=5)
    )


def configuration(port: int, home: dict[str, Any] | None, *, mqtt: bool) -> dict[str, Any]:
    """``configuration.yaml``: the integrations the tests use and nothing that reaches out."""
    config: dict[str, Any] = {
        "homeassistant": {
            "name": "dhome test home",
            "latitude": 31.23,
            "longitude": 121.47,
            "elevation": 4,
            "unit_system": "metric",
            "time_zone": "Asia/Shanghai",
            "currency": "CNY",
            "country": "CN",
            "internal_url": f"http://127.0.0.1:{port}",
        },
        "http": {"server_host": ["127.0.0.1"], "server_port": port},
        "api": {},
        "websocket_api": {},
        "logger": {"default": "warning", "logs": {"homeassistant.components.mqtt": "info"}},
    }
    if mqtt:
        config["mqtt"] = {}
    config.update(home or {})
    return config


# ---------------------------------------------------------------- the process


@dataclass
class HomeAssistant:
    """One real Home Assistant process; ``url``/``ws_url``/``token`` are what clients use."""

    root: Path
    home: dict[str, Any] | None = field(default_factory=lambda: TEST_HOME)
    mqtt: MqttLogin | None = None
    port: int = field(default_factory=free_port)
    owner: Owner | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _out: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/websocket"

    @property
    def token(self) -> str:
        if self.owner is None:
            raise HomeAssistantError("Home Assistant has not been prepared")
        return self.owner.token

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def log_path(self) -> Path:
        return self.root / "home-assistant.log"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def prepare(self) -> None:
        """Write the config dir once (a restart keeps its registries and token)."""
        if self.owner is not None:
            return
        if not HA_PYTHON.exists():
            raise HomeAssistantError(f"{HA_PYTHON} is missing: run `make homeassistant`")
        self.config_dir.mkdir(parents=True, exist_ok=True)
        config = configuration(self.port, self.home, mqtt=self.mqtt is not None)
        (self.config_dir / "configuration.yaml").write_text(
            yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        storage = self.config_dir / ".storage"
        self.owner = write_auth(storage)
        if self.mqtt is not None:
            write_mqtt_entry(storage, self.mqtt)

    def start(self) -> None:
        self.prepare()
        self._out = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                str(HA_PYTHON),
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",  # requirements are preinstalled: never reach out to PyPI at run time
                "--log-no-color",
                "--log-file",
                str(self.root / "ha-internal.log"),
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "", "NO_PROXY": "*"},
            start_new_session=True,
        )
        self.starts += 1
        try:
            self._wait_running()
        except BaseException:
            self.stop()
            raise

    def api(self, method: str, path: str, body: Any = None, *, timeout: float = 10) -> Any:
        """One REST call with the owner's token (the ``api`` integration)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def _wait_running(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise HomeAssistantError(
                    f"Home Assistant exited with code {self.proc.returncode} during start-up:\n{self.log_tail()}"
                )
            try:
                state = self.api("GET", "/api/config", timeout=3).get("state")
                if state == "RUNNING":
                    return
                last = f"state {state}"
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.5)
        raise HomeAssistantError(
            f"Home Assistant not running within {START_TIMEOUT:g} s ({last}):\n{self.log_tail()}"
        )

    def call_service(self, domain: str, service: str, **data: Any) -> Any:
        return self.api("POST", f"/api/services/{domain}/{service}", data)

    def state(self, entity_id: str) -> dict[str, Any]:
        return self.api("GET", f"/api/states/{entity_id}")  # type: ignore[no-any-return]

    def stop(self, *, graceful: bool = True) -> None:
        """Stop HA (a graceful stop saves its registries, which ``restart`` relies on); the
        fixtures' teardown kills it outright: its config dir is thrown away, and a graceful
        stop takes seconds on a busy machine."""
        if self.proc is not None:
            if self.proc.poll() is None and not graceful:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
            self.proc = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same config dir and token."""
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def homeassistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistant]:
    ha = HomeAssistant(tmp_path_factory.mktemp("homeassistant"))
    ha.start()
    try:
        yield ha
    finally:
        ha.stop(graceful=False)


@pytest.fixture
def homeassistant_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., HomeAssistant]]:
    """``make(mqtt=MqttLogin(...), home=TEST_HOME or None or a dict)`` -> a started instance."""
    made: list[HomeAssistant] = []

    def make(*, mqtt: MqttLogin | None = None, home: dict[str, Any] | None = TEST_HOME) -> HomeAssistant:
        ha = HomeAssistant(tmp_path_factory.mktemp("homeassistant"), home=home, mqtt=mqtt)
        made.append(ha)
        ha.start()
        return ha

    try:
        yield make
    finally:
        for ha in made:
            ha.stop(graceful=False)
