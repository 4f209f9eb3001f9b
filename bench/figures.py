"""One measured figure: its value, the ceiling it is compared with, and the product target."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """``ratio`` is ``value / ceiling``. The ceiling is what the figure is compared with in the
    same run (the raw paho+orjson rate, the raw MQTT round trip) or, where nothing raw exists
    to compare with, the product target itself (then ``ratio <= 1`` means the target is met)."""

    bench: str
    value: float | None
    unit: str
    ceiling: float | None
    target: str = ""
    #: whether the product target is met (None: no target, or not measured)
    meets: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.ceiling:
            return None
        # four significant digits: small ratios (0.0289) keep their precision too
        return float(f"{self.value / self.ceiling:.4g}")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        value, ceiling = data.pop("value"), data.pop("ceiling")
        return {"bench": self.bench, "value": value, "unit": self.unit, "ceiling": ceiling,
                "ratio": self.ratio, **{k: v for k, v in data.items() if k not in ("bench", "unit")}}  # fmt: skip


def unavailable(bench: str, unit: str, why: str, target: str = "") -> Figure:
    """A figure that could not be measured in this run, with the reason (never a made-up value)."""
    return Figure(bench, None, unit, None, target=target, meets=None, note=why)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
