"""The virtual adapter: a simulated home (devices, scenarios) for demos, tests and conformance."""

from adapters.virtual.adapter import VirtualAdapter
from adapters.virtual.config import Timing, VirtualConfig
from adapters.virtual.scenario import Scenario, find_scenario, load_scenario

__all__ = ["Scenario", "Timing", "VirtualAdapter", "VirtualConfig", "find_scenario", "load_scenario"]
