"""What a simulated home sends: exactly the hub's uplink message for a raised alert — the alert
engine's envelope (``AlertRaisedMessage``), dumped as the consent filter queues it, on the topic
and with the body the MQTT uplink bridge publishes (``topic_for``, ``body_of``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dhi.models.alert import Alert
from dhi.models.envelope import AlertData, AlertRaisedMessage, source_for
from dhi.models.subscription import Receiver, Subscription
from hub.bridges.mqtt_uplink import DEFAULT_PREFIX, topic_for
from hub.bridges.webhook import body_of
from hub.delivery import OutboxEntry

SUMMARIES = {
    "smoke": ("Smoke in the kitchen", "厨房有烟雾"),
    "fall": ("Possible fall in the bathroom", "卫生间可能有人跌倒"),
    "gas_leak": ("Gas leak in the kitchen", "厨房燃气泄漏"),
    "sos": ("SOS button pressed", "按下了紧急求助按钮"),
}


def subscription(prefix: str = DEFAULT_PREFIX) -> Subscription:
    return Subscription(
        id="city",
        receiver=Receiver(name="City safety platform", kind="government"),
        transport="mqtt",
        endpoint=prefix,
        alert_kinds=list(SUMMARIES),
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )


def alert_entry(home: str, kind: str, sub: Subscription, now: datetime | None = None) -> OutboxEntry:
    """The outbox entry a hub queues for one new alert of ``kind``."""
    now = now or datetime.now(UTC)
    summary, summary_zh = SUMMARIES[kind]
    alert = Alert(
        id=f"{kind.replace('_', '-')}-{uuid.uuid4().hex[:16]}",
        kind=kind,  # type: ignore[arg-type]
        severity="Extreme",  # type: ignore[arg-type]
        home=home,
        room="kitchen",
        summary=summary,
        summary_zh=summary_zh,
        first_seen=now,
        last_seen=now,
    )
    msg = AlertRaisedMessage(
        id=f"{alert.id}.raised",
        source=source_for(home),
        subject=alert.id,
        time=now,
        data=AlertData(alert=alert),
    )
    return OutboxEntry(0, sub, None, msg.id, msg.model_dump(mode="json", exclude_none=True))


def uplink_message(
    home: str, kind: str, sub: Subscription, now: datetime | None = None
) -> tuple[str, str, bytes]:
    """(message id, topic, body) as the MQTT uplink bridge publishes it."""
    entry = alert_entry(home, kind, sub, now)
    return entry.message_id, topic_for(sub.endpoint, home, entry.payload), body_of(entry).encode()
