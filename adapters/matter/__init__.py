"""Matter adapter: Matter devices through a Matter Server's WebSocket API (DESIGN §4).

Entry point: ``matter = "adapters.matter:MatterAdapter"`` in the ``dhome.adapters`` group.
"""

from adapters.matter.adapter import MatterAdapter, MatterConfig

__all__ = ["MatterAdapter", "MatterConfig"]
