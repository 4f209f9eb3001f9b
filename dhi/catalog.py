"""The capability catalog loaded from ``spec/interface/catalog/*.yaml`` (DHI v1 §4)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from dhi.errors import InvalidParams, OutOfRange, UnknownCapability
from dhi.models.catalog import CapabilityDef, CatalogFile, PropertyDef, UnitDef, ValueType
from dhi.models.device import PropertyConstraint
from dhi.specdata import spec_dir


class CatalogLoadError(Exception):
    """The catalog data itself is broken (a spec bug, never a user error)."""


class Catalog(Mapping[str, CapabilityDef]):
    def __init__(self, capabilities: list[CapabilityDef], units: list[UnitDef]) -> None:
        self._caps = {c.id: c for c in capabilities}
        self.units = {u.symbol: u for u in units}

    @classmethod
    def load(cls, root: Path | None = None) -> Catalog:
        root = root or spec_dir()
        caps: list[CapabilityDef] = []
        for path in sorted((root / "catalog").glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
                caps.extend(CatalogFile.model_validate(data).capabilities)
            except (yaml.YAMLError, ValidationError) as exc:
                raise CatalogLoadError(f"{path}: {exc}") from exc
        raw_units = yaml.safe_load((root / "units.yaml").read_text(encoding="utf-8"))
        units = [UnitDef.model_validate(u) for u in raw_units["units"]]
        catalog = cls(caps, units)
        catalog.check()
        return catalog

    def check(self) -> None:
        problems = []
        seen: set[str] = set()
        for cap in self._caps.values():
            if cap.id in seen:
                problems.append(f"{cap.id}: defined twice")
            seen.add(cap.id)
            for prop in cap.properties:
                if prop.unit is not None and prop.unit not in self.units:
                    problems.append(f"{cap.id}.{prop.name}: unit {prop.unit!r} is not in units.yaml")
            problems.extend(self._ha_problems(cap))
        if problems:
            raise CatalogLoadError("; ".join(problems))

    def _ha_problems(self, cap: CapabilityDef) -> list[str]:
        """Home Assistant rows name capabilities that exist, and every DHI capability either
        reaches HA or says why not (the coverage report is generated from this)."""
        rows = cap.mappings.home_assistant
        out = [
            f"{cap.id}: home_assistant with_any names {other!r}, not in the catalog"
            for row in rows
            for other in (*row.with_any, *row.unless_any)
            if other not in self._caps
        ]
        if not any(r.export for r in rows) and cap.mappings.home_assistant_none is None:
            out.append(f"{cap.id}: no exported home_assistant row and no home_assistant_none reason")
        return out

    # Mapping protocol
    def __getitem__(self, key: str) -> CapabilityDef:
        return self._caps[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._caps)

    def __len__(self) -> int:
        return len(self._caps)

    def require(self, capability_id: str) -> CapabilityDef:
        try:
            return self._caps[capability_id]
        except KeyError:
            raise UnknownCapability(
                f"capability {capability_id!r} is not in the DHI v1 catalog", field="capability"
            ) from None

    @cached_property
    def by_category(self) -> dict[str, list[CapabilityDef]]:
        out: dict[str, list[CapabilityDef]] = {}
        for cap in self._caps.values():
            out.setdefault(cap.category, []).append(cap)
        return out


@cache
def default_catalog() -> Catalog:
    return Catalog.load()


# ---------------------------------------------------------------- value checks

_PY_TYPES: dict[ValueType, tuple[type, ...]] = {
    ValueType.BOOLEAN: (bool,),
    ValueType.INTEGER: (int,),
    ValueType.NUMBER: (int, float),
    ValueType.STRING: (str,),
    ValueType.ENUM: (str,),
    ValueType.OBJECT: (dict,),
    ValueType.ARRAY: (list,),
}


def expected_type(prop: PropertyDef) -> str:
    if prop.type is ValueType.ENUM and prop.enum:
        return "one of " + ", ".join(repr(e) for e in prop.enum)
    return prop.type.value


def check_value(
    prop: PropertyDef, value: Any, field: str, constraint: PropertyConstraint | None = None
) -> None:
    """Raise a precise error unless ``value`` fits ``prop`` (type, enum, range)."""
    _check_value(prop, value, field, constraint)


def check_write(
    prop: PropertyDef, value: Any, field: str, constraint: PropertyConstraint | None = None
) -> None:
    """``check_value`` for a value a command writes, plus ``step`` (spec §4.2): it lies on the
    grid ``minimum + k·step`` (origin 0 without a minimum). Reports are not bound to the grid."""
    _check_value(prop, value, field, constraint)
    step = constraint.step if constraint and constraint.step else prop.step
    if step and prop.type in (ValueType.INTEGER, ValueType.NUMBER) and value is not None:
        lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
        k = (value - (lo or 0)) / step
        if not math.isclose(k, round(k), rel_tol=0, abs_tol=1e-9 * max(1.0, abs(k))):
            origin = _fmt(lo) if lo is not None else "0"
            raise OutOfRange(
                f"{field}: {value} is not on the step grid {origin} + k·{_fmt(step)}",
                field=field,
                expected=f"{origin} + k·{_fmt(step)}" + (f" {prop.unit}" if prop.unit else ""),
            )


#: finite bounds for "no bound": an infinite float lies outside them, like check_value says
_MAX = sys.float_info.max
ValueCheck = Callable[[Any], bool]


def _undecided(value: Any) -> bool:
    return False


def value_check(prop: PropertyDef, constraint: PropertyConstraint | None = None) -> ValueCheck:
    """A quick acceptance test for ``prop``'s values, made once per property: ``True`` only
    for a value ``check_value`` accepts; ``False`` means "ask ``check_value``", which then
    raises the precise error (or accepts a case this test leaves to it: null, a JSON Schema).
    Ingestion runs it for every reported value."""
    if prop.schema_ is not None:
        return _undecided
    kind = prop.type
    if kind is ValueType.BOOLEAN:
        return lambda v: v.__class__ is bool
    if kind in (ValueType.INTEGER, ValueType.NUMBER):
        lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
        hi = constraint.maximum if constraint and constraint.maximum is not None else prop.maximum
        low = -_MAX if lo is None else lo
        high = _MAX if hi is None else hi
        if kind is ValueType.INTEGER:
            return lambda v: v.__class__ is int and low <= v <= high
        # NaN fails both comparisons, infinities the finite bounds
        return lambda v: (v.__class__ is float or v.__class__ is int) and low <= v <= high
    if kind is ValueType.ENUM:
        members = frozenset((constraint.enum if constraint and constraint.enum else None) or prop.enum or ())
        return (lambda v: v.__class__ is str and v in members) if members else _undecided
    if kind is ValueType.STRING:
        longest = prop.max_length if prop.max_length is not None else _MAX
        return lambda v: v.__class__ is str and len(v) <= longest
    py_type = _PY_TYPES[kind][0]
    return lambda v: v.__class__ is py_type


def _check_value(prop: PropertyDef, value: Any, field: str, constraint: PropertyConstraint | None) -> None:
    if value is None:
        if prop.nullable:
            return
        raise InvalidParams(f"{field} must not be null", field=field, expected=expected_type(prop))
    types = _PY_TYPES[prop.type]
    is_bool = isinstance(value, bool)
    if not isinstance(value, types) or (is_bool and prop.type is not ValueType.BOOLEAN):
        raise InvalidParams(
            f"{field} has the wrong type: got {type(value).__name__}",
            field=field,
            expected=expected_type(prop),
        )
    return _check_fitting(prop, cast(Any, value), field, constraint)


def _check_fitting(prop: PropertyDef, value: Any, field: str, constraint: PropertyConstraint | None) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidParams(f"{field} must be a finite number", field=field, expected="finite number")
    enum = (constraint.enum if constraint and constraint.enum else None) or prop.enum
    if prop.type is ValueType.ENUM and enum and value not in enum:
        raise OutOfRange(
            f"{field}: {value!r} is not one of the allowed values",
            field=field,
            expected="one of " + ", ".join(repr(e) for e in enum),
        )
    if prop.type in (ValueType.INTEGER, ValueType.NUMBER):
        lo = constraint.minimum if constraint and constraint.minimum is not None else prop.minimum
        hi = constraint.maximum if constraint and constraint.maximum is not None else prop.maximum
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"{_fmt(lo)}..{_fmt(hi)}" + (f" {prop.unit}" if prop.unit else "")
            raise OutOfRange(f"{field}: {value} is outside {rng}", field=field, expected=rng)
    if prop.type is ValueType.STRING and prop.max_length is not None and len(value) > prop.max_length:
        raise OutOfRange(
            f"{field} is longer than {prop.max_length} characters",
            field=field,
            expected=f"at most {prop.max_length} characters",
        )
    if prop.schema_ is not None:
        _check_schema(prop.schema_, value, field)


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else str(v)


@cache
def _validator(schema_json: str) -> Draft202012Validator:
    import json

    return Draft202012Validator(json.loads(schema_json))


def _check_schema(schema: dict[str, Any], value: Any, field: str) -> None:
    import json

    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = field + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        raise InvalidParams(f"{path}: {err.message}", field=path, expected=_describe(err.schema))


def _describe(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return None
    parts = [f"{k}={schema[k]}" for k in ("type", "enum", "minimum", "maximum") if k in schema]
    return ", ".join(parts) or None


def check_params(schema: dict[str, Any], params: Any, field: str = "params") -> None:
    """Validate command parameters against the command's JSON Schema."""
    _check_schema(schema, params, field)
