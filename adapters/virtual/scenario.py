"""Scenario files (``examples/homes/*.yaml``): a home scripted over time, and what should follow.

```yaml
name: kitchen_fire
home: demo                         # a built-in home, or a path relative to this file
start: 2026-01-15T17:30:00+08:00   # RFC 3339 with UTC offset: the hub clock starts here
duration: "02:00:00"
steps:
  - {at: "+00:05:00", device: kitchen-temp, capability: dhi.temperature, set: {temperature: 38.5}}
  - {at: "17:40", device: kitchen-smoke, capability: dhi.smoke_alarm, set: {smoke: true}}
  - {at: "+00:20:00", device: kitchen-smoke, event: ..., payload: {...}}
  - {at: "+01:00:00", device: hall-lock, available: false}
expect:
  alerts: [{kind: smoke, room: kitchen}]
```
Loading checks everything against the home and the catalog; each error names the file,
the step index and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapters.virtual.errors import HomeError, Problem, ScenarioError, load_yaml, problems_from_validation
from adapters.virtual.home import Home, definition_of, load_home, resolve_home
from adapters.virtual.timing import TimeFormatError, check_at, parse_duration, resolve_at
from dhi.catalog import Catalog, check_params, check_value
from dhi.errors import HubError
from dhi.models.alert import AlertKind

SCENARIO_DIR = Path("examples") / "homes"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _time_text(value: Any, parse: Any) -> str:
    try:
        parse(value)
    except TimeFormatError as exc:
        raise ValueError(str(exc)) from None
    return str(value).strip()


class StepSpec(_Strict):
    at: str
    device: Annotated[str, Field(min_length=1)]
    component: str = "main"
    capability: str | None = None
    set: dict[str, Any] | None = None
    event: str | None = None
    payload: dict[str, Any] | None = None
    available: bool | None = None
    note: str | None = Field(default=None, description="what this step stands for, for people reading it")

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: Any) -> str:
        return _time_text(v, check_at)

    @model_validator(mode="after")
    def _one_action(self) -> StepSpec:
        actions = [k for k in ("set", "event", "available") if getattr(self, k) is not None]
        if len(actions) != 1:
            found = ", ".join(actions) or "none"
            raise ValueError(f"a step does exactly one of set, event, available (found: {found})")
        if self.payload is not None and self.event is None:
            raise ValueError("payload is only allowed with event")
        if self.available is None and self.capability is None:
            raise ValueError("set and event steps name a capability")
        if self.set is not None and not self.set:
            raise ValueError("set needs at least one property")
        return self


class ExpectedAlert(_Strict):
    kind: AlertKind
    room: str | None = None
    device: str | None = None
    by: str | None = Field(default=None, description="offset from start by which it must be raised")

    @field_validator("by", mode="before")
    @classmethod
    def _by(cls, v: Any) -> str | None:
        return None if v is None else _time_text(v, parse_duration)


class Expect(_Strict):
    alerts: list[ExpectedAlert] = Field(default_factory=list)


class ScenarioFile(_Strict):
    name: str | None = None
    description: str | None = None
    home: str = "demo"
    start: AwareDatetime
    duration: str
    steps: list[StepSpec] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> str:
        return _time_text(v, parse_duration)


# ------------------------------------------------------------------ resolved form


@dataclass(frozen=True)
class SetState:
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class FireEvent:
    event: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class SetAvailable:
    available: bool


Action = SetState | FireEvent | SetAvailable


@dataclass(frozen=True)
class Step:
    index: int
    offset: timedelta
    device: str  # native id in the home
    component: str
    capability: str | None
    action: Action
    note: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    home: Home
    start: datetime
    duration: timedelta
    steps: tuple[Step, ...]
    expect: Expect
    description: str | None = None

    def time_of(self, step: Step, base: datetime | None = None) -> datetime:
        return (base or self.start) + step.offset


# ------------------------------------------------------------------ loading


def scenario_dirs() -> list[Path]:
    """Where scenarios are looked up by name: ./examples/homes, the source checkout's, and a
    copy shipped inside the package (``adapters/virtual/scenarios``) when installed from a wheel."""
    checkout = Path(__file__).resolve().parents[2] / SCENARIO_DIR
    shipped = Path(__file__).resolve().parent / "scenarios"
    dirs = [Path.cwd() / SCENARIO_DIR, checkout, shipped]
    return list(dict.fromkeys(d for d in dirs if d.is_dir()))


def available_scenarios() -> list[str]:
    return sorted({p.stem for d in scenario_dirs() for p in d.glob("*.yaml")})


def find_scenario(ref: str | Path) -> Path:
    """A scenario by path, or by name (``normal_day``) in the scenario directories."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    if len(path.parts) == 1:  # a bare name (``normal_day`` or ``normal_day.yaml``)
        name = path.name.removesuffix(".yaml")
        for d in scenario_dirs():
            candidate = d / f"{name}.yaml"
            if candidate.is_file():
                return candidate
    known = ", ".join(available_scenarios()) or "none found"
    raise ScenarioError([Problem(str(ref), "(file)", f"no such scenario file or name (scenarios: {known})")])


def load_scenario(ref: str | Path, catalog: Catalog) -> Scenario:
    path = find_scenario(ref)
    data = load_yaml(path, ScenarioError)
    return parse_scenario(data, catalog, str(path), default_name=path.stem, base_dir=path.parent)


