"""One DHI property per vendor feature: the SDK's no-collision rule of the mapping step.

Two vendor values bound to the same ``component/capability.property`` of one device would
overwrite each other at runtime (imported and exported energy, phase A and phase B current).
Every adapter binds its features through ``PropertyClaims``: the first feature owns the
property; a later one is placed in its own component (named after the feature) and the
placement is recorded with its reason, so ``dhome adapters check`` shows it and nothing is
dropped (decision 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters.sdk.report import FeatureFate

Target = tuple[str, str, str]  # component, capability, property

_NOT_ID = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    """``ENERGY.Phase-2`` -> ``energy_phase_2``; a valid DHI component id (64 chars at most)."""
    out = _NOT_ID.sub("_", text.lower()).strip("_")
    out = out if out[:1].isalpha() else f"c_{out}"
    return out[:64].rstrip("_") or "c"


@dataclass
class PropertyClaims:
    """Who owns which DHI property of one device, and where each bound feature landed
    (unmapped features are the adapter's ``Unmapped`` list)."""

    owners: dict[Target, str] = field(default_factory=dict)
    fates: list[FeatureFate] = field(default_factory=list)

    def owner(self, component: str, capability: str, prop: str) -> str | None:
        return self.owners.get((component, capability, prop))

    def bind(
        self, feature: str, component: str, capability: str, prop: str, *, note: str | None = None
    ) -> str:
        """Bind ``feature`` and return the component it landed in: ``component`` when the
        property is free, otherwise a component of its own named after the feature."""
        target = (component, capability, prop)
        taken = self.owners.get(target)
        if taken == feature:
            return component
        if taken is not None:
            again = next((t for t, f in self.owners.items() if f == feature and t[1:] == target[1:]), None)
            if again is not None:  # bound before (a re-described device): same place again
                return again[0]
            moved = self._free_component(_own(component, feature), capability, prop)
            note = f"{component}/{capability}.{prop} already holds {taken}; kept apart in component {moved}"
            target = (moved, capability, prop)
        self.owners[target] = feature
        self.fates.append(
            FeatureFate(
                feature=feature, component=target[0], capability=capability, property=prop, reason=note
            )
        )
        return target[0]

    def bind_all(self, feature: str, component: str, capability: str, props: Iterable[str]) -> str:
        """One vendor feature that fills several properties of one capability (HSBColor -> hue,
        saturation): all land in the same component."""
        names = list(props) or [""]  # events only: the capability itself is what is owned
        comp = component
        if any(self.owner(comp, capability, p) not in (None, feature) for p in names):
            comp = self._free_component(_own(component, feature), capability, *names)
        for p in names:
            self.owners[(comp, capability, p)] = feature
        for p in names:
            self.fates.append(
                FeatureFate(feature=feature, component=comp, capability=capability, property=p or None)
            )
        return comp

    def _free_component(self, base: str, capability: str, *props: str) -> str:
        base = slug(base)
        candidate, n = base, 1
        while any((candidate, capability, p) in self.owners for p in props):
            n += 1
            candidate = f"{base[:60]}_{n}"
        return candidate


def _own(component: str, feature: str) -> str:
    """A component of its own for ``feature``: ``SCD40.eCO2`` next to ``scd40`` is
    ``scd40_eco2``, ``ENERGY.Power`` next to ``main`` is ``main_energy_power``."""
    name = slug(feature)
    return name if name.startswith(f"{component}_") else f"{component}_{name}"


def collisions(fates: Iterable[FeatureFate]) -> list[str]:
    """Every DHI property that more than one vendor feature is bound to (for tests and checks)."""
    seen: dict[Target, str] = {}
    out: list[str] = []
    for f in fates:
        if f.component is None or f.capability is None:
            continue
        target = (f.component, f.capability, f.property or "")
        first = seen.setdefault(target, f.feature)
        if first != f.feature:
            out.append(f"{target[0]}/{target[1]}.{target[2]}: {first} and {f.feature}")
    return out
