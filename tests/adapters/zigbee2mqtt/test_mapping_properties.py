"""Property tests of the expose -> capability mapping and of the unit table."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from adapters.sdk.convert import ConversionError
from adapters.zigbee2mqtt import units
from adapters.zigbee2mqtt.actions import LOCK_ERRORS, LOCK_SOURCES, classify_values, lock_event
from adapters.zigbee2mqtt.exposes import BridgeDevice
from adapters.zigbee2mqtt.mapping import Binding, DeviceMap, map_device
from dhi.catalog import check_value, default_catalog
from dhi.checks import check_description
from dhi.models.catalog import Access, ValueType

CATALOG = default_catalog()
KNOWN_UNITS = sorted({s for row in units.UNIT_TABLE for s in row.spellings})

access_bits = st.integers(min_value=1, max_value=7)
vendor_names = st.from_regex(r"zz_[a-z][a-z0-9]{0,20}", fullmatch=True)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def one(exposes: list[dict[str, Any]]) -> DeviceMap:
    entry = {
        "ieee_address": "0x00124b0000000001",
        "friendly_name": "dev",
        "definition": {"model": "M", "vendor": "V", "exposes": exposes},
    }
    return map_device(BridgeDevice.model_validate(entry), CATALOG)


def only_binding(dev: DeviceMap) -> Binding:
    assert dev.unmapped == []
    assert len(dev.bindings) == 1, dev.bindings
    return dev.bindings[0]


def expected_access(bits: int) -> set[Access]:
    out = set()
    if bits & 1 or bits & 4:
        out.add(Access.READ)
    if bits & 2:
        out.add(Access.WRITE)
    if bits & 1:
        out.add(Access.NOTIFY)
    return out


@settings(max_examples=200, deadline=None)
@given(
    name=vendor_names,
    access=access_bits,
    lo=finite,
    span=st.floats(min_value=0.001, max_value=1e5, allow_nan=False),
    unit=st.one_of(st.none(), st.sampled_from(KNOWN_UNITS), st.text(min_size=1, max_size=8)),
)
def test_vendor_numeric_keeps_type_range_unit_and_access(
    name: str, access: int, lo: float, span: float, unit: str | None
) -> None:
    hi = lo + span
    expose = {
        "type": "numeric",
        "name": name,
        "property": name,
        "access": access,
        "value_min": lo,
        "value_max": hi,
        "label": "L",
    }
    if unit is not None:
        expose["unit"] = unit
    b = only_binding(one([expose]))
    assert b.capability == f"x.zigbee2mqtt.{name}" and not b.standard
    prop = b.prop
    assert prop is not None and prop.type is ValueType.NUMBER
    assert set(prop.access) == expected_access(access)
    assert prop.writable == bool(access & 2) == b.settable
    resolved = units.resolve(unit, CATALOG.units)
    assert prop.unit == resolved.ucum
    if resolved.vendor_unit is not None:  # never silently dropped: it is in the description
        assert prop.description is not None and resolved.vendor_unit in prop.description.en
    ends = [converted(b, v) for v in (lo, hi)]
    pole = None in ends or (lo < 0 < hi and converted(b, 0.0) is None)  # e.g. 0 mired = ∞ K
    if not pole:
        assert prop.minimum is not None and prop.maximum is not None
        assert prop.minimum == pytest.approx(min(ends), rel=1e-9, abs=1e-9)  # type: ignore[type-var]
        assert prop.maximum == pytest.approx(max(ends), rel=1e-9, abs=1e-9)  # type: ignore[type-var]
    # every value the device may report is inside the range and valid, and converts back
    for raw in (lo, hi, lo + span / 2, lo + span / 7):
        value = converted(b, raw)
        if value is None:
            continue
        tolerance = 1e-9 * max(1.0, abs(value))
        assert prop.minimum is None or value >= prop.minimum - tolerance, (raw, value, prop.minimum)
        assert prop.maximum is None or value <= prop.maximum + tolerance, (raw, value, prop.maximum)
        lower = value if prop.minimum is None else max(value, prop.minimum)
        check_value(prop, lower if prop.maximum is None else min(lower, prop.maximum), "v")
        assert b.convert.back(value) == pytest.approx(raw, rel=1e-9, abs=1e-6)


def converted(b: Binding, raw: float) -> float | None:
    try:
        return float(b.convert(raw))
    except ConversionError:
        return None


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (150.0, 500.0, (2000.0, 1_000_000 / 150)),  # a colour lamp's usual range
        (0.0, 500.0, (2000.0, None)),  # 0 mired is no temperature: no upper bound in K
        (-1.0, 1.0, (None, None)),  # around the pole: nothing bounds the kelvins
        (150.0, None, (None, 1_000_000 / 150)),
        (None, 500.0, (None, None)),  # down to 0 and below it
    ],
)
def test_a_mired_range_in_kelvin(
    lo: float | None, hi: float | None, expected: tuple[float | None, ...]
) -> None:
    conv = units.converter(units.lookup("mired"), units.lookup("K"))  # type: ignore[arg-type]
    assert conv is not None
    got = units.range_through(conv, lo, hi)
    assert got == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(
    name=vendor_names,
    access=access_bits,
    on=st.sampled_from(["ON", "open", 1, True]),
    off=st.sampled_from(["OFF", "closed", 0, False]),
)
def test_vendor_binary_is_boolean_both_ways(name: str, access: int, on: Any, off: Any) -> None:
    assume(on != off)
    b = only_binding(
        one(
            [
                {
                    "type": "binary",
                    "name": name,
                    "property": name,
                    "access": access,
                    "value_on": on,
                    "value_off": off,
                }
            ]
        )
    )
    assert b.prop is not None and b.prop.type is ValueType.BOOLEAN
    assert b.convert(on) is True and b.convert(off) is False
    assert b.convert.back(True) == on and b.convert.back(False) == off
    assert b.prop.writable == bool(access & 2)


@settings(max_examples=100, deadline=None)
@given(
    name=vendor_names,
    access=access_bits,
    values=st.lists(
        st.one_of(st.text(min_size=1, max_size=10), st.integers(0, 1000)),
        min_size=1,
        max_size=8,
        unique_by=str,
    ),
)
def test_vendor_enum_members_are_strings_and_round_trip(name: str, access: int, values: list[Any]) -> None:
    b = only_binding(
        one([{"type": "enum", "name": name, "property": name, "access": access, "values": values}])
    )
    assert b.prop is not None and b.prop.type is ValueType.ENUM
    assert b.prop.enum == [str(v) for v in values]
    for v in values:
        assert b.convert.back(b.convert(v)) == v
    with pytest.raises(ConversionError):
        b.convert("\x00not-a-member")


@settings(max_examples=100, deadline=None)
@given(
    access=access_bits, unit=st.sampled_from(["°C", "°F", "K"]), lo=st.floats(-40, 0), hi=st.floats(1, 120)
)
def test_writability_follows_access_bit_2_for_standard_capabilities(
    access: int, unit: str, lo: float, hi: float
) -> None:
    dev = one(
        [
            {
                "type": "numeric",
                "name": "temperature",
                "property": "temperature",
                "access": access,
                "unit": unit,
                "value_min": lo,
                "value_max": hi,
            }
        ]
    )
    b = only_binding(dev)
    if unit == "K":
        # kelvin is a colour temperature unit in the catalog, not an air temperature: kept vendor
        assert not b.standard
    elif access & 2:
        # dhi.temperature.temperature is read-only: a settable expose must stay settable
        assert not b.standard and b.prop is not None and b.prop.writable
    else:
        assert b.standard and b.capability == "dhi.temperature"
        assert b.convert(32.0 if unit == "°F" else 0.0) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(bri_max=st.sampled_from([254, 255, 1000]), access=st.sampled_from([3, 7]), raw=st.integers(0, 1000))
def test_brightness_scales_to_percent_of_its_own_range(bri_max: int, access: int, raw: int) -> None:
    assume(raw <= bri_max)
    dev = one(
        [
            {
                "type": "light",
                "features": [
                    {
                        "type": "binary",
                        "name": "state",
                        "property": "state",
                        "access": access,
                        "value_on": "ON",
                        "value_off": "OFF",
                        "value_toggle": "TOGGLE",
                    },
                    {
                        "type": "numeric",
                        "name": "brightness",
                        "property": "brightness",
                        "access": access,
                        "value_min": 0,
                        "value_max": bri_max,
                    },
                ],
            }
        ]
    )
    level = dev.binding("main", "dhi.level", "level")
    assert level is not None and level.standard
    pct = level.convert(raw)
    assert 0 <= pct <= 100
    assert abs(level.convert.back(pct) - raw) <= max(1, bri_max / 1000)
    assert dev.description is not None
    inst = dev.description.components[0].capability("dhi.on_off")
    assert inst is not None and inst.commands == ["on", "off", "toggle"]


# --- arbitrary expose lists: mapping never raises and always yields a valid description

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10, 300), st.text(max_size=6), finite)
leaf = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["binary", "numeric", "enum", "text", "weird"]),
        "name": st.sampled_from(
            ["state", "temperature", "brightness", "action", "contact", "zz_x", "", "Ünï code"]
        ),
        "property": st.sampled_from(["state", "temperature", "brightness", "action", "p_l1", "zz_x"]),
        "access": st.one_of(st.integers(0, 7), st.none()),
    },
    optional={
        "unit": st.sampled_from(["°C", "%", "mired", "lx", "furlongs", ""]),
        "value_min": finite,
        "value_max": finite,
        "values": st.lists(json_scalar, max_size=4),
        "value_on": json_scalar,
        "value_off": json_scalar,
        "endpoint": st.sampled_from(["l1", "2", "main", "Left!"]),
        "presets": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=5), "value": json_scalar}), max_size=2
        ),
    },
)
expose = st.recursive(
    leaf,
    lambda children: st.fixed_dictionaries(
        {
            "type": st.sampled_from(["composite", "light", "switch", "cover", "list", "lock", "climate"]),
            "name": st.sampled_from(["color_xy", "level_config", "zz_c", "warning"]),
            "property": st.sampled_from(["color", "level_config", "zz_c"]),
            "access": st.integers(0, 7),
            "features": st.lists(children, max_size=4),
        },
        optional={"item_type": children, "endpoint": st.sampled_from(["l1", "l2"])},
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(exposes=st.lists(st.one_of(expose, json_scalar), max_size=8))
def test_any_expose_list_maps_without_error_to_a_valid_description(exposes: list[Any]) -> None:
    dev = one(exposes)
    assert (
        dev.features
        == dev.standard
        + dev.vendor
        + sum(
            1
            for u in dev.unmapped
            if "malformed" not in u.reason
            and "unknown expose type" not in u.reason
            and "without features" not in u.reason
            and "neither property" not in u.reason
        )
        or dev.features >= dev.standard + dev.vendor
    )
    if dev.description is not None:
        check_description(dev.description, CATALOG)
        for b in dev.bindings:
            comp = dev.description.component(b.component)
            assert comp is not None and comp.capability(b.capability) is not None


# --- the unit table


@pytest.mark.parametrize("row", units.UNIT_TABLE, ids=lambda r: r.spellings[0])
def test_every_unit_row_round_trips_through_its_base(row: units.UnitRow) -> None:
    base = units.unit_for_symbol(row.unit.base)
    assert base is not None
    conv = units.converter(row.unit, base)
    assert conv is not None
    for v in (1.0, 2.5, 100.0, 1234.5):
        assert conv.back(conv(v)) == pytest.approx(v, rel=1e-9)


def test_units_used_by_the_catalog_are_reachable() -> None:
    used = {p.unit for cap in CATALOG.values() for p in cap.properties if p.unit}
    unknown = sorted(u for u in used if units.unit_for_symbol(u) is None)
    assert unknown == [], f"catalog units without a row in the unit table: {unknown}"


@settings(max_examples=200, deadline=None)
@given(src=st.sampled_from(KNOWN_UNITS), v=st.floats(min_value=0.01, max_value=1e5, allow_nan=False))
def test_resolved_vendor_units_are_in_units_yaml_and_invert(src: str, v: float) -> None:
    r = units.resolve(src, CATALOG.units)
    assert r.ucum is None or r.ucum in CATALOG.units
    out = r.convert(v)
    assert math.isfinite(out)
    assert r.convert.back(out) == pytest.approx(
        v, rel=1e-9, abs=1e-9
    )  # 12 significant digits of the converted value


def test_known_conversions() -> None:
    def conv(a: str, b: str) -> Any:
        c = units.to_catalog_unit(a, b)
        assert c is not None
        return c

    assert conv("°F", "Cel")(212) == 100
    assert conv("mV", "V")(3005) == pytest.approx(3.005)
    assert conv("kPa", "hPa")(101.3) == pytest.approx(1013)
    assert conv("mired", "K")(250) == 4000
    assert conv("%", "1")(95) == pytest.approx(0.95)
    assert conv("min", "s")(2) == 120
    assert conv("Wh", "kW.h")(1500) == 1.5
    assert units.to_catalog_unit("lx", "Cel") is None


@given(
    source=st.sampled_from(sorted(LOCK_SOURCES)),
    op=st.sampled_from(["lock", "unlock"]),
)
def test_lock_operation_names_its_source(source: str, op: str) -> None:
    ev = lock_event(f"{source}_{op}")
    assert ev is not None and ev.event == "lock_operation"
    assert dict(ev.payload) == {"operation": op, "source": LOCK_SOURCES[source]}


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=30))
def test_lock_events_only_for_lock_words(value: str) -> None:
    """Whatever an action value is, it is a lock event only when it reads as one; a gesture
    or remote command never is, and neither is e.g. ``child_lock``."""
    ev = lock_event(value)
    if ev is None:
        return
    assert ev.capability == "dhi.lock"
    payload = dict(ev.payload)
    assert payload["operation"] in {"lock", "unlock", "non_access_user_event", "forced_user_event"}
    assert value.endswith(("lock", "unlock", "_event")) or "_failure" in value
    assert not value.startswith("child_")
    if ev.event == "lock_operation_error":
        assert payload["error"] in set(LOCK_ERRORS.values()) | {"unspecified"}
    vocab = classify_values([value])
    assert value not in vocab.gestures and value not in vocab.commands


def test_keypad_words_only_on_keypads() -> None:
    remote = classify_values(["on", "off", "disarm", "panic"])
    assert remote.device_events == {} and "disarm" in remote.commands
    keypad = classify_values(["arm_all_zones", "disarm", "panic", "identify"])
    assert {v: (d.event, dict(d.payload)) for v, d in keypad.device_events.items()} == {
        "arm_all_zones": ("arm_requested", {"mode": "arm_away"}),
        "disarm": ("arm_requested", {"mode": "disarm"}),
        "panic": ("panic", {}),
    }
    assert keypad.commands == frozenset() and "identify" in keypad.other
