"""The catalog's Home Assistant rows, read both ways (one table, two directions).

The dhome → HA bridge (``hub.bridges.home_assistant``) asks which entities a component
becomes; the HA → dhome adapter asks which capability an HA entity is. Both read the same
``mappings.home_assistant`` rows of ``spec/interface/catalog`` and the HA unit strings of
``spec/interface/units.yaml``; nothing here knows a protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dhi.catalog import Catalog
from dhi.models.catalog import CapabilityDef, HomeAssistantMapping, PropertyDef, ValueType

#: platforms whose rows of one component merge into one entity (features add up)
COMPOSITE = frozenset({"light", "cover", "valve", "climate", "fan", "lock", "siren", "vacuum", "update"})

#: platforms that only show: exporting them never needs a command path
READ_ONLY_DOMAINS = frozenset({"sensor", "binary_sensor", "event"})

#: DHI fan modes HA shows as a fan's preset modes (both directions read this one list)
FAN_PRESET_MODES = ("low", "medium", "high", "auto", "smart")


@dataclass(frozen=True, slots=True)
class EntityRow:
    """One catalog row with what it refers to resolved."""

    capability: CapabilityDef
    row: HomeAssistantMapping
    prop: PropertyDef | None
    #: HA unit_of_measurement of the entity state (None: HA shows no unit)
    unit: str | None

    @property
    def key(self) -> str:
        """Stable per capability: the entity's part of unique ids and topics."""
        short = self.capability.id.split(".")[-1]
        return f"{short}_{self.row.property or self.row.domain}_{self.row.domain}"


def ha_unit(catalog: Catalog, cap: CapabilityDef, row: HomeAssistantMapping) -> str | None:
    """The unit HA shows for the row's state: the row's own, else the HA form of the DHI unit."""
    if row.unit is not None:
        return row.unit
    prop = cap.property(row.property) if row.property else None
    if prop is None or prop.unit is None or prop.type not in (ValueType.NUMBER, ValueType.INTEGER):
        return None
    return catalog.units[prop.unit].home_assistant


def entity_rows(catalog: Catalog) -> list[EntityRow]:
    """Every Home Assistant row of the catalog, in catalog order."""
    return list(_rows(catalog))


def _rows(catalog: Catalog) -> Iterable[EntityRow]:
    for cap in catalog.values():
        for row in cap.mappings.home_assistant:
            prop = cap.property(row.property) if row.property else None
            yield EntityRow(cap, row, prop, ha_unit(catalog, cap, row))


type _Index = Mapping[tuple[str, str | None], tuple[EntityRow, ...]]
#: per catalog object (a Catalog is a Mapping, hence unhashable): (catalog, index)
_INDEXES: dict[int, tuple[Catalog, _Index]] = {}


def _index(catalog: Catalog) -> _Index:
    hit = _INDEXES.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    out: dict[tuple[str, str | None], list[EntityRow]] = {}
    for er in _rows(catalog):
        out.setdefault((er.row.domain, er.row.device_class), []).append(er)
    index = {k: tuple(v) for k, v in out.items()}
    _INDEXES[id(catalog)] = (catalog, index)
    return index


def rows_for_entity(catalog: Catalog, domain: str, device_class: str | None) -> tuple[EntityRow, ...]:
    """The rows an HA entity of this domain and device class may be (import direction),
    exported and import-only alike; an unknown pair gives none (keep it as a vendor property)."""
    return _index(catalog).get((domain, device_class), ())


def ucum_for_ha_unit(catalog: Catalog, unit: str) -> str | None:
    """The DHI (UCUM) symbol whose HA form is ``unit``; None when HA's unit is not one of ours
    (the adapter then converts, e.g. °F, or keeps the value as a vendor property)."""
    return next((u.symbol for u in catalog.units.values() if u.home_assistant == unit), None)


def applies(row: HomeAssistantMapping, present: frozenset[str], *, control: bool) -> bool:
    """Does the bridge export this row for a component carrying the ``present`` capabilities?
    ``control``: the resident lets HA control this device."""
    if not row.export:
        return False
    if row.with_any and present.isdisjoint(row.with_any):
        return False
    if row.unless_any and not present.isdisjoint(row.unless_any):
        return False
    return row.access is None or (row.access == "control") == control
