"""The catalog's Home Assistant rows: complete, consistent with HA's own rules, readable both ways.

HA facts below are from Home Assistant 2025.4 (``homeassistant/components/sensor/const.py``
DEVICE_CLASS_UNITS / DEVICE_CLASS_STATE_CLASSES, the DeviceClass enums of binary_sensor, cover,
valve, event, button, switch, update). The slow test in tests/bridges/home_assistant checks the
same rows against the installed HA itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dhi.catalog import Catalog, CatalogLoadError, default_catalog
from dhi.ha_coverage import render
from dhi.home_assistant import EntityRow, applies, entity_rows, rows_for_entity, ucum_for_ha_unit
from dhi.models.catalog import ValueType
from dhi.specdata import spec_dir

CATALOG = default_catalog()
ROWS = entity_rows(CATALOG)
DOC = Path(__file__).resolve().parents[2] / "docs" / "home-assistant-coverage.md"

MEASUREMENT = {"measurement"}
TOTALS = {"total", "total_increasing"}
#: sensor device class -> (units HA accepts, state classes HA accepts), HA 2025.4
SENSOR_CLASSES: dict[str, tuple[set[str | None], set[str]]] = {
    "apparent_power": ({"VA", "mVA", "kVA"}, MEASUREMENT),
    "aqi": ({None}, MEASUREMENT),
    "atmospheric_pressure": ({"Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"}, MEASUREMENT),
    "battery": ({"%"}, MEASUREMENT),
    "carbon_dioxide": ({"ppm"}, MEASUREMENT),
    "carbon_monoxide": ({"ppm"}, MEASUREMENT),
    "current": ({"A", "mA"}, MEASUREMENT),
    "distance": ({"km", "m", "cm", "mm", "mi", "nmi", "yd", "in", "ft"}, MEASUREMENT | TOTALS),
    "duration": ({"d", "h", "min", "s", "ms", "μs"}, MEASUREMENT | TOTALS),
    "energy": ({"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal"}, TOTALS),
    "frequency": ({"Hz", "kHz", "MHz", "GHz"}, MEASUREMENT),
    "gas": ({"CCF", "ft³", "m³"}, TOTALS),
    "humidity": ({"%"}, MEASUREMENT),
    "illuminance": ({"lx"}, MEASUREMENT),
    "moisture": ({"%"}, MEASUREMENT),
    "nitrogen_dioxide": ({"µg/m³"}, MEASUREMENT),
    "ozone": ({"µg/m³"}, MEASUREMENT),
    "pm1": ({"µg/m³"}, MEASUREMENT),
    "pm10": ({"µg/m³"}, MEASUREMENT),
    "pm25": ({"µg/m³"}, MEASUREMENT),
    "power": ({"mW", "W", "kW", "MW", "GW", "TW"}, MEASUREMENT),
    "power_factor": ({"%", None}, MEASUREMENT),
    "pressure": ({"Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"}, MEASUREMENT),
    "reactive_power": ({"var"}, MEASUREMENT),
    "signal_strength": ({"dB", "dBm"}, MEASUREMENT),
    "sound_pressure": ({"dB", "dBA"}, MEASUREMENT),
    "temperature": ({"°C", "°F", "K"}, MEASUREMENT),
    "volatile_organic_compounds": ({"µg/m³"}, MEASUREMENT),
    "voltage": ({"V", "mV", "µV", "kV", "MV"}, MEASUREMENT),
    "volume_flow_rate": ({"m³/h", "ft³/min", "L/min", "gal/min", "mL/s"}, MEASUREMENT),
    "water": ({"CCF", "ft³", "m³", "gal", "L"}, TOTALS),
}
#: non-numeric sensor classes: no unit, no state class
SENSOR_TEXT_CLASSES = {"enum", "timestamp", "date"}
DEVICE_CLASSES: dict[str, set[str]] = {
    "binary_sensor": set(
        [
            "battery",
            "battery_charging",
            "carbon_monoxide",
            "cold",
            "connectivity",
            "door",
            "garage_door",
            "gas",
            "heat",
            "light",
            "lock",
            "moisture",
            "motion",
            "moving",
            "occupancy",
            "opening",
            "plug",
            "power",
            "presence",
            "problem",
            "running",
            "safety",
            "smoke",
            "sound",
            "tamper",
            "update",
            "vibration",
            "window",
        ]
    ),
    "cover": set(
        ["awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window"]
    ),
    "valve": {"water", "gas"},
    "event": {"doorbell", "button", "motion"},
    "button": {"identify", "restart", "update"},
    "switch": {"outlet", "switch"},
    "update": {"firmware"},
    # number shares the sensor's numeric classes
    "number": set(SENSOR_CLASSES) - {"energy", "gas", "water"},
}
#: which DHI value types an entity of each state-carrying platform can show / set
FITS: dict[str, set[ValueType]] = {
    "binary_sensor": {ValueType.BOOLEAN, ValueType.ENUM, ValueType.ARRAY},
    "switch": {ValueType.BOOLEAN},
    "number": {ValueType.NUMBER, ValueType.INTEGER},
    "select": {ValueType.ENUM, ValueType.STRING, ValueType.INTEGER},
    "text": {ValueType.STRING},
}
WRITABLE = {"switch", "number", "select", "text"}


def _name(er: EntityRow) -> str:
    return f"{er.capability.id}:{er.row.domain}/{er.row.device_class}:{er.row.property}"


def test_every_capability_reaches_home_assistant_or_says_why() -> None:
    for cap in CATALOG.values():
        exported = any(r.export for r in cap.mappings.home_assistant)
        assert exported != (cap.mappings.home_assistant_none is not None), cap.id


def test_a_capability_without_rows_or_reason_does_not_load(tmp_path: Path) -> None:
    root = spec_dir()
    (tmp_path / "catalog").mkdir()
    (tmp_path / "units.yaml").write_text((root / "units.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    data = yaml.safe_load((root / "catalog" / "safety.yaml").read_text(encoding="utf-8"))
    data["capabilities"][0]["mappings"].pop("home_assistant")
    (tmp_path / "catalog" / "safety.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(CatalogLoadError, match="no exported home_assistant row"):
        Catalog.load(tmp_path)


@pytest.mark.parametrize("er", [er for er in ROWS if er.row.domain == "sensor"], ids=_name)
def test_sensor_rows_follow_home_assistants_unit_and_state_class_rules(er: EntityRow) -> None:
    row, prop = er.row, er.prop
    assert prop is not None, "a sensor shows a property"
    if row.device_class in SENSOR_TEXT_CLASSES:
        assert er.unit is None and row.state_class is None
        if row.device_class == "enum":
            assert prop.type is ValueType.ENUM, "an enum sensor's options are the property's enum"
        return
    if row.device_class is None:
        return
    units, state_classes = SENSOR_CLASSES[row.device_class]
    assert er.unit in units, f"HA's {row.device_class} takes {units}, the row gives {er.unit!r}"
    assert row.state_class is None or row.state_class in state_classes
    if row.export:
        assert prop.type in (ValueType.NUMBER, ValueType.INTEGER)


@pytest.mark.parametrize("er", [er for er in ROWS if er.row.device_class], ids=_name)
def test_device_classes_exist_in_home_assistant(er: EntityRow) -> None:
    domain, dc = er.row.domain, er.row.device_class
    known = DEVICE_CLASSES.get(
        domain, set(SENSOR_CLASSES) | SENSOR_TEXT_CLASSES if domain == "sensor" else set()
    )
    assert dc in known, f"{dc!r} is not a device class of HA {domain}"


@pytest.mark.parametrize("er", [er for er in ROWS if er.row.domain in FITS], ids=_name)
def test_state_platforms_fit_the_property(er: EntityRow) -> None:
    assert er.prop is not None
    assert er.prop.type in FITS[er.row.domain]
    if er.row.domain in WRITABLE and er.row.export:
        assert er.prop.writable, f"HA can set a {er.row.domain}: {er.prop.name} must be writable"
    if er.row.domain == "binary_sensor" and er.prop.type is ValueType.ENUM:
        assert er.row.on_when, "an enum shown as on/off says which values are on"
        assert set(map(str, er.row.on_when)) <= set(er.prop.enum or ())


@pytest.mark.parametrize("er", [er for er in ROWS if er.row.domain in ("event", "button")], ids=_name)
def test_events_and_buttons_have_something_to_carry(er: EntityRow) -> None:
    if er.row.domain == "event":
        assert er.capability.events, "an event entity shows the capability's events"
    else:
        cmd = er.capability.command(er.row.command or "")
        assert cmd is not None and not cmd.params.get("required"), "a press sends no parameters"


def test_ha_unit_strings_name_one_unit_each() -> None:
    forms = [u.home_assistant for u in CATALOG.units.values() if u.home_assistant]
    assert len(forms) == len(set(forms))


@given(st.sampled_from(sorted(CATALOG.units)))
def test_units_read_back_from_their_home_assistant_form(symbol: str) -> None:
    ha = CATALOG.units[symbol].home_assistant
    if ha is not None:
        assert ucum_for_ha_unit(CATALOG, ha) == symbol


@given(st.sampled_from(ROWS))
def test_every_row_is_found_again_from_the_entity_it_makes(er: EntityRow) -> None:
    # one table, two directions: what the bridge publishes, the adapter maps back
    back = rows_for_entity(CATALOG, er.row.domain, er.row.device_class)
    assert er in back
    assert all(b.row.domain == er.row.domain and b.row.device_class == er.row.device_class for b in back)


@given(st.sampled_from(ROWS), st.sets(st.sampled_from(sorted(CATALOG))), st.booleans())
def test_export_conditions(er: EntityRow, present: set[str], control: bool) -> None:
    row, caps = er.row, frozenset(present)
    expected = (
        row.export
        and (not row.with_any or bool(caps & set(row.with_any)))
        and not caps & set(row.unless_any)
        and row.access in (None, "control" if control else "read_only")
    )
    assert applies(row, caps, control=control) == expected


def test_the_coverage_report_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(CATALOG), "run `make docs`"
