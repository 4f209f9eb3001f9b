"""The case registry: every conformance case with its stable id, spec section, profile and needs.

Cases register themselves with :func:`case` when their module is imported; ids are part of
the interface (vendors cite them in bug reports and CI dashboards), so they never change
meaning and are never reused. ``tests/conformance`` checks that they are unique and that the
generated catalogue page (``spec/interface/conformance.md``) is up to date.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from dhi.models.conformance import Evidence, Profile, TargetKind

CASE_ID = re.compile(r"^DHI-([A-Z]+)-(\d+)\.(\d+)$")
#: a numbered rule of the spec, e.g. ``R12.4.3-8`` (rule 8 of §12.4.3, the DHI-MQTT binding)
RULE_ID = re.compile(r"^R\d+(\.\d+)*-\d+$")

CaseFunc = Callable[[Any], Awaitable[Evidence | None]]


class Tier(StrEnum):
    """``basic`` cases run always; ``fuzz`` cases only when the fuzz tier is on."""

    BASIC = "basic"
    FUZZ = "fuzz"


class Phase(IntEnum):
    """Run order within a target: observing first, disruptive later, sweeps over all traffic last."""

    OBSERVE = 0
    INTERACT = 1
    DISRUPT = 2
    FUZZ = 3
    SWEEP = 4


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    section: str
    target: TargetKind
    profile: Profile
    func: CaseFunc
    needs: tuple[str, ...] = ()
    tier: Tier = Tier.BASIC
    phase: Phase = Phase.INTERACT
    #: the numbered spec rules this case checks: a target breaking one of them fails here
    rules: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        m = CASE_ID.match(self.id)
        assert m is not None
        return m.group(1)

    @property
    def sort_key(self) -> tuple[str, int, int]:
        m = CASE_ID.match(self.id)
        assert m is not None
        return (m.group(1), int(m.group(2)), int(m.group(3)))


class RegistryError(Exception):
    """A case was declared wrongly (a programming error in the suite itself)."""


REGISTRY: dict[str, Case] = {}

#: the modules that declare cases, imported on first use of the registry
CASE_MODULES: tuple[str, ...] = (
    "conformance.device.cases_desc",
    "conformance.device.cases_state",
    "conformance.device.cases_cmd",
    "conformance.device.cases_avail",
    "conformance.device.cases_sweep",
    "conformance.device.cases_fuzz",
    "conformance.adapter.cases",
    "conformance.adapter.cases_fuzz",
    "conformance.hubapi.cases_rest",
    "conformance.hubapi.cases_ws",
    "conformance.hubapi.cases_fuzz",
)


def case(
    id: str,
    title: str,
    *,
    section: str,
    target: TargetKind,
    profile: Profile = Profile.CORE,
    needs: tuple[str, ...] = (),
    tier: Tier = Tier.BASIC,
    phase: Phase = Phase.INTERACT,
    rules: tuple[str, ...] = (),
) -> Callable[[CaseFunc], CaseFunc]:
    """Register the decorated coroutine function as conformance case ``id``."""
    if not CASE_ID.match(id):
        raise RegistryError(f"case id {id!r} does not match DHI-<AREA>-<n>.<m>")
    if not section.startswith("§"):
        raise RegistryError(f"{id}: section must cite the spec as §N[.M], got {section!r}")
    for rule in rules:
        if not RULE_ID.match(rule) or not section.startswith("§" + rule[1:].split("-")[0].split(".")[0]):
            raise RegistryError(f"{id}: rule {rule!r} is not R<section>-<n> of the spec it cites ({section})")

    def register(func: CaseFunc) -> CaseFunc:
        if id in REGISTRY:
            raise RegistryError(f"case id {id} registered twice ({REGISTRY[id].func.__qualname__})")
        REGISTRY[id] = Case(id, title, section, target, profile, func, needs, tier, phase, rules)
        return func

    return register


def load_all() -> dict[str, Case]:
    for name in CASE_MODULES:
        importlib.import_module(name)
    return REGISTRY


def cases_for(target: TargetKind) -> list[Case]:
    """The cases of one target in run order (phase, then id)."""
    cases = [c for c in load_all().values() if c.target is target]
    return sorted(cases, key=lambda c: (c.phase, c.sort_key))


def citing(rule: str) -> frozenset[str]:
    """The ids of the cases that check ``rule``: a target breaking it must fail exactly these."""
    return frozenset(c.id for c in load_all().values() if rule in c.rules)


def all_cases() -> list[Case]:
    return sorted(load_all().values(), key=lambda c: (c.target.value, c.sort_key))
