"""Latest value of every property, with when and from whom; history goes to SQLite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from dhi.timefmt import isoformat
from hub.storage import Storage

Key = tuple[str, str, str, str]  # device, component, capability, property
_UPSERT = (
    "INSERT INTO state (device, component, capability, property, value, time, source) "
    "VALUES (?,?,?,?,?,?,?) ON CONFLICT(device, component, capability, property) "
    "DO UPDATE SET value=excluded.value, time=excluded.time, source=excluded.source"
)

_HISTORY = "INSERT INTO history (device, component, capability, property, value, time) VALUES (?,?,?,?,?,?)"


@dataclass(slots=True)
class StateValue:
    value: Any
    time: datetime
    source: str | None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "time": self.time.isoformat(), "source": self.source}


class HistoryRows:
    """The history rows of one ingestion batch (``StateStore.set(..., history=)``), queued
    together by ``StateStore.store_history``: one call for the batch instead of one per row."""

    __slots__ = ("keys", "rows")

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        #: what each row is the latest value of (``None``: a priority reading, never coalesced)
        self.keys: list[Key | None] = []


class StateStore:
    def __init__(self, storage: Storage, *, history: bool = True) -> None:
        self._storage = storage
        self._values: dict[Key, StateValue] = {}
        self._history = history

    async def load(self) -> None:
        rows = await self._storage.fetchall(
            "SELECT device, component, capability, property, value, time, source FROM state"
        )
        for device, comp, cap, prop, value, time, source in rows:
            self._values[(device, comp, cap, prop)] = StateValue(
                orjson.loads(value), datetime.fromisoformat(time), source
            )

    def get(self, device: str, component: str, capability: str, prop: str) -> StateValue | None:
        return self._values.get((device, component, capability, prop))

    def set(
        self,
        key: Key,
        value: Any,
        time: datetime,
        source: str | None,
        *,
        priority: bool = False,
        stamp: str | None = None,
        history: HistoryRows | None = None,
    ) -> tuple[bool, Any]:
        """Store a value; returns (whether it changed, the previous value or None). An
        unchanged value refreshes the time only (in memory: the stored row keeps the time
        the value was last *changed*). The history row of a bulk reading may be coalesced
        with a newer one of the same property when storage falls behind; a ``priority``
        (safety lane) reading's never is. ``stamp`` is ``time``'s text if the caller has it;
        with ``history`` the history row is added there (``store_history`` queues them)."""
        previous = self._values.get(key)
        if previous is not None and previous.value == value and type(previous.value) is type(value):
            previous.time = time
            previous.source = source
            return False, value
        self._values[key] = StateValue(value, time, source)
        encoded = orjson.dumps(value).decode()
        if stamp is None:
            stamp = isoformat(time)
        self._storage.write_latest(_UPSERT, key, (*key, encoded, stamp, source))
        if self._history:
            if history is None:
                self._storage.write_telemetry(_HISTORY, (*key, encoded, stamp), None if priority else key)
            else:
                history.rows.append((*key, encoded, stamp))
                history.keys.append(None if priority else key)
        return True, previous.value if previous is not None else None

    def store_history(self, history: HistoryRows) -> None:
        """Queue the history rows gathered by ``set(..., history=)``, in order."""
        if history.rows:
            self._storage.write_telemetry_many(_HISTORY, history.rows, history.keys)

    def of_device(self, device: str) -> dict[str, dict[str, dict[str, StateValue]]]:
        """``{component: {capability: {property: StateValue}}}``"""
        out: dict[str, dict[str, dict[str, StateValue]]] = {}
        for (dev, comp, cap, prop), val in self._values.items():
            if dev == device:
                out.setdefault(comp, {}).setdefault(cap, {})[prop] = val
        return out

    def forget(self, device: str) -> None:
        for key in [k for k in self._values if k[0] == device]:
            del self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def prune_history(self, now: datetime, keep: timedelta) -> None:
        self._storage.write("DELETE FROM history WHERE time < ?", ((now - keep).isoformat(),))
