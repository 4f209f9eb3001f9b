"""A running virtual device: its description and its current state, which commands really change."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from adapters.virtual.home import DeviceTemplate, StateKey
from dhi.models import DeviceDescription


@dataclass
class VirtualDevice:
    template: DeviceTemplate
    description: DeviceDescription
    available: bool = True
    state: dict[StateKey, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def create(cls, template: DeviceTemplate, adapter: str) -> VirtualDevice:
        dev = cls(template, template.description(adapter))
        dev.reset()
        return dev

    @property
    def id(self) -> str:
        return self.description.id

    def reset(self) -> None:
        """Back to the home file's initial state."""
        self.available = self.template.available
        self.state = {key: copy.deepcopy(dict(values)) for key, values in self.template.initial.items()}

    def values(self, component: str, capability: str) -> dict[str, Any]:
        return self.state.setdefault((component, capability), {})

    def update(self, component: str, capability: str, properties: dict[str, Any]) -> None:
        self.values(component, capability).update(copy.deepcopy(properties))
