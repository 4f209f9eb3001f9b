"""Contracts between the hub API and the services behind it (alerts, consent/subscriptions).

The API (hub/api) programs against these protocols; hub/alerts and hub/consent implement
them and attach themselves to ``Hub.alerts`` / ``Hub.subscriptions`` when started.
"""

from __future__ import annotations

from typing import Any, Protocol

from dhi.models import Alert, Subscription, SubscriptionRequest
from dhi.models.alert import AlertState


class AlertService(Protocol):
    def list_alerts(self, state: AlertState | None = None, limit: int = 100) -> list[Alert]: ...

    def get_alert(self, alert_id: str) -> Alert | None: ...

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        """Raise ``dhi.errors.NotFound`` for an unknown id; acknowledging twice is idempotent."""
        ...

    async def clear(self, alert_id: str, by: str) -> Alert: ...


class PlatformLinkService(Protocol):
    """Enrolment with a community platform by one-time code (spec §9.4, ``hub.bridges.platform_link``)."""

    async def enrol(self, request: Any, actor: str) -> Subscription: ...


class SubscriptionService(Protocol):
    def list_subscriptions(self) -> list[Subscription]: ...

    def get_subscription(self, sub_id: str) -> Subscription | None: ...

    async def create(self, request: SubscriptionRequest, actor: str) -> Subscription: ...

    async def update(self, sub_id: str, request: SubscriptionRequest, actor: str) -> Subscription: ...

    async def withdraw(self, sub_id: str, actor: str) -> None:
        """Withdraw consent and stop delivery; raise ``NotFound`` for an unknown id."""
        ...

    async def deliveries(
        self, sub_id: str, limit: int = 100, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Outbox entries of this subscription (state, attempts, last error), newest first."""
        ...

    async def retry(self, sub_id: str, actor: str, message_id: str | None = None) -> int:
        """Resend dead letters (one, or all of the subscription); how many were requeued.
        ``NotFound`` for an unknown delivery, ``Conflict`` for one that is not dead."""
        ...

    async def audit(self, limit: int = 100, since: int | None = None) -> list[dict[str, Any]]: ...
