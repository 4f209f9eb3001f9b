"""A declarative mapping row for the simple case: one vendor key -> one DHI capability property.

An adapter whose vendor features are plain keys (the example ``dhome_acme``) uses ``Row``
as is; a protocol whose features need more to be found (a Matter cluster/attribute path,
Zigbee2MQTT exposes) declares its own small frozen row type next to its matcher. Either way,
``mapping_rows()`` returns rows with ``source``, ``capability``, ``property`` and a ``convert``
that conformance case DHI-ADP-4.2 runs both ways (CONTRIBUTING.md, "a new adapter").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.sdk.convert import Converter, identity


@dataclass(frozen=True)
class Row:
    """``source`` is the vendor key (a JSON key, a Matter attribute path, …)."""

    source: str
    capability: str
    property: str
    convert: Converter = identity
    component: str = "main"
    note: str | None = None

    def to_hub(self, value: Any) -> Any:
        return self.convert(value)

    def from_hub(self, value: Any) -> Any:
        return self.convert.back(value)
