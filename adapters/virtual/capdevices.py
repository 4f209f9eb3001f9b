"""One virtual device per catalog capability (``<adapter>:cap-<name>``), so every capability of
DHI v1 can be exercised: its TD generated, its commands sent, its conformance tests run."""

from __future__ import annotations

from adapters.virtual.home import DeviceTemplate, initial_state
from dhi.catalog import Catalog
from dhi.models import CapabilityInstance, Component
from dhi.models.catalog import CapabilityDef

PREFIX = "cap-"
MANUFACTURER = "dhome"


def native_id_for(capability_id: str) -> str:
    """``dhi.smoke_alarm`` → ``cap-smoke_alarm``."""
    return PREFIX + capability_id.removeprefix("dhi.")


def capability_device(definition: CapabilityDef) -> DeviceTemplate:
    inst = CapabilityInstance(id=definition.id)
    return DeviceTemplate(
        native_id=native_id_for(definition.id),
        name=f"Virtual {definition.label.en}",
        components=(Component(id="main", capabilities=[inst]),),
        initial={("main", definition.id): initial_state(inst, definition, {})},
        manufacturer=MANUFACTURER,
        model=f"virtual-{definition.id.removeprefix('dhi.')}",
    )


def capability_devices(catalog: Catalog) -> dict[str, DeviceTemplate]:
    out = {}
    for cap_id in sorted(catalog):
        template = capability_device(catalog[cap_id])
        out[template.native_id] = template
    return out
