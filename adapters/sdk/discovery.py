"""Find adapters through the ``dhome.adapters`` entry-point group (built-in ones included)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel

GROUP = "dhome.adapters"


class AdapterLoadError(Exception):
    """An adapter plugin could not be loaded or does not satisfy the contract."""


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    entry_point: str
    distribution: str | None


def _entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=GROUP), key=lambda ep: ep.name)


def discover_adapters() -> list[AdapterInfo]:
    return [
        AdapterInfo(ep.name, ep.value, ep.dist.name if ep.dist is not None else None)
        for ep in _entry_points()
    ]


def validate_adapter_class(plugin: str, cls: Any) -> None:
    """Fail loudly, naming the plugin and what is missing (pluggy style)."""
    if not isinstance(cls, type):
        raise AdapterLoadError(f"adapter plugin {plugin!r}: entry point is not a class")
    for attr in ("start", "execute", "stop"):
        if not callable(getattr(cls, attr, None)):
            raise AdapterLoadError(f"adapter plugin {plugin!r}: missing method {attr}()")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise AdapterLoadError(f"adapter plugin {plugin!r}: class attribute 'name' must be a non-empty str")
    model = getattr(cls, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise AdapterLoadError(
            f"adapter plugin {plugin!r}: 'config_model' must be a pydantic BaseModel class"
        )


def load_adapter(name: str) -> type[Any]:
    matches = [ep for ep in _entry_points() if ep.name == name]
    if not matches:
        known = ", ".join(ep.name for ep in _entry_points()) or "none"
        raise AdapterLoadError(f"no adapter named {name!r} is installed (installed: {known})")
    try:
        cls = matches[0].load()
    except Exception as exc:  # a broken plugin must not take the hub down
        raise AdapterLoadError(f"adapter plugin {name!r} failed to import: {exc}") from exc
    validate_adapter_class(name, cls)
    return cls  # type: ignore[no-any-return]
