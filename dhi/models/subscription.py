"""Subscriptions: the resident's recorded consent to share data with a platform (DHI v1 §9)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from dhi.models.alert import AlertKind
from dhi.models.common import DeviceId, DhiModel, Timestamp


class ReceiverKind(StrEnum):
    COMMUNITY = "community"
    PROPERTY = "property"
    EMERGENCY = "emergency"
    GOVERNMENT = "government"
    CARE = "care"
    FAMILY = "family"
    OTHER = "other"


class Transport(StrEnum):
    """The transports of the built-in bridges. A subscription's ``transport`` names any bridge
    installed in the hub (``dhome.bridges`` entry points); the hub refuses one it has not."""

    WEBHOOK = "webhook"
    MQTT = "mqtt"
    CAP_HTTP = "cap_http"
    CAP_MQTT = "cap_mqtt"


#: a bridge's name: lower-case letters, digits, underscores
TransportName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="the bridge that delivers: webhook, mqtt, cap_http, cap_mqtt or an installed plugin",
        examples=["webhook"],
    ),
]


class Receiver(DhiModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: ReceiverKind = ReceiverKind.OTHER
    contact: str | None = None


class Consent(DhiModel):
    """Who granted the share and when; without it nothing is sent."""

    granted_by: Annotated[str, Field(min_length=1)]
    granted_at: Timestamp
    expires: Timestamp | None = None
    withdrawn_at: Timestamp | None = None


#: longest a subscription may ask failed deliveries to be retried (30 days)
MAX_GIVE_UP_AFTER = 30 * 86400


class Disabled(DhiModel):
    """Why the hub stopped sending to this receiver until the resident confirms it again."""

    at: Timestamp
    reason: Annotated[str, Field(min_length=1)]


class SubscriptionRequest(DhiModel):
    """What a client posts to create a subscription (the secret is write-only)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["alert_kinds"], "properties": {"alert_kinds": {"minItems": 1}}},
                {"required": ["message_types"], "properties": {"message_types": {"minItems": 1}}},
            ]
        }
    )

    receiver: Receiver
    transport: TransportName
    endpoint: Annotated[str, Field(min_length=1, max_length=2000, description="URL or MQTT topic prefix")]
    secret: str | None = Field(default=None, description="whsec_… signing secret for webhooks")
    alert_kinds: list[AlertKind] = Field(default_factory=list)
    message_types: list[str] = Field(
        default_factory=list, description="envelope types, e.g. org.dhi.v1.alert.raised"
    )
    devices: list[DeviceId] | None = Field(
        default=None,
        description="only messages about these devices (an alert: naming one of them); absent = "
        "every device. The resident shares a device, or a room's devices, rather than the whole home",
    )
    fields: list[str] | None = Field(
        default=None, description="data fields the receiver may get; absent = all"
    )
    from_escalation: Annotated[int, Field(ge=0, le=10)] = Field(
        default=0,
        description="alert messages reach this receiver only once an unacknowledged alert has "
        "escalated to this level (0: from the start). The next link of a care chain: family first, "
        "the community centre if nobody answers.",
    )
    give_up_after: Annotated[int, Field(ge=1, le=MAX_GIVE_UP_AFTER)] | None = Field(
        default=None,
        description="seconds a failed delivery is retried (backoff capped at a few minutes) before it "
        "becomes a dead letter; absent: the hub's alerts.outbox.give_up_after (24 h)",
    )
    consent: Consent | None = None

    @model_validator(mode="after")
    def _something_to_share(self) -> SubscriptionRequest:
        if not self.alert_kinds and not self.message_types:
            raise ValueError("a subscription must name alert_kinds or message_types")
        return self


class Subscription(DhiModel):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    receiver: Receiver
    transport: TransportName
    endpoint: str
    alert_kinds: list[AlertKind] = Field(default_factory=list)
    message_types: list[str] = Field(default_factory=list)
    devices: list[DeviceId] | None = None
    fields: list[str] | None = None
    from_escalation: Annotated[int, Field(ge=0, le=10)] = 0
    give_up_after: Annotated[int, Field(ge=1, le=MAX_GIVE_UP_AFTER)] | None = None
    consent: Consent | None = None
    created: Timestamp
    has_secret: bool = False
    disabled: Disabled | None = Field(
        default=None,
        description="set when the receiver answered 410 Gone: nothing is sent (new messages are refused "
        "and audited) until the resident confirms the subscription again with PUT",
    )
