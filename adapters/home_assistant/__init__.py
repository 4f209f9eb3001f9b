"""Home Assistant → dhome: what a Home Assistant instance reaches, as DHI devices (WebSocket API)."""

from adapters.home_assistant.adapter import HomeAssistantAdapter, HomeAssistantConfig

__all__ = ["HomeAssistantAdapter", "HomeAssistantConfig"]
