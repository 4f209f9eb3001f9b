"""The one checker of what a DHI hub accepts: device descriptions, state and event reports.

The hub's adapter context, the DHI-MQTT adapter, the conformance harness and the test doubles
all call these functions, so a device that passes conformance is one the hub accepts. Each
failure is an ``InvalidDocument`` naming the field (a JSON path) and what was expected.
"""

from __future__ import annotations

from typing import Any

from dhi.catalog import Catalog, ValueCheck, check_params, check_value, value_check
from dhi.errors import InvalidDocument
from dhi.models import DeviceDescription
from dhi.models.catalog import CapabilityDef, PropertyDef
from dhi.models.device import CapabilityInstance, PropertyConstraint


def _one_of(names: list[str], none: str) -> str:
    return "one of " + ", ".join(names) if names else none


def definition_of(inst: CapabilityInstance, catalog: Catalog) -> CapabilityDef | None:
    """The instance's vendor definition, else the catalog's."""
    return inst.definition if inst.definition is not None else catalog.get(inst.id)


def check_device_id(device_id: str, adapter: str) -> None:
    """A device id is ``<adapter>:<native id>`` of the adapter that publishes it (DHI v1 §3)."""
    if not device_id.startswith(f"{adapter}:"):
        raise InvalidDocument(
            f"id: device id {device_id!r} must start with '{adapter}:'",
            field="id",
            expected=f"'{adapter}:<id>'",
        )


def check_description(desc: DeviceDescription, catalog: Catalog) -> None:
    """Every capability known (catalog or vendor definition), every listed member real."""
    for c, comp in enumerate(desc.components):
        for i, inst in enumerate(comp.capabilities):
            where = f"components[{c}].capabilities[{i}]"
            definition = definition_of(inst, catalog)
            if definition is None:
                raise InvalidDocument(
                    f"{where}.id: capability {inst.id!r} is not in the DHI v1 catalog",
                    field=f"{where}.id",
                    expected="a catalog capability id (dhome spec catalog) or x.<vendor>.<name> with a definition",
                )
            members: tuple[tuple[str, list[str] | None, list[str]], ...] = (
                ("properties", inst.properties, [p.name for p in definition.properties]),
                ("commands", inst.commands, [c.name for c in definition.commands]),
                ("events", inst.events, [e.name for e in definition.events]),
            )
            for kind, listed, known in members:
                for j, name in enumerate(listed or ()):
                    if name not in known:
                        raise InvalidDocument(
                            f"{where}.{kind}[{j}]: {name!r} is not one of the {kind} of {inst.id}",
                            field=f"{where}.{kind}[{j}]",
                            expected=_one_of(known, f"no {kind}"),
                        )
            for name in inst.constraints or {}:
                if definition.property(name) is None:
                    raise InvalidDocument(
                        f"{where}.constraints.{name}: constraint on unknown property {name!r}",
                        field=f"{where}.constraints.{name}",
                        expected=_one_of([p.name for p in definition.properties], "no properties"),
                    )


def resolve_capability(
    desc: DeviceDescription, component: str, capability: str, catalog: Catalog
) -> tuple[CapabilityInstance, CapabilityDef]:
    """The instance a report names on this device, and its definition."""
    comp = desc.component(component)
    if comp is None:
        raise InvalidDocument(
            f"the device has no component {component!r}",
            field="component",
            expected=_one_of([repr(c.id) for c in desc.components], "no components"),
        )
    inst = comp.capability(capability)
    if inst is None:
        raise InvalidDocument(
            f"component {component!r} has no capability {capability!r}",
            field="capability",
            expected=_one_of([repr(c.id) for c in comp.capabilities], "no capabilities"),
        )
    definition = definition_of(inst, catalog)
    if definition is None:  # check_description refuses such devices; kept for safety
        raise InvalidDocument(f"capability {capability!r} is not in the catalog", field="capability")
    return inst, definition


class ReportableProperties:
    """The properties one capability instance may report, each with its definition and the
    device's narrowed constraints: resolved once per device description, not per report."""

    __slots__ = ("capability", "props")

    def __init__(self, inst: CapabilityInstance, definition: CapabilityDef) -> None:
        self.capability = definition.id
        constraints = inst.constraints or {}
        self.props: dict[str, tuple[ValueCheck, PropertyDef, PropertyConstraint | None]] = {
            p.name: (value_check(p, constraints.get(p.name)), p, constraints.get(p.name))
            for p in definition.properties
            if inst.properties is None or p.name in inst.properties
        }

    def check(self, properties: dict[str, Any]) -> None:
        """Raise the precise ``HubError`` unless every property is declared and its value valid."""
        for name, value in properties.items():
            entry = self.props.get(name)
            if entry is None:
                raise InvalidDocument(
                    f"{self.capability} has no property {name!r} on this device",
                    field=f"properties.{name}",
                    expected=_one_of(list(self.props), "no properties"),
                )
            accepts, prop, constraint = entry
            if not accepts(value):
                check_value(prop, value, f"properties.{name}", constraint)


def check_state_report(
    desc: DeviceDescription, component: str, capability: str, properties: dict[str, Any], catalog: Catalog
) -> None:
    """Raise the precise ``HubError`` unless every property is declared and its value valid."""
    ReportableProperties(*resolve_capability(desc, component, capability, catalog)).check(properties)


def check_event_report(
    desc: DeviceDescription,
    component: str,
    capability: str,
    event: str,
    payload: dict[str, Any],
    *,
    catalog: Catalog,
) -> None:
    """Raise the precise ``HubError`` unless the event is declared and its payload valid."""
    inst, definition = resolve_capability(desc, component, capability, catalog)
    ev = definition.event(event)
    if ev is None or (inst.events is not None and event not in inst.events):
        allowed = [e.name for e in definition.events if inst.events is None or e.name in inst.events]
        raise InvalidDocument(
            f"{capability} has no event {event!r} on this device",
            field="event",
            expected=_one_of(allowed, "no events"),
        )
    check_params(ev.payload, payload, "payload")
