"""The adapter SDK: what a protocol adapter implements and what the hub offers it.

An adapter is a thin connection shell plus declarative mapping tables. Built-in and
third-party adapters are found the same way, through the ``dhome.adapters`` entry points.
"""

from adapters.sdk.adapter import Adapter, AdapterContext, NoConfig, OfflineMapper
from adapters.sdk.claims import PropertyClaims, collisions
from adapters.sdk.commands import run_command
from adapters.sdk.convert import (
    Converter,
    bool_map,
    clamp,
    enum_map,
    identity,
    kelvin_from_mireds,
    linear,
    scale,
)
from adapters.sdk.discovery import AdapterLoadError, discover_adapters, load_adapter
from adapters.sdk.mapping import Row
from adapters.sdk.report import DeviceMapping, FeatureFate, MappingReport, Unmapped, build_report

__all__ = [
    "Adapter",
    "AdapterContext",
    "AdapterLoadError",
    "Converter",
    "DeviceMapping",
    "FeatureFate",
    "MappingReport",
    "NoConfig",
    "OfflineMapper",
    "PropertyClaims",
    "Row",
    "Unmapped",
    "bool_map",
    "build_report",
    "clamp",
    "collisions",
    "discover_adapters",
    "enum_map",
    "identity",
    "kelvin_from_mireds",
    "linear",
    "load_adapter",
    "run_command",
    "scale",
]
