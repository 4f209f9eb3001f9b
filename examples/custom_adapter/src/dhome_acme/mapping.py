"""Acme gateway attributes -> DHI v1, one row per vendor attribute (data, not code)."""

from __future__ import annotations

from typing import Any

from adapters.sdk import PropertyClaims, Row, bool_map, identity, kelvin_from_mireds, linear, scale
from adapters.sdk.report import DeviceMapping, Unmapped
from dhi.models import CapabilityInstance, Component, DeviceDescription
from dhi.models.catalog import CapabilityDef

LED = CapabilityDef.model_validate(
    {
        "id": "x.acme.led",
        "category": "vendor",
        "label": {"en": "Indicator LED", "zh-CN": "指示灯"},
        "description": {"en": "The status LED on the device", "zh-CN": "设备上的状态指示灯"},
        "properties": [{"name": "on", "type": "boolean", "access": ["read", "write", "notify"]}],
    }
)
VENDOR_DEFINITIONS = {LED.id: LED}
#: the commands each capability offers through this adapter (absent from the table: none)
COMMANDS_OF: dict[str, list[str]] = {
    "dhi.on_off": ["on", "off", "toggle"],
    "dhi.level": ["set_level"],
    "dhi.color_temperature": ["set_color_temperature"],
}

ROWS: tuple[Row, ...] = (
    Row("power", "dhi.on_off", "on", bool_map("ON", "OFF")),
    Row("bright", "dhi.level", "level", linear((0, 254), (0, 100))),
    Row("ct", "dhi.color_temperature", "color_temperature", kelvin_from_mireds),
    Row("temp_c10", "dhi.temperature", "temperature", scale(0.1, digits=1)),
    Row("rh", "dhi.humidity", "humidity", identity),
    Row("batt", "dhi.battery", "percentage", identity),
    Row("watts", "dhi.power", "power", identity),
    Row("led", "x.acme.led", "on", identity),
)
BY_SOURCE = {r.source: r for r in ROWS}

#: vendor attributes we know and deliberately leave out, with the reason
IGNORED = {"rssi": "radio diagnostics of the gateway link, not a device feature"}


def row_for(capability: str, prop: str) -> Row | None:
    return next((r for r in ROWS if r.capability == capability and r.property == prop), None)


def check_device(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"a device must be an object, got {type(raw).__name__}")
    for key, kind in (("uid", str), ("name", str), ("attrs", dict)):
        if not isinstance(raw.get(key), kind):
            raise ValueError(f"device {raw.get('uid')!r}: {key!r} must be a {kind.__name__}")
    if not raw["uid"] or any(c in raw["uid"] for c in " /#+"):
        raise ValueError(f"device uid {raw['uid']!r} is not usable as an id")
    return raw


def devices_of(dump: Any) -> list[dict[str, Any]]:
    """The device list of a gateway dump (``GET /api/devices`` of the Acme gateway)."""
    if not isinstance(dump, dict) or not isinstance(dump.get("devices"), list):
        raise ValueError('expected an Acme gateway dump: {"gateway": …, "devices": [...]}')
    return [check_device(d) for d in dump["devices"]]


def describe(instance: str, raw: dict[str, Any]) -> DeviceMapping:
    caps: dict[str, list[str]] = {}
    unmapped = []
    # the SDK's no-collision rule: one DHI property per vendor attribute. ROWS give every
    # attribute its own property, so each lands in "main"; the claims list what each became
    # for `dhome adapters check`
    claims = PropertyClaims()
    for attr in raw["attrs"]:
        row = BY_SOURCE.get(attr)
        if row is None:
            unmapped.append(Unmapped(feature=attr, reason=IGNORED.get(attr, "unknown Acme attribute")))
            continue
        claims.bind(attr, "main", row.capability, row.property)
        caps.setdefault(row.capability, []).append(row.property)
    desc = None
    if caps:
        desc = DeviceDescription(
            id=f"{instance}:{raw['uid']}",
            name=raw["name"],
            manufacturer="Acme",
            model=str(raw.get("kind", "device")),
            components=[
                Component(
                    id="main",
                    capabilities=[
                        CapabilityInstance(
                            id=cap,
                            properties=props,
                            commands=COMMANDS_OF.get(cap, []),
                            definition=VENDOR_DEFINITIONS.get(cap),
                        )
                        for cap, props in caps.items()
                    ],
                )
            ],
        )
    vendor = sum(1 for a in raw["attrs"] if a in BY_SOURCE and BY_SOURCE[a].capability.startswith("x."))
    standard = sum(1 for a in raw["attrs"] if a in BY_SOURCE) - vendor
    return DeviceMapping(id=f"{instance}:{raw['uid']}", name=raw["name"], description=desc,
                         features=len(raw["attrs"]), standard=standard, vendor=vendor, unmapped=unmapped,
                         mapping=claims.fates)  # fmt: skip


def to_hub(raw_attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Vendor attributes -> {capability: {property: value}}; bad values raise ValueError."""
    out: dict[str, dict[str, Any]] = {}
    for attr, value in raw_attrs.items():
        row = BY_SOURCE.get(attr)
        if row is not None:
            out.setdefault(row.capability, {})[row.property] = row.to_hub(value)
    return out
