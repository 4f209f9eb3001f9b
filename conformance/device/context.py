"""What every device case gets: the session, the claims, the parsed description and helpers
that read the description the way the hub would (catalog or vendor definitions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from conformance.device.session import Answer, DeviceSession, Seen
from conformance.outcome import Errored, NotApplicable, Warned
from dhi.catalog import Catalog
from dhi.models import DeviceDescription
from dhi.models.catalog import Access, CapabilityDef, CommandDef, PropertyDef, ValueType
from dhi.models.conformance import Claims
from dhi.models.device import CapabilityInstance, PropertyConstraint


@dataclass(frozen=True)
class Instance:
    """One capability instance of the device with its (catalog or vendor) definition."""

    component: str
    inst: CapabilityInstance
    definition: CapabilityDef

    @property
    def id(self) -> str:
        return self.inst.id

    def properties(self) -> list[PropertyDef]:
        listed = self.inst.properties
        return [p for p in self.definition.properties if listed is None or p.name in listed]

    def writable(self) -> list[PropertyDef]:
        return [p for p in self.properties() if Access.WRITE in p.access]

    def read_only(self) -> list[PropertyDef]:
        return [p for p in self.properties() if Access.WRITE not in p.access]

    def commands(self) -> list[CommandDef]:
        listed = self.inst.commands
        return [c for c in self.definition.commands if listed is None or c.name in listed]

    def event_names(self) -> list[str]:
        listed = self.inst.events
        return [e.name for e in self.definition.events if listed is None or e.name in listed]

    def constraint(self, prop: str) -> PropertyConstraint | None:
        return (self.inst.constraints or {}).get(prop)


@dataclass
class DeviceOptions:
    client_id: str | None = None
    answer_timeout: float = 5.0
    reconnect_timeout: float = 30.0
    fuzz_examples: int = 60
    settle: float = 0.4


@dataclass
class DeviceContext:
    session: DeviceSession
    claims: Claims
    catalog: Catalog
    options: DeviceOptions
    desc: DeviceDescription | None = None
    desc_problem: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ the description
    def load_desc(self) -> None:
        """Read the description; when it cannot be used, ``desc_problem`` names the case that
        judges why (missing: DESC-1.1, not JSON: MSG-1.1, invalid: MSG-1.2) and the cause."""
        seen = self.session.retained("desc") or self.session.latest("desc")
        if seen is None or not seen.payload:
            self.desc_problem = "the device has no description on …/desc (see DHI-DESC-1.1)"
            return
        doc = seen.json()
        if doc is None:
            self.desc_problem = "the description is not a JSON object (see DHI-MSG-1.1)"
            return
        try:
            self.desc = DeviceDescription.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "(document)"
            self.desc_problem = (
                f"the description is not a valid DHI device, {where}: {err['msg']} (see DHI-MSG-1.2)"
            )

    def require_desc(self) -> DeviceDescription:
        if self.desc is None:
            raise Errored(f"needs a readable description: {self.desc_problem}")
        return self.desc

    def definition(self, inst: CapabilityInstance) -> CapabilityDef | None:
        return inst.definition if inst.definition is not None else self.catalog.get(inst.id)

    def instances(self) -> Iterator[Instance]:
        desc = self.require_desc()
        for comp in desc.components:
            for inst in comp.capabilities:
                definition = self.definition(inst)
                if definition is not None:
                    yield Instance(comp.id, inst, definition)

    def find(self, capability: str, component: str | None = None) -> Instance | None:
        return next(
            (
                i
                for i in self.instances()
                if i.id == capability and (component is None or i.component == component)
            ),
            None,
        )

    def first(self, what: str, pred: Any) -> Instance:
        found = next((i for i in self.instances() if pred(i)), None)
        if found is None:
            raise NotApplicable(f"the description declares no {what}")
        return found

    # ------------------------------------------------------------ state
    def state_messages(self) -> list[Seen]:
        return [m for m in self.session.messages if m.sub.startswith("state/") and m.payload]

    def current(self, component: str, capability: str) -> dict[str, Any]:
        """The latest value of each property, merged from every state report seen."""
        values: dict[str, Any] = {}
        for m in self.state_messages():
            if m.sub == f"state/{component}/{capability}":
                doc = m.json()
                props = doc.get("properties") if doc else None
                if isinstance(props, dict):
                    values.update(props)
        return values

    async def request(self, cmd: dict[str, Any], timeout: float | None = None) -> Answer:
        return await self.session.request(
            cmd, timeout if timeout is not None else self.options.answer_timeout
        )

    def command(self, inst: Instance, command: str, params: dict[str, Any], tag: str = "c") -> dict[str, Any]:
        return {
            "id": self.session.new_id(tag),
            "component": inst.component,
            "capability": inst.id,
            "command": command,
            "params": params,
            "timeout": self.options.answer_timeout,
        }


# ---------------------------------------------------------------- values for requests


def bounds(prop: PropertyDef, c: PropertyConstraint | None) -> tuple[float | None, float | None]:
    lo = c.minimum if c is not None and c.minimum is not None else prop.minimum
    hi = c.maximum if c is not None and c.maximum is not None else prop.maximum
    return lo, hi


def enum_of(prop: PropertyDef, c: PropertyConstraint | None) -> list[str]:
    return list((c.enum if c is not None and c.enum else None) or prop.enum or [])


def valid_other(prop: PropertyDef, c: PropertyConstraint | None, current: Any) -> Any:
    """A valid value for ``prop``, different from ``current`` where the type allows."""
    if prop.type is ValueType.BOOLEAN:
        return not current if isinstance(current, bool) else True
    if prop.type is ValueType.ENUM:
        options = enum_of(prop, c)
        return next((o for o in options if o != current), options[0])
    if prop.type in (ValueType.INTEGER, ValueType.NUMBER):
        lo, hi = bounds(prop, c)
        low = lo if lo is not None else 0
        high = hi if hi is not None else low + 1
        pick = high if current == low else low
        return int(pick) if prop.type is ValueType.INTEGER else float(pick)
    if prop.type is ValueType.STRING:
        return "dhi-conformance" if current != "dhi-conformance" else "dhi"
    # the suite's limit, not the device's: a warning, never "not applicable"
    raise Warned(f"not verified: this suite cannot build a valid value for the {prop.type.value} property "
                 f"{prop.name}")  # fmt: skip


def params_example(schema: dict[str, Any]) -> dict[str, Any] | None:
    """Valid parameters for a command's JSON Schema, for the simple shapes the catalog uses."""
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = props.get(name)
        if not isinstance(spec, dict):
            return None
        if "enum" in spec:
            out[name] = spec["enum"][0]
        elif spec.get("type") == "boolean":
            out[name] = True
        elif spec.get("type") in ("integer", "number"):
            out[name] = spec.get("minimum", 0)
        elif spec.get("type") == "string":
            out[name] = "x" * max(1, int(spec.get("minLength", 1)))
        else:
            return None
    return out
