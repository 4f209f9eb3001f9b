"""MQTT uplink: a home's messages on a (community or city) broker, QoS 1.

Topics, under a prefix (default ``dhi/v1``):

* ``<prefix>/<home>/alerts/<kind>`` — alert messages (CloudEvent JSON)
* ``<prefix>/<home>/events/<group>/<action>`` — other messages, e.g. ``events/state/changed``
* ``<prefix>/<home>/cap/<kind>`` — CAP 1.2 XML (transport ``cap_mqtt``)
* ``<prefix>/<home>/events/consent/changed`` — the resident changed or withdrew a subscription
  (hub/bridges/uplink_consent.py): the platform's household record follows it

A platform serving many homes reads them with an MQTT 5 shared subscription, e.g.
``$share/community/dhi/v1/+/alerts/#``, or — at city scale — from the JetStream stream of a NATS
cluster's MQTT listener (community/jetstream.py, deploy/nats/). The endpoint of a subscription is
``mqtt(s)://[user:pass@]host[:port][/prefix]``, or just a topic prefix to use the broker of
``alerts.uplink.broker`` (which may list ``failover`` servers of the same cluster). A send
returns once the broker acknowledged (PUBACK); while the broker is away the send fails and the
outbox retries, so a broker restart loses nothing. The uplink speaks MQTT 3.1.1 with a
persistent session under a client id stable for the home and the broker.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from adapters.sdk.mqtt.connection import MqttConnection
from adapters.sdk.mqtt.errors import MqttError
from adapters.sdk.mqtt.settings import BrokerSettings
from dhi.errors import InvalidParams
from dhi.models.subscription import Subscription, SubscriptionRequest
from hub.alerts.config import AlertsConfig, UplinkBroker
from hub.bridges.cap import CapHttpBridge, cap_http_bridge, check_alerts_only
from hub.bridges.uplink_consent import UplinkConsentNotices
from hub.bridges.webhook import body_of
from hub.consent import ConsentService
from hub.delivery import DeliveryError, OutboxEntry

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "dhi/v1"
TYPE_PREFIX = "org.dhi.v1."


def split_endpoint(endpoint: str, default: BrokerSettings | None) -> tuple[BrokerSettings, str]:
    """(broker settings, topic prefix) of a subscription endpoint."""
    parts = urlsplit(endpoint)
    if parts.scheme in ("mqtt", "mqtts"):
        url = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        # another broker than the default: its servers are the URL's, not the default's cluster
        exclude = {"url", "username", "password", "failover", "client_id"}
        base = default.model_dump(exclude=exclude) if default else {}
        return UplinkBroker.model_validate({**base, "url": url}), prefix
    if default is None:
        raise DeliveryError(f"endpoint {endpoint!r} is a topic prefix but no uplink broker is configured")
    return default, endpoint.strip("/") or DEFAULT_PREFIX


def topic_for(prefix: str, home: str, payload: Mapping[str, Any]) -> str:
    msg_type = str(payload.get("type", ""))
    data = payload.get("data")
    alert = data.get("alert") if isinstance(data, dict) else None
    if isinstance(alert, dict) and "kind" in alert:
        return f"{prefix}/{home}/alerts/{alert['kind']}"
    group, _, action = msg_type.removeprefix(TYPE_PREFIX).partition(".")
    return f"{prefix}/{home}/events/{group or 'other'}/{action or 'message'}"


def uplink_client_id(home: str, settings: BrokerSettings) -> str:
    """A client id stable for this home and broker: the persistent session is found again after
    a restart of the hub (and a second broker of the same home gets its own)."""
    where = "|".join(f"{h}:{p}" for h, p in settings.endpoints())
    return f"dhome-{home}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


class UplinkConnections:
    """One connection per broker, opened on first use and kept (it reconnects by itself)."""

    def __init__(self, default: BrokerSettings | None, home: str = "hub") -> None:
        self.default = default
        self.home = home
        self._conns: dict[str, MqttConnection] = {}
        self._lock = asyncio.Lock()

    async def get(self, endpoint: str) -> tuple[MqttConnection, str]:
        settings, prefix = split_endpoint(endpoint, self.default)
        key = settings.model_dump_json()
        async with self._lock:
            conn = self._conns.get(key)
            if conn is None or conn.closed:
                if settings.client_id is None:
                    settings = settings.model_copy(
                        update={"client_id": uplink_client_id(self.home, settings)}
                    )
                conn = MqttConnection(settings, logger=log)
                try:
                    await conn.open()
                except (MqttError, OSError) as exc:
                    raise DeliveryError(f"uplink broker {settings.safe_url()}: {exc}") from exc
                self._conns[key] = conn
        return conn, prefix

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.close()


class MqttUplinkBridge:
    def __init__(self, home: str, connections: UplinkConnections) -> None:
        self._home = home
        self._conns = connections
        self.notices: UplinkConsentNotices | None = None

    async def send(self, entry: OutboxEntry) -> None:
        await self._publish(entry.subscription.endpoint, entry.payload, body_of(entry).encode())

    async def notify_consent(self, sub: Subscription, message: dict[str, Any]) -> None:
        """A consent notice (uplink_consent.py): on the subscription's uplink, acknowledged."""
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        await self._publish(sub.endpoint, message, body)

    async def _publish(self, endpoint: str, payload: Mapping[str, Any], body: bytes) -> None:
        conn, prefix = await self._conns.get(endpoint)
        topic = topic_for(prefix, self._home, payload)
        try:
            await conn.publish(topic, body, qos=1)
        except MqttError as exc:
            raise DeliveryError(f"publish to {topic}: {exc}") from exc

    async def close(self) -> None:
        if self.notices is not None:
            await self.notices.close()
        await self._conns.close()


