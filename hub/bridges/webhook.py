"""Webhook bridge: the CloudEvent in structured JSON mode (CloudEvents HTTP binding), signed
per Standard Webhooks (``webhook-id`` = the stable message id, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256>``) with the subscription's ``whsec_`` secret.

The receiver de-duplicates by ``webhook-id``: a retry after a lost response or a hub crash
carries the same id and the same body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks.webhooks import Webhook

from dhi.errors import InvalidParams
from dhi.models.subscription import SubscriptionRequest
from hub.alerts.config import AlertsConfig
from hub.delivery import DeliveryError, OutboxEntry, PermanentDeliveryError, ReceiverGone

if TYPE_CHECKING:
    from hub.core import Hub

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
USER_AGENT = "dhome-webhook/1"
#: Standard Webhooks: 410 Gone asks the sender to stop; anything else non-2xx is retried.
GONE = 410


def body_of(entry: OutboxEntry) -> str:
    """The exact text that is signed and sent (stable across retries)."""
    return json.dumps(entry.payload, ensure_ascii=False, separators=(",", ":"))


def signed_headers(entry: OutboxEntry, body: str, now: datetime | None = None) -> dict[str, str]:
    if not entry.secret:
        raise PermanentDeliveryError(f"subscription {entry.subscription.id} has no signing secret")
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "webhook-id": entry.message_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(entry.secret).sign(entry.message_id, stamp, body),
    }


class WebhookBridge:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"WebhookBridge(timeout={self._timeout.total})"

    def client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT})
        return self._session

    async def send(self, entry: OutboxEntry) -> None:
        body = body_of(entry)
        await post_signed(self.client(), entry, body.encode(), CONTENT_TYPE, signed_headers(entry, body))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def post_signed(
    session: aiohttp.ClientSession,
    entry: OutboxEntry,
    data: bytes,
    content_type: str,
    headers: dict[str, str],
) -> None:
    url = entry.subscription.endpoint
    try:
        async with session.post(url, data=data, headers={"Content-Type": content_type, **headers}) as resp:
            if 200 <= resp.status < 300:
                return
            text = (await resp.text(errors="replace"))[:200]
            message = f"{url} answered {resp.status} {resp.reason}: {text}".rstrip(": ")
            if resp.status == GONE:
                raise ReceiverGone(message)
            raise DeliveryError(message)
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"{url}: {type(exc).__name__}: {exc}") from exc
    except TimeoutError as exc:
        raise DeliveryError(f"{url}: no answer in time") from exc


def check_http_endpoint(request: SubscriptionRequest) -> None:
    parts = urlsplit(request.endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParams(
            f"{request.transport} endpoint must be an http(s) URL",
            field="endpoint",
            expected="https://host/path",
        )


class WebhookType:
    """``transport: webhook`` (entry point ``dhome.bridges``): signed CloudEvents to a URL."""

    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        check_http_endpoint(request)
        if request.secret is None and not has_secret:
            raise InvalidParams(
                "a webhook subscription needs a signing secret",
                field="secret",
                expected="whsec_ + base64 of 24..64 random bytes (Standard Webhooks)",
            )

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> WebhookBridge:
        return WebhookBridge(timeout=config.outbox.timeout)
