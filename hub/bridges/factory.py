"""One bridge per transport, built from the hub's config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.alerts.config import AlertsConfig
from hub.bridges import Bridge
from hub.bridges.cap import CapContext, CapHttpBridge, CapValidator, default_sender
from hub.bridges.mqtt_uplink import CapMqttBridge, MqttUplinkBridge, UplinkConnections
from hub.bridges.webhook import WebhookBridge
from hub.models.subscription import Transport

if TYPE_CHECKING:
    from hub.core import Hub


def build_bridges(hub: Hub, config: AlertsConfig) -> dict[Transport, Bridge]:
    home = hub.config.home
    validator = CapValidator(config.cap.xsd) if config.cap.xsd is not None else None
    cap_http = CapHttpBridge(
        CapContext(home, config.cap.sender or default_sender(home)),
        timeout=config.outbox.timeout,
        validator=validator,
    )
    uplink = UplinkConnections(config.uplink.broker)
    return {
        Transport.WEBHOOK: WebhookBridge(timeout=config.outbox.timeout),
        Transport.CAP_HTTP: cap_http,
        Transport.MQTT: MqttUplinkBridge(home.id, uplink),
        Transport.CAP_MQTT: CapMqttBridge(home.id, uplink, cap_http),
    }
