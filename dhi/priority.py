"""Which devices' messages go ahead of bulk telemetry: the safety lane (docs/ingestion.md).

Derived from the catalog, never a hand list: a device that carries a capability of a
``PRIORITY_CATEGORIES`` category (smoke, CO, gas and water leak, SOS, fall detection, …
and the care capabilities: bed occupancy, sleep, heart rate, inactivity, activity) is a
*priority device*. Every message of a priority device — state, events, availability — is
never coalesced or dropped and is handled before bulk telemetry, all in the order the device
sent it (a whole device is in one lane, so its messages never overtake each other).
Availability of any device is priority too.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from dhi.models import DeviceDescription
from dhi.models.catalog import CapabilityDef

#: catalog categories whose capabilities make a device a priority device
PRIORITY_CATEGORIES = frozenset({"safety", "care"})


def priority_capabilities(catalog: Mapping[str, CapabilityDef]) -> frozenset[str]:
    """Ids of the catalog capabilities of a priority category."""
    return _priority_ids(tuple((cap.id, cap.category) for cap in catalog.values()))


@cache
def _priority_ids(categories: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(cap for cap, category in categories if category in PRIORITY_CATEGORIES)


def is_priority_device(description: DeviceDescription, capabilities: frozenset[str]) -> bool:
    """Whether the device carries any of ``capabilities`` (see ``priority_capabilities``)."""
    return any(inst.id in capabilities for comp in description.components for inst in comp.capabilities)
