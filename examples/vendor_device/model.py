"""The firmware's own tables: what each capability of our products holds and accepts.

Written from the DHI v1 catalog (``dhome spec catalog``) and BINDING.md; the device needs no
dhome code at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prop:
    name: str
    type: str  # boolean | integer | number | enum
    writable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    enum: tuple[str, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class Capability:
    id: str
    props: tuple[Prop, ...]
    commands: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    #: a vendor capability (x.<vendor>.<name>) carries its definition in the description
    definition: dict[str, Any] | None = None

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    @property
    def writable(self) -> bool:
        return any(p.writable for p in self.props)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "properties": [p.name for p in self.props]}
        if self.commands:
            out["commands"] = list(self.commands)
        if self.events:
            out["events"] = list(self.events)
        if self.definition is not None:
            out["definition"] = self.definition
        return out


@dataclass(frozen=True)
class Product:
    manufacturer: str
    model: str
    firmware: str
    capabilities: tuple[Capability, ...]
    initial: dict[str, dict[str, Any]] = field(default_factory=dict)

    def capability(self, cap_id: str) -> Capability | None:
        return next((c for c in self.capabilities if c.id == cap_id), None)


def siren_definition(unit: str = "dB[SPL]") -> dict[str, Any]:
    return {
        "id": "x.acme.siren",
        "category": "vendor",
        "label": {"en": "Siren", "zh-CN": "警报器"},
        "description": {"en": "Loudness of the alarm siren", "zh-CN": "报警器的音量"},
        "properties": [
            {"name": "volume", "type": "integer", "unit": unit, "minimum": 60, "maximum": 100, "step": 5,
             "access": ["read", "write", "notify"]},
            {"name": "sounding", "type": "boolean", "access": ["read", "notify"]},
        ],
    }  # fmt: skip


SMOKE_ALARM = Product(
    manufacturer="Acme",
    model="SA-2",
    firmware="2.4.1",
    capabilities=(
        Capability(
            "dhi.smoke_alarm",
            (Prop("smoke", "boolean"), Prop("test_in_progress", "boolean"), Prop("muted", "boolean")),
            commands=("self_test", "mute"),
            events=("alarm", "cleared", "self_test_complete"),
        ),
        Capability(
            "dhi.battery",
            (Prop("percentage", "number", minimum=0, maximum=100, nullable=True), Prop("low", "boolean")),
        ),
        Capability(
            "x.acme.siren",
            (
                Prop("volume", "integer", writable=True, minimum=60, maximum=100, step=5),
                Prop("sounding", "boolean"),
            ),
            definition=siren_definition(),
        ),
        # the status LED can only be switched: the catalog's mode, brightness … are left out
        Capability("dhi.indicator_light", (Prop("on", "boolean", writable=True),)),
    ),
    initial={
        "dhi.smoke_alarm": {"smoke": False, "test_in_progress": False, "muted": False},
        "dhi.battery": {"percentage": 87.0, "low": False},
        "x.acme.siren": {"volume": 85, "sounding": False},
        "dhi.indicator_light": {"on": True},
    },
)

SMART_PLUG = Product(
    manufacturer="Acme",
    model="SP-1",
    firmware="1.7.0",
    capabilities=(
        Capability(
            "dhi.on_off",
            (Prop("on", "boolean", writable=True, nullable=True),),
            commands=("on", "off", "toggle"),
        ),
        Capability("dhi.power", (Prop("power", "number", nullable=True),)),
        Capability("dhi.energy", (Prop("energy", "number", minimum=0, nullable=True),), commands=("reset",)),
    ),
    initial={"dhi.on_off": {"on": False}, "dhi.power": {"power": 0.0}, "dhi.energy": {"energy": 12.5}},
)