def parse_scenario(
    data: Any,
    catalog: Catalog,
    source: str = "<scenario>",
    *,
    default_name: str = "scenario",
    base_dir: Path | None = None,
) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(source, "(top level)", "a scenario is a mapping with home, start, steps")]
        )
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(source, exc)) from None
    try:
        home = load_home(resolve_home(spec.home, base_dir), catalog)
    except HomeError as exc:
        raise ScenarioError(
            [Problem(source, "home", f"home {spec.home!r} is invalid:"), *exc.problems]
        ) from None
    problems: list[Problem] = []
    duration = parse_duration(spec.duration)
    if duration <= timedelta(0):
        problems.append(Problem(source, "duration", "must be longer than zero"))
    steps = _steps(spec, duration, _Checker(source, home, catalog, problems))
    _check_expect(spec.expect, home, source, duration, problems)
    if problems:
        raise ScenarioError(problems)
    return Scenario(
        name=spec.name or default_name,
        source=source,
        home=home,
        start=spec.start,
        duration=duration,
        steps=tuple(steps),
        expect=spec.expect,
        description=spec.description,
    )


def native_device(ref: str) -> str:
    """Steps may name ``kitchen-smoke`` or ``virtual:kitchen-smoke``."""
    return ref.removeprefix("virtual:")


@dataclass(frozen=True)
class _Checker:
    """What validating a step needs; ``problems`` collects every error found."""

    source: str
    home: Home
    catalog: Catalog
    problems: list[Problem]

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.source, path, message))


def _steps(spec: ScenarioFile, duration: timedelta, chk: _Checker) -> list[Step]:
    source, problems = chk.source, chk.problems
    out: list[Step] = []
    previous = spec.start
    for i, st in enumerate(spec.steps):
        where = f"steps[{i}]"
        when = resolve_at(st.at, spec.start, previous)
        if when < previous:
            problems.append(
                Problem(
                    source,
                    f"{where}.at",
                    f"{st.at!r} is before the previous step: steps must be in time order",
                )
            )
        elif when - spec.start > duration:
            problems.append(
                Problem(source, f"{where}.at", f"{st.at!r} is after the end of the scenario (duration)")
            )
        previous = max(previous, when)
        action = _action(st, where, chk)
        if action is not None:
            out.append(
                Step(
                    i,
                    when - spec.start,
                    native_device(st.device),
                    st.component,
                    st.capability,
                    action,
                    st.note,
                )
            )
    return out


def _action(st: StepSpec, where: str, chk: _Checker) -> Action | None:
    source, home, catalog, problems = chk.source, chk.home, chk.catalog, chk.problems
    template = home.devices.get(native_device(st.device))
    if template is None:
        problems.append(Problem(source, f"{where}.device", f"no device {st.device!r} in home {home.name!r}"))
        return None
    if st.available is not None:
        return SetAvailable(st.available)
    comp = next((c for c in template.components if c.id == st.component), None)
    if comp is None:
        problems.append(
            Problem(source, f"{where}.component", f"{st.device} has no component {st.component!r}")
        )
        return None
    inst = comp.capability(st.capability or "")
    definition = definition_of(inst, catalog) if inst is not None else None
    if inst is None or definition is None:
        have = ", ".join(c.id for c in comp.capabilities)
        problems.append(
            Problem(
                source,
                f"{where}.capability",
                f"{st.device} has no capability {st.capability!r} (has: {have})",
            )
        )
        return None
    if st.set is not None:
        ok = True
        for name, value in st.set.items():
            prop = definition.property(name)
            if prop is None or (inst.properties is not None and name not in inst.properties):
                problems.append(Problem(source, f"{where}.set.{name}", f"{inst.id} has no property {name!r}"))
                ok = False
                continue
            try:
                check_value(prop, value, name, (inst.constraints or {}).get(name))
            except HubError as exc:
                problems.append(Problem(source, f"{where}.set.{name}", _with_expected(exc)))
                ok = False
        return SetState(dict(st.set)) if ok else None
    assert st.event is not None
    ev = definition.event(st.event)
    if ev is None or (inst.events is not None and st.event not in inst.events):
        names = ", ".join(e.name for e in definition.events) or "none"
        problems.append(
            Problem(source, f"{where}.event", f"{inst.id} has no event {st.event!r} (events: {names})")
        )
        return None
    payload = st.payload or {}
    try:
        check_params(ev.payload, payload, "payload")
    except HubError as exc:
        problems.append(Problem(source, f"{where}.{exc.field or 'payload'}", _with_expected(exc)))
        return None
    return FireEvent(st.event, payload)


def _check_expect(
    expect: Expect, home: Home, source: str, duration: timedelta, problems: list[Problem]
) -> None:
    for i, alert in enumerate(expect.alerts):
        where = f"expect.alerts[{i}]"
        if alert.room is not None and alert.room not in home.rooms:
            problems.append(Problem(source, f"{where}.room", f"unknown room {alert.room!r}"))
        if alert.device is not None and native_device(alert.device) not in home.devices:
            problems.append(Problem(source, f"{where}.device", f"no device {alert.device!r} in the home"))
        if alert.by is not None and parse_duration(alert.by) > duration:
            problems.append(Problem(source, f"{where}.by", "is after the end of the scenario"))


def _with_expected(exc: HubError) -> str:
    return exc.message + (f" (expected {exc.expected})" if exc.expected else "")