class CapMqttBridge:
    """CAP XML on the uplink: ``<prefix>/<home>/cap/<kind>``."""

    def __init__(self, home: str, connections: UplinkConnections, renderer: CapHttpBridge) -> None:
        self._home = home
        self._conns = connections
        self._renderer = renderer

    async def send(self, entry: OutboxEntry) -> None:
        document = self._renderer.render(entry)
        conn, prefix = await self._conns.get(entry.subscription.endpoint)
        kind = entry.payload.get("data", {}).get("alert", {}).get("kind", "other")
        topic = f"{prefix}/{self._home}/cap/{kind}"
        try:
            await conn.publish(topic, document, qos=1)
        except MqttError as exc:
            raise DeliveryError(f"publish to {topic}: {exc}") from exc

    async def close(self) -> None:
        await self._conns.close()


def check_mqtt_endpoint(request: SubscriptionRequest, config: AlertsConfig) -> None:
    parts = urlsplit(request.endpoint)
    if parts.scheme in ("mqtt", "mqtts"):
        if not parts.hostname:
            raise InvalidParams("MQTT endpoint URL needs a host", field="endpoint")
    elif parts.scheme:
        raise InvalidParams(
            "MQTT endpoint must be mqtt(s)://host[:port][/prefix] or a topic prefix", field="endpoint"
        )
    elif config.uplink.broker is None:
        raise InvalidParams(
            "MQTT endpoint is a topic prefix but no uplink broker is configured (alerts.uplink.broker)",
            field="endpoint",
            expected="mqtt://host:port/prefix",
        )
    if any(c in request.endpoint.split("://")[-1] for c in "+#"):
        raise InvalidParams("MQTT endpoint must not contain wildcards", field="endpoint")


def _connections(config: AlertsConfig, shared: dict[str, Any], home: str) -> UplinkConnections:
    conns = shared.get("uplink")
    if not isinstance(conns, UplinkConnections):
        conns = shared["uplink"] = UplinkConnections(config.uplink.broker, home)
    return conns


class MqttType:
    """``transport: mqtt`` (entry point ``dhome.bridges``): CloudEvents on the MQTT uplink."""

    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        check_mqtt_endpoint(request, config)

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> MqttUplinkBridge:
        bridge = MqttUplinkBridge(hub.config.home.id, _connections(config, shared, hub.config.home.id))
        consent = next((s for s in hub.services if isinstance(s, ConsentService)), None)
        if consent is not None:  # the resident's consent changes reach the platform too
            bridge.notices = UplinkConsentNotices(hub, consent, bridge.notify_consent, config.outbox)
        return bridge


class CapMqttType:
    """``transport: cap_mqtt`` (entry point ``dhome.bridges``): CAP 1.2 XML on the MQTT uplink."""

    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        check_mqtt_endpoint(request, config)
        check_alerts_only(request)

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> CapMqttBridge:
        return CapMqttBridge(
            hub.config.home.id,
            _connections(config, shared, hub.config.home.id),
            cap_http_bridge(hub, config, shared),
        )
