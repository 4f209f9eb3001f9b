"""Home files: the rooms and devices of a simulated home, with their initial state.

```yaml
name: Mrs Chen's flat
rooms: [{id: kitchen, name: Kitchen, name_zh: 厨房}]
devices:
  - id: kitchen-smoke                  # device id becomes  <adapter instance>:kitchen-smoke
    name: Kitchen smoke alarm
    room: kitchen
    manufacturer: Acme
    model: SA-100
    components:
      - id: main                       # optional, default main
        capabilities: [dhi.smoke_alarm, {id: dhi.battery, properties: [percentage, low]}]
        state: {dhi.battery: {percentage: 92}}   # the rest gets generated sensible values
```
Every capability id, property name and value is checked against the catalog when loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.virtual.errors import HomeError, Problem, load_yaml, problems_from_validation
from adapters.virtual.values import NoValidValue, initial_value
from dhi.catalog import Catalog, check_value
from dhi.checks import check_description
from dhi.errors import HubError
from dhi.models import CapabilityInstance, Component, DeviceDescription
from dhi.models.catalog import CapabilityDef
from dhi.models.common import COMPONENT_ID

NATIVE_ID = r"^[a-z0-9][a-z0-9_\-]*$"
ROOM_ID = r"^[a-z][a-z0-9_]*$"
BUILTIN_HOMES = "homes"

StateKey = tuple[str, str]  # component, capability


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomSpec(_Strict):
    id: Annotated[str, Field(pattern=ROOM_ID, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    name_zh: str | None = None


class ComponentSpec(_Strict):
    id: Annotated[str, Field(pattern=COMPONENT_ID, max_length=64)] = "main"
    label: str | None = None
    capabilities: Annotated[list[CapabilityInstance], Field(min_length=1)]
    state: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("capabilities", mode="before")
    @classmethod
    def _short_form(cls, v: Any) -> Any:
        """``dhi.on_off`` is short for ``{id: dhi.on_off}``."""
        if isinstance(v, list):
            return [{"id": item} if isinstance(item, str) else item for item in v]
        return v


class DeviceSpec(_Strict):
    id: Annotated[str, Field(pattern=NATIVE_ID, max_length=100)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    room: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    available: bool = True
    components: Annotated[list[ComponentSpec], Field(min_length=1)]


class HomeFile(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    name_zh: str | None = None
    description: str | None = None
    rooms: list[RoomSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class DeviceTemplate:
    """One simulated device, independent of the adapter instance name."""

    native_id: str
    name: str
    components: tuple[Component, ...]
    initial: Mapping[StateKey, Mapping[str, Any]]
    room: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    available: bool = True

    def device_id(self, adapter: str) -> str:
        return f"{adapter}:{self.native_id}"

    def description(self, adapter: str) -> DeviceDescription:
        return DeviceDescription(
            id=self.device_id(adapter),
            name=self.name,
            adapter=adapter,
            manufacturer=self.manufacturer,
            model=self.model,
            firmware=self.firmware,
            room=self.room,
            components=list(self.components),
        )


@dataclass(frozen=True)
class Home:
    name: str
    source: str
    rooms: Mapping[str, RoomSpec] = field(default_factory=dict)
    devices: Mapping[str, DeviceTemplate] = field(default_factory=dict)


def definition_of(inst: CapabilityInstance, catalog: Catalog) -> CapabilityDef | None:
    return inst.definition if inst.definition is not None else catalog.get(inst.id)


def initial_state(
    inst: CapabilityInstance, definition: CapabilityDef, given: Mapping[str, Any]
) -> dict[str, Any]:
    """Every supported property: the given value, else a generated sensible one."""
    out: dict[str, Any] = {}
    for prop in definition.properties:
        if inst.properties is not None and prop.name not in inst.properties:
            continue
        if prop.name in given:
            out[prop.name] = given[prop.name]
        else:
            out[prop.name] = initial_value(prop, (inst.constraints or {}).get(prop.name), definition.id)
    return out


# ------------------------------------------------------------------ loading


def builtin_home_path(name: str) -> Path | None:
    candidate = resources.files("adapters.virtual").joinpath(BUILTIN_HOMES, f"{name}.yaml")
    path = Path(str(candidate))
    return path if path.is_file() else None


def resolve_home(ref: str | Path, relative_to: Path | None = None) -> Path:
    """A built-in home by name (``demo``), else a path (relative to ``relative_to`` if given)."""
    if isinstance(ref, str) and "/" not in ref and not ref.endswith((".yaml", ".yml")):
        builtin = builtin_home_path(ref)
        if builtin is not None:
            return builtin
    path = Path(ref).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return path


def load_home(path: Path, catalog: Catalog) -> Home:
    data = load_yaml(path, HomeError)
    return parse_home(data, catalog, str(path))


def parse_home(data: Any, catalog: Catalog, source: str = "<home>") -> Home:
    if not isinstance(data, dict):
        raise HomeError(
            [Problem(source, "(top level)", "a home file is a mapping with name, rooms, devices")]
        )
    try:
        spec = HomeFile.model_validate(data)
    except ValidationError as exc:
        raise HomeError(problems_from_validation(source, exc)) from None
    problems: list[Problem] = []
    rooms: dict[str, RoomSpec] = {}
    for i, room in enumerate(spec.rooms):
        if room.id in rooms:
            problems.append(Problem(source, f"rooms[{i}].id", f"room {room.id!r} is declared twice"))
        rooms[room.id] = room
    devices: dict[str, DeviceTemplate] = {}
    for i, dev in enumerate(spec.devices):
        where = f"devices[{i}]"
        if dev.id in devices:
            problems.append(Problem(source, f"{where}.id", f"device {dev.id!r} is declared twice"))
        if dev.room is not None and dev.room not in rooms:
            known = ", ".join(rooms) or "none declared"
            problems.append(Problem(source, f"{where}.room", f"unknown room {dev.room!r} (rooms: {known})"))
        template = _device(dev, catalog, source, where, problems)
        if template is not None:
            devices[dev.id] = template
    if problems:
        raise HomeError(problems)
    return Home(spec.name, source, rooms, devices)


def _device(
    dev: DeviceSpec, catalog: Catalog, source: str, where: str, problems: list[Problem]
) -> DeviceTemplate | None:
    before = len(problems)
    initial: dict[StateKey, Mapping[str, Any]] = {}
    comp_ids = [c.id for c in dev.components]
    for j, comp in enumerate(dev.components):
        cwhere = f"{where}.components[{j}]"
        if comp_ids.count(comp.id) > 1:
            problems.append(Problem(source, f"{cwhere}.id", f"component {comp.id!r} is declared twice"))
        defs: dict[str, tuple[CapabilityInstance, CapabilityDef]] = {}
        for k, inst in enumerate(comp.capabilities):
            definition = definition_of(inst, catalog)
            if definition is None:
                problems.append(
                    Problem(
                        source, f"{cwhere}.capabilities[{k}].id", f"{inst.id!r} is not in the DHI catalog"
                    )
                )
                continue
            defs[inst.id] = (inst, definition)
        for cap_id, values in comp.state.items():
            if cap_id not in defs:
                problems.append(
                    Problem(
                        source,
                        f"{cwhere}.state.{cap_id}",
                        f"{cap_id!r} is not a capability of this component",
                    )
                )
                continue
            inst, definition = defs[cap_id]
            for name, value in values.items():
                prop = definition.property(name)
                pwhere = f"{cwhere}.state.{cap_id}.{name}"
                if prop is None or (inst.properties is not None and name not in inst.properties):
                    problems.append(Problem(source, pwhere, f"{cap_id} has no property {name!r}"))
                    continue
                try:
                    check_value(prop, value, name, (inst.constraints or {}).get(name))
                except HubError as exc:
                    problems.append(Problem(source, pwhere, exc.message + _expected(exc)))
        for cap_id, (inst, definition) in defs.items():
            try:
                initial[(comp.id, cap_id)] = initial_state(inst, definition, comp.state.get(cap_id, {}))
            except NoValidValue as exc:
                problems.append(Problem(source, f"{cwhere}.state.{cap_id}", str(exc)))
    if len(problems) > before:
        return None
    components = tuple(
        Component(id=c.id, label=c.label, capabilities=list(c.capabilities)) for c in dev.components
    )
    template = DeviceTemplate(
        native_id=dev.id,
        name=dev.name,
        components=components,
        initial=initial,
        room=dev.room,
        manufacturer=dev.manufacturer,
        model=dev.model,
        firmware=dev.firmware,
        available=dev.available,
    )
    try:
        check_description(template.description("virtual"), catalog)
    except HubError as exc:
        problems.append(Problem(source, where, exc.message))
        return None
    return template


def _expected(exc: HubError) -> str:
    return f" (expected {exc.expected})" if exc.expected else ""
