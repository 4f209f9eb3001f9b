"""Declarative mapping rows: one vendor feature -> one DHI capability property."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.sdk.convert import ConversionError, Converter, identity


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


@dataclass
class Applied:
    """Result of applying rows to one vendor payload, grouped for ``publish_state``."""

    states: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def apply_rows(rows: Iterable[Row], payload: Mapping[str, Any]) -> Applied:
    """Convert every row whose source key is present; bad values become errors, not crashes."""
    out = Applied()
    used: set[str] = set()
    for row in rows:
        if row.source not in payload:
            continue
        used.add(row.source)
        try:
            value = row.to_hub(payload[row.source])
        except ConversionError as exc:
            out.errors.append(f"{row.source}: {exc}")
            continue
        out.states.setdefault((row.component, row.capability), {})[row.property] = value
    out.unmatched = [k for k in payload if k not in used]
    return out
