"""dhome → Home Assistant: MQTT discovery of the devices the resident shares (issue 22).

``bridges: {home_assistant: {...}}`` in the hub config turns it on (``settings.py``); the
service (``service.py``) seeds the consent, publishes discovery and takes HA's commands; the
bridge below is the outbox's transport ``home_assistant``: consented states, events and alerts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dhi.errors import InvalidParams
from dhi.models.subscription import SubscriptionRequest
from hub.alerts.config import AlertsConfig
from hub.bridges.home_assistant.service import MESSAGE_TYPES, HomeAssistantExport
from hub.bridges.home_assistant.settings import HomeAssistantSettings
from hub.delivery import OutboxEntry, PermanentDeliveryError

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["HomeAssistantBridge", "HomeAssistantExport", "HomeAssistantSettings", "HomeAssistantType"]


class HomeAssistantBridge:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def send(self, entry: OutboxEntry) -> None:
        service = next((s for s in self._hub.services if isinstance(s, HomeAssistantExport)), None)
        if service is None:
            raise PermanentDeliveryError(
                "Home Assistant 桥接未配置 / the Home Assistant bridge is not configured (bridges.home_assistant)"
            )
        await service.deliver(entry.payload)

    async def close(self) -> None:
        return None


class HomeAssistantType:
    """``transport: home_assistant`` (entry point ``dhome.bridges``)."""

    settings_model = HomeAssistantSettings

    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        parts = urlsplit(request.endpoint)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise InvalidParams(
                "a Home Assistant endpoint is the discovery broker", field="endpoint",
                expected="mqtt(s)://host[:port]/<discovery prefix>",
            )  # fmt: skip
        unknown = sorted(set(request.message_types) - set(MESSAGE_TYPES))
        if unknown:
            raise InvalidParams(
                f"Home Assistant cannot show {', '.join(unknown)}", field="message_types",
                expected="some of " + ", ".join(MESSAGE_TYPES),
            )  # fmt: skip

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> HomeAssistantBridge:
        return HomeAssistantBridge(hub)

    def service(self, settings: HomeAssistantSettings) -> HomeAssistantExport:
        return HomeAssistantExport(settings)
