"""Checking DHI-MQTT payloads against the DHI models and the catalog, with precise reasons.

Every failure is an ``Invalid`` naming the field (a JSON path inside the payload) and what
was expected, so ``ctx.report_invalid`` tells a device maker exactly what to fix.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from adapters.mqtt import PayloadError, decode_json_object
from hub.catalog import Catalog, check_params, check_value
from hub.errors import HubError
from hub.models import DeviceDescription, EventReport, StateReport
from hub.models.catalog import CapabilityDef
from hub.models.device import CapabilityInstance

_MAX_ERRORS = 3


class Invalid(Exception):
    def __init__(self, reason: str, *, field: str | None = None, expected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.expected = expected

    def __str__(self) -> str:
        # hub errors often start with the field already ("properties.on has the wrong type")
        named = self.field and self.reason.startswith((f"{self.field}:", f"{self.field} "))
        where = f"{self.field}: " if self.field and not named else ""
        want = f" (expected {self.expected})" if self.expected else ""
        return f"{where}{self.reason}{want}"

    @classmethod
    def from_hub(cls, exc: HubError) -> Invalid:
        return cls(exc.message, field=exc.field, expected=exc.expected)


def json_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def describe(exc: ValidationError) -> Invalid:
    """The first errors of a pydantic failure as one precise reason."""
    errors = exc.errors(include_url=False)
    parts = []
    for err in errors[:_MAX_ERRORS]:
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"]
        parts.append(f"{json_path(tuple(err['loc']))}: {msg}")
    if len(errors) > _MAX_ERRORS:
        parts.append(f"(+{len(errors) - _MAX_ERRORS} more errors)")
    first = errors[0] if errors else None
    return Invalid("; ".join(parts), field=json_path(tuple(first["loc"])) if first else None)


def parse[M: BaseModel](model: type[M], payload: bytes) -> M:
    try:
        data = decode_json_object(payload)
    except PayloadError as exc:
        raise Invalid(str(exc), expected=f"a JSON {model.__name__} object") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe(exc) from None


def definition_of(inst: CapabilityInstance, catalog: Catalog) -> CapabilityDef | None:
    return inst.definition if inst.definition is not None else catalog.get(inst.id)


def resolve(
    desc: DeviceDescription, component: str, capability: str, catalog: Catalog
) -> tuple[CapabilityInstance, CapabilityDef]:
    comp = desc.component(component)
    if comp is None:
        raise Invalid(
            f"the device has no component {component!r}",
            field="component",
            expected="one of " + ", ".join(repr(c.id) for c in desc.components),
        )
    inst = comp.capability(capability)
    if inst is None:
        raise Invalid(
            f"component {component!r} has no capability {capability!r}",
            field="capability",
            expected="one of " + ", ".join(repr(c.id) for c in comp.capabilities),
        )
    definition = definition_of(inst, catalog)
    if definition is None:  # check_description refuses such devices; kept for safety
        raise Invalid(f"capability {capability!r} is not in the catalog", field="capability")
    return inst, definition


def check_description(desc: DeviceDescription, catalog: Catalog) -> None:
    """Every capability known (catalog or vendor definition), every listed member real."""
    for comp in desc.components:
        for i, inst in enumerate(comp.capabilities):
            where = f"components[{desc.components.index(comp)}].capabilities[{i}]"
            definition = definition_of(inst, catalog)
            if definition is None:
                raise Invalid(
                    f"capability {inst.id!r} is not in the DHI v1 catalog",
                    field=f"{where}.id",
                    expected="a catalog capability id or x.<vendor>.<name> with a definition",
                )
            members: tuple[tuple[str, list[str] | None, list[str]], ...] = (
                ("properties", inst.properties, [p.name for p in definition.properties]),
                ("commands", inst.commands, [c.name for c in definition.commands]),
                ("events", inst.events, [e.name for e in definition.events]),
            )
            for kind, listed, known in members:
                for j, name in enumerate(listed or ()):
                    if name not in known:
                        raise Invalid(
                            f"{name!r} is not one of the {kind} of {inst.id}",
                            field=f"{where}.{kind}[{j}]",
                            expected="one of " + ", ".join(known) if known else f"no {kind}",
                        )
            for name in inst.constraints or {}:
                if definition.property(name) is None:
                    raise Invalid(
                        f"constraint on unknown property {name!r}",
                        field=f"{where}.constraints.{name}",
                        expected="one of " + ", ".join(p.name for p in definition.properties),
                    )


def check_state(report: StateReport, desc: DeviceDescription, catalog: Catalog) -> None:
    inst, definition = resolve(desc, report.component, report.capability, catalog)
    for name, value in report.properties.items():
        prop = definition.property(name)
        if prop is None or (inst.properties is not None and name not in inst.properties):
            allowed = [
                p.name for p in definition.properties if inst.properties is None or p.name in inst.properties
            ]
            raise Invalid(
                f"{report.capability} has no property {name!r} on this device",
                field=f"properties.{name}",
                expected="one of " + ", ".join(allowed),
            )
        try:
            check_value(prop, value, f"properties.{name}", (inst.constraints or {}).get(name))
        except HubError as exc:
            raise Invalid.from_hub(exc) from None


def check_event(report: EventReport, desc: DeviceDescription, catalog: Catalog) -> None:
    inst, definition = resolve(desc, report.component, report.capability, catalog)
    ev = definition.event(report.event)
    if ev is None or (inst.events is not None and report.event not in inst.events):
        allowed = [e.name for e in definition.events if inst.events is None or e.name in inst.events]
        raise Invalid(
            f"{report.capability} has no event {report.event!r} on this device",
            field="event",
            expected="one of " + ", ".join(allowed) if allowed else "no events",
        )
    try:
        check_params(ev.payload, report.payload, "payload")
    except HubError as exc:
        raise Invalid.from_hub(exc) from None


def shown(payload: bytes, limit: int = 200) -> Any:
    """A payload as it goes into an invalid-message report: text when it is text."""
    try:
        text = payload[:limit].decode("utf-8")
    except UnicodeDecodeError:
        return payload[:limit]
    return text + ("…" if len(payload) > limit else "")
