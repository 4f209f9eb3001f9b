"""Coverage of the whole zigbee-herdsman-converters device catalogue (~4,500 definitions).

The catalogue is installed from npm at the version pinned by ``tools/z2m-export/package-lock.json``
(``npm ci``, into a cache directory keyed by the lock file) and exported by
``tools/z2m-export/export.js`` as a Zigbee2MQTT ``bridge/devices`` array. Two figures:

(a) nothing dropped — at least 99 % of the definitions map with an empty ``unmapped`` list
    (a vendor-specific expose counts as mapped only as a typed, settable-if-settable property);
(b) meaning kept — at least 75 % of all expose occurrences land in standard catalog
    capabilities, and every safety and care expose lands in its standard capability.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.sdk import build_report
from adapters.sdk.discovery import discover_adapters
from adapters.zigbee2mqtt.actions import KEYPAD, KEYPAD_WORDS, lock_event
from adapters.zigbee2mqtt.bridge import Bridge
from adapters.zigbee2mqtt.exposes import parse_devices
from adapters.zigbee2mqtt.mapping import map_device
from adapters.zigbee2mqtt.offline import map_offline
from dhi.catalog import default_catalog
from tests.support.recording import RecordingContext

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
TOOL = REPO / "tools" / "z2m-export"
TOOL_FILES = ("package.json", "package-lock.json", "export.js")

#: expose name -> the catalog capability it must land in (safety and care)
SAFETY_AND_CARE = {
    "smoke": "dhi.smoke_alarm",
    "gas": "dhi.gas_leak",
    "carbon_monoxide": "dhi.co_alarm",
    "water_leak": "dhi.water_leak",
    "contact": "dhi.contact",
    "occupancy": "dhi.occupancy",
    "presence": "dhi.presence",
    "fall": "dhi.fall_detection",
    "fall_down_status": "dhi.fall_detection",
    "fall_status": "dhi.fall_detection",
    "sos": "dhi.sos",
    "emergency": "dhi.sos",
    "tamper": "dhi.tamper",
    "vibration": "dhi.vibration",
    "battery": "dhi.battery",
    "battery_low": "dhi.battery",
    "temperature": "dhi.temperature",
    "humidity": "dhi.humidity",
    "action": "dhi.button",
}


def _cache_root() -> Path:
    root = os.environ.get("DHOME_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "dhome"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} not found: the catalogue export needs Node.js 20+ and npm (Debian packages "
            "'nodejs' and 'npm'; `make install` installs them)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def catalogue_file() -> Path:
    """The exported bridge/devices array, built once per lock-file version."""
    digest = hashlib.sha256(b"".join((TOOL / f).read_bytes() for f in TOOL_FILES)).hexdigest()[:16]
    work = _cache_root() / f"z2m-export-{digest}"
    out = work / "bridge-devices.json"
    if out.is_file():
        return out
    work.mkdir(parents=True, exist_ok=True)
    for f in TOOL_FILES:
        shutil.copy2(TOOL / f, work / f)
    npm, node = _tool("npm"), _tool("node")
    # --ignore-scripts: the converters pull zigbee-herdsman, whose serial-port bindings would
    # try to build native code; only the pure-JS definitions are needed here.
    run = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"npm ci failed:\n{run.stdout}\n{run.stderr}"
    tmp = work / "bridge-devices.json.tmp"
    run = subprocess.run([node, "export.js", str(tmp)], cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"export failed:\n{run.stdout}\n{run.stderr}"
    print(run.stderr.strip())
    tmp.replace(out)
    return out


@pytest.fixture(scope="session")
def catalogue(catalogue_file: Path) -> list[dict[str, Any]]:
    data = json.loads(catalogue_file.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_export_is_the_whole_catalogue(catalogue: list[dict[str, Any]]) -> None:
    definitions = [d for d in catalogue if d.get("definition")]
    assert len(definitions) > 4000
    with_exposes = [d for d in definitions if d["definition"]["exposes"]]
    assert len(with_exposes) / len(definitions) > 0.99  # function exposes were evaluated too


def test_nothing_dropped_and_meaning_kept(catalogue: list[dict[str, Any]]) -> None:
    report = build_report("zigbee2mqtt", map_offline(catalogue))
    s = report.summary
    fully = s.fully_mapped / s.devices
    standard = s.standard / s.features
    print(
        f"\nz2m catalogue: {s.devices} definitions, {fully:.2%} fully mapped; {s.features} exposes: "
        f"{standard:.2%} standard, {s.vendor} vendor, {s.unmapped_features} unmapped"
    )
    assert s.devices > 4000
    assert s.features == s.standard + s.vendor + s.unmapped_features
    assert fully >= 0.99, [d for d in report.devices if d["unmapped"]][:20]
    assert standard >= 0.75


def test_vendor_properties_keep_type_and_writability(catalogue: list[dict[str, Any]]) -> None:
    catalog = default_catalog()
    devices, _ = parse_devices(catalogue)
    checked = 0
    for device in devices[:: max(1, len(devices) // 600)]:  # a spread sample keeps this quick
        mapped = map_device(device, catalog)
        for b in mapped.bindings:
            if b.standard or b.prop is None:
                continue
            checked += 1
            assert b.capability.startswith("x.zigbee2mqtt.")
            assert b.prop.writable == b.settable, (device.friendly_name, b.capability)
            if b.expose.access:
                assert b.settable == b.expose.settable
            assert b.prop.type.value in {"boolean", "number", "enum", "string", "object", "array"}
            if b.expose.type == "numeric" and b.expose.unit and b.prop.unit is None:
                assert b.expose.unit.strip() in (b.prop.description.en if b.prop.description else "")
    assert checked > 500


def test_safety_and_care_exposes_are_standard(catalogue: list[dict[str, Any]]) -> None:
    catalog = default_catalog()
    devices, _ = parse_devices(catalogue)
    wrong: list[str] = []
    seen = 0
    for device in devices:
        if device.definition is None:
            continue
        for b in map_device(device, catalog).bindings:
            want = SAFETY_AND_CARE.get(b.expose.base_name)
            if want is None or b.expose.type == "composite":
                continue
            seen += 1
            if b.standard:
                continue
            # the one accepted exception: a *settable* expose whose catalog property is
            # read-only stays a vendor property, so the write is not lost (e.g. a vibration
            # motor switch, a UART "action" text)
            prop = catalog[want].properties[0] if want in catalog else None
            if b.expose.settable and prop is not None and not prop.writable:
                continue
            wrong.append(f"{device.friendly_name}: {b.expose.key} ({b.expose.type}) -> {b.capability}")
    assert seen > 3000
    assert wrong == []


def test_cli_prints_both_figures(catalogue_file: Path) -> None:
    names = {a.name for a in discover_adapters()}
    assert "zigbee2mqtt" in names, (
        'the zigbee2mqtt adapter is not registered: add `zigbee2mqtt = "adapters.zigbee2mqtt:Zigbee2MqttAdapter"` '
        'under [project.entry-points."dhome.adapters"] in pyproject.toml and reinstall (make install)'
    )
    dhome = Path(sys.executable).with_name("dhome")
    run = subprocess.run(
        [str(dhome), "adapters", "check", "zigbee2mqtt", str(catalogue_file), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)["summary"]
    assert summary["fully_mapped"] / summary["devices"] >= 0.99
    assert summary["standard"] / summary["features"] >= 0.75
    run = subprocess.run(
        [str(dhome), "adapters", "check", "zigbee2mqtt", str(catalogue_file)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert run.returncode == 0, run.stderr
    assert "fully mapped" in run.stdout and "standard" in run.stdout


def _action_values(entry: dict[str, Any]) -> list[str]:
    def walk(exposes: list[dict[str, Any]]) -> list[str]:
        out: list[str] = []
        for e in exposes:
            if e.get("property") == "action" and e.get("type") == "enum":
                out += [v for v in e.get("values", []) if isinstance(v, str)]
            out += walk(e.get("features", []))
        return out

    return walk(entry["definition"]["exposes"])


def _feed_actions(entry: dict[str, Any], values: list[str], extra: dict[str, Any]) -> RecordingContext:
    ctx = RecordingContext(adapter="zigbee2mqtt")
    bridge = Bridge(ctx)
    bridge.handle("bridge/devices", json.dumps([entry]).encode(), retain=True)
    for value in values:
        bridge.handle(entry["friendly_name"], json.dumps({"action": value, **extra}).encode())
    return ctx


def test_lock_actions_become_lock_events(catalogue: list[dict[str, Any]]) -> None:
    """A lock reports who locked or unlocked it through ``action`` (``keypad_unlock`` …): every
    such value of every lock in the catalogue becomes a valid dhi.lock event."""
    locks = 0
    for entry in catalogue:
        if not entry.get("definition"):
            continue
        exposes = json.dumps(entry["definition"]["exposes"])
        values = [v for v in _action_values(entry) if lock_event(v) is not None]
        if '"type": "lock"' not in exposes or not values:
            continue
        locks += 1
        ctx = _feed_actions(entry, values, {})
        assert ctx.rejected == [], (entry["definition"]["model"], ctx.rejected)
        got = [(e.capability, e.event, e.payload) for e in ctx.events]
        want = [
            (d.capability, d.event, dict(d.payload)) for d in (lock_event(v) for v in values) if d is not None
        ]
        assert got == want, entry["definition"]["model"]
    assert locks >= 10


def test_keypad_actions_become_keypad_events(catalogue: list[dict[str, Any]]) -> None:
    """Keypads (``arm_all_zones`` …) ask for an arming mode or raise a panic: dhi.security_keypad
    events with the typed code as text, never remote-control commands."""
    keypads = 0
    for entry in catalogue:
        if not entry.get("definition"):
            continue
        values = [v for v in _action_values(entry) if v in KEYPAD_WORDS]
        if not any(KEYPAD_WORDS[v][1] for v in values):
            continue
        keypads += 1
        ctx = _feed_actions(entry, values, {"action_code": 1234, "action_zone": 0})
        assert ctx.rejected == [], (entry["definition"]["model"], ctx.rejected)
        got = [(e.capability, e.event) for e in ctx.events]
        assert got == [(KEYPAD, KEYPAD_WORDS[v][0].event) for v in values], entry["definition"]["model"]
        for e in ctx.events:
            if e.event == "arm_requested" and "code" in e.payload:
                assert e.payload["code"] == "1234"
    assert keypads >= 3


def test_remote_companions_travel_as_their_declared_types(catalogue: list[dict[str, Any]]) -> None:
    """The values z2m sends beside a remote's ``action`` (group, step size, transition time,
    scene, rate) go into ``command_sent`` as the types the payload declares — also when a
    firmware sends them as text — and every event passes the hub's payload check."""
    remotes = 0
    companions = {"action_group": "12", "action_step_size": 20, "action_transition_time": "0.5",
                  "action_rate": 40.0, "action_scene": 3.0}  # fmt: skip
    for entry in catalogue:
        if not entry.get("definition"):
            continue
        exposes = json.dumps(entry["definition"]["exposes"])
        values = [v for v in _action_values(entry) if v.startswith(("brightness_", "on", "off", "recall_"))]
        if not values or not any(f'"{name}"' in exposes for name in companions):
            continue
        ctx = _feed_actions(entry, values, companions)
        assert ctx.rejected == [], (entry["definition"]["model"], ctx.rejected)
        for e in ctx.events:
            if e.event != "command_sent":
                continue
            remotes += 1
            types = {"group": int, "scene": int, "step_size": (int, float), "transition_time": (int, float),
                     "rate": (int, float)}  # fmt: skip
            for name, value in e.payload.items():
                if name in types:
                    assert isinstance(value, types[name]) and not isinstance(value, bool), (name, value)
    assert remotes >= 20
