"""Helpers the MQTT vendor adapters share to build DHI descriptions from mapping rows.

``DescriptionBuilder`` collects (component, capability, property) triples as rows match
and emits ``Component`` lists; vendor features become typed ``x.<vendor>.<name>``
capabilities. ``Feature`` accounting feeds the offline report. ``checked`` validates
values against the catalog before they are published, so a bad vendor value is reported
with the vendor topic instead of being refused later by the hub.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.sdk import DeviceMapping, PropertyClaims, Unmapped
from dhi.catalog import Catalog, check_value
from dhi.errors import HubError
from dhi.models import CapabilityDef, CapabilityInstance, Component, DeviceDescription, PropertyDef
from dhi.models.catalog import Access, Labels, ValueType
from dhi.models.device import PropertyConstraint

RW = [Access.READ, Access.WRITE, Access.NOTIFY]
RO = [Access.READ, Access.NOTIFY]


def vendor_property(
    name: str,
    type_: ValueType,
    *,
    unit: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    enum: list[str] | None = None,
    writable: bool = False,
    nullable: bool = False,
    label: str | None = None,
) -> PropertyDef:
    text = label or name.replace("_", " ")
    return PropertyDef(
        name=name,
        type=type_,
        unit=unit,
        minimum=minimum,
        maximum=maximum,
        enum=enum,
        access=RW if writable else RO,
        nullable=nullable,
        label=Labels(en=text, zh_cn=text),
    )


def vendor_capability(
    cap_id: str, properties: Iterable[PropertyDef], label: str | None = None
) -> CapabilityDef:
    """A vendor capability definition; zh-CN falls back to the English text (vendors name
    their own features; translations come from a catalog entry once one exists)."""
    text = label or cap_id.rsplit(".", 1)[-1].replace("_", " ")
    return CapabilityDef(
        id=cap_id,
        category="vendor",
        label=Labels(en=text, zh_cn=text),
        description=Labels(en=f"Vendor feature {cap_id}", zh_cn=f"厂商功能 {cap_id}"),
        properties=list(properties),
    )


@dataclass
class _Cap:
    properties: list[str] = field(default_factory=list)
    commands: list[str] | None = None
    events: list[str] | None = None
    vendor: list[PropertyDef] | None = None
    constraints: dict[str, PropertyConstraint] | None = None


@dataclass
class DescriptionBuilder:
    """Components in insertion order; capabilities and members de-duplicated."""

    labels: dict[str, str] = field(default_factory=dict)
    _comps: dict[str, dict[str, _Cap]] = field(default_factory=dict)

    def component(self, component: str, label: str | None = None) -> None:
        self._comps.setdefault(component, {})
        if label:
            self.labels.setdefault(component, label)

    def add(
        self,
        component: str,
        capability: str,
        prop: str | None = None,
        *,
        commands: Iterable[str] | None = None,
        events: Iterable[str] | None = None,
    ) -> None:
        cap = self._comps.setdefault(component, {}).setdefault(capability, _Cap())
        if prop is not None and prop not in cap.properties:
            cap.properties.append(prop)
        if commands is not None:
            cap.commands = _merge(cap.commands, commands)
        if events is not None:
            cap.events = _merge(cap.events, events)

    def add_vendor(self, component: str, capability: str, prop: PropertyDef) -> None:
        cap = self._comps.setdefault(component, {}).setdefault(capability, _Cap())
        cap.vendor = cap.vendor or []
        if all(p.name != prop.name for p in cap.vendor):
            cap.vendor.append(prop)
        if prop.name not in cap.properties:
            cap.properties.append(prop.name)

    def constrain(self, component: str, capability: str, prop: str, constraint: PropertyConstraint) -> None:
        """The device's own narrower range/members of a catalog property (e.g. a light's CT range)."""
        cap = self._comps.setdefault(component, {}).setdefault(capability, _Cap())
        cap.constraints = {**(cap.constraints or {}), prop: constraint}

    def has(self, component: str, capability: str) -> bool:
        return capability in self._comps.get(component, {})

    def build(self) -> list[Component]:
        out = []
        for comp_id, caps in self._comps.items():
            instances = []
            for cap_id, cap in caps.items():
                if cap.vendor is not None:
                    instances.append(
                        CapabilityInstance(id=cap_id, definition=vendor_capability(cap_id, cap.vendor))
                    )
                else:
                    instances.append(
                        CapabilityInstance(
                            id=cap_id,
                            properties=cap.properties or ([] if cap.commands or cap.events else None),
                            commands=cap.commands,
                            events=cap.events,
                            constraints=cap.constraints,
                        )
                    )
            if instances:
                out.append(Component(id=comp_id, label=self.labels.get(comp_id), capabilities=instances))
        return out


def _merge(old: list[str] | None, new: Iterable[str]) -> list[str]:
    out = list(old or [])
    out.extend(n for n in new if n not in out)
    return out


@dataclass
class Features:
    """Feature accounting for ``dhome adapters check``; binding goes through the SDK's
    no-collision rule, so the component returned may differ from the one asked for."""

    standard: int = 0
    vendor: int = 0
    unmapped: list[Unmapped] = field(default_factory=list)
    claims: PropertyClaims = field(default_factory=PropertyClaims)

    def bind(self, feature: str, component: str, capability: str, *props: str) -> str:
        """One vendor feature -> ``props`` of ``capability`` (no props: an events-only
        capability such as ``dhi.button``); returns the component it landed in."""
        if len(props) == 1:
            comp = self.claims.bind(feature, component, capability, props[0])
        else:
            comp = self.claims.bind_all(feature, component, capability, props)
        if capability.startswith("x."):
            self.vendor += 1
        else:
            self.standard += 1
        return comp

    def drop(self, feature: str, reason: str) -> None:
        self.unmapped.append(Unmapped(feature=feature, reason=reason))

    @property
    def total(self) -> int:
        return self.standard + self.vendor + len(self.unmapped)

    def report(self, description: DeviceDescription) -> DeviceMapping:
        return DeviceMapping(
            id=description.id,
            name=description.name,
            description=description,
            features=self.total,
            standard=self.standard,
            vendor=self.vendor,
            unmapped=self.unmapped,
            mapping=self.claims.fates,
        )


def checked(
    components: list[Component], component: str, capability: str, props: Mapping[str, Any], catalog: Catalog
) -> tuple[dict[str, Any], list[str]]:
    """Split ``props`` into values that fit the device's declared capability and reasons
    for the ones that do not (wrong type, out of range, not declared)."""
    comp = next((c for c in components if c.id == component), None)
    inst = comp.capability(capability) if comp is not None else None
    if inst is None:
        return {}, [f"{component}/{capability} is not part of the device description"]
    definition = inst.definition if inst.definition is not None else catalog.get(capability)
    if definition is None:
        return {}, [f"{capability} is not in the catalog"]
    good: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in props.items():
        prop = definition.property(name)
        if prop is None or (inst.properties is not None and name not in inst.properties):
            errors.append(f"{component}/{capability}.{name}: not declared for this device")
            continue
        try:
            check_value(prop, value, f"{component}/{capability}.{name}", (inst.constraints or {}).get(name))
        except HubError as exc:
            errors.append(exc.message + (f" (expected {exc.expected})" if exc.expected else ""))
            continue
        good[name] = value
    return good, errors


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted leaf paths: ``{"aenergy": {"total": 1}}`` -> ``{"aenergy.total": 1}``."""
    out: dict[str, Any] = {}
    for key, v in value.items():
        path = f"{prefix}{key}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out
