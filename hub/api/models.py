"""Bodies of the hub API that exist only on the API (pages, views, tokens, health).

Everything the rest of DHI shares (devices, messages, commands, alerts, subscriptions) comes
from ``hub.models``; these wrap them. The ``components.schemas`` block of
``spec/interface/openapi.yaml`` is generated from this module (``python -m hub.api.specgen``)
and a test keeps the two equal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from hub.models import (
    Alert,
    AlertState,
    CapabilityDef,
    DeviceDescription,
    Message,
    MessageType,
    Subscription,
    UnitDef,
)
from hub.models.common import CapabilityId, ComponentId, DeviceId, MemberName
from hub.supervisor import SlotState


class DeviceIdValue(RootModel[DeviceId]):
    """A device id, as a path or query parameter."""


class CapabilityIdValue(RootModel[CapabilityId]):
    """A capability id (``dhi.*`` or ``x.<vendor>.*``)."""


class ComponentIdValue(RootModel[ComponentId]):
    """A component id."""


class MemberNameValue(RootModel[MemberName]):
    """A property, command or event name."""


class MessageTypeValue(RootModel[MessageType]):
    """A message (envelope) type."""


class AlertStateValue(RootModel[AlertState]):
    """An alert state."""


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_serializer(mode="wrap")
    def _keep_required(self, handler: SerializerFunctionWrapHandler) -> Any:
        # ``exclude_none`` must not drop a required field whose value is null (a property's value)
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                key = field.alias or name
                if field.is_required() and key not in data and name not in data:
                    data[key] = None
        return data


class Scope(StrEnum):
    """What a token may do (see ``hub.api.auth.IMPLIES`` for which scope includes which)."""

    READ = "read"
    CONTROL = "control"
    ADMIN = "admin"
    ALERTS = "alerts"


class DeviceEntry(ApiModel):
    device: DeviceDescription
    available: bool
    added: AwareDatetime
    updated: AwareDatetime


class DevicePage(ApiModel):
    items: list[DeviceEntry]
    next: DeviceId | None = Field(
        default=None,
        description="pass as cursor= for the next page (the last id here); absent on the last page",
    )


class PropertyState(ApiModel):
    value: Any
    time: AwareDatetime
    source: str | None = Field(default=None, description="adapter that reported it")


class DeviceState(ApiModel):
    device: DeviceId
    available: bool
    components: dict[str, dict[str, dict[str, PropertyState]]] = Field(
        description="component -> capability -> property -> latest value"
    )


class EventPage(ApiModel):
    items: list[Message]
    next: Annotated[int, Field(ge=0)] = Field(
        description="pass as since= to continue: the seq of the last item (or the since= given)"
    )


class HistoryEntry(ApiModel):
    seq: Annotated[int, Field(ge=0)]
    component: str
    capability: str
    property: str
    value: Any
    time: AwareDatetime


class HistoryPage(ApiModel):
    items: list[HistoryEntry]
    next: Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        description="pass as cursor= for the next page (the last seq here); absent on the last page",
    )


class AlertList(ApiModel):
    items: list[Alert]


class SubscriptionList(ApiModel):
    items: list[Subscription]


class Delivery(ApiModel):
    """One outbox entry of a subscription; the consent service may add fields."""

    model_config = ConfigDict(extra="allow")

    message_id: str | None = None
    state: str | None = None
    attempts: Annotated[int, Field(ge=0)] | None = None
    last_error: str | None = None


class DeliveryList(ApiModel):
    items: list[Delivery]


class AuditEntry(ApiModel):
    seq: Annotated[int, Field(ge=0)]
    time: str
    actor: str
    action: str
    subscription: str | None = None
    message_id: str | None = None
    detail: Any = None


class AuditPage(ApiModel):
    items: list[AuditEntry]
    next: Annotated[int, Field(ge=0)]


class CatalogView(ApiModel):
    capabilities: list[CapabilityDef]
    units: list[UnitDef]


class AdapterInfo(ApiModel):
    name: str
    type: str
    state: SlotState
    restarts: Annotated[int, Field(ge=0)]
    last_error: str | None = None
    devices: Annotated[int, Field(ge=0)]


class AdapterList(ApiModel):
    items: list[AdapterInfo]


class Health(ApiModel):
    status: Annotated[str, Field(pattern=r"^(ok|degraded)$")] = Field(
        description="degraded while an adapter is not running"
    )
    home: str
    version: str
    dhi_version: str
    seq: Annotated[int, Field(ge=0)] = Field(description="current event sequence number")


class TokenRequest(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1)]


class TokenInfo(ApiModel):
    id: str
    name: str
    scopes: list[Scope]
    created: AwareDatetime
    last_used: AwareDatetime | None = None
    revoked: AwareDatetime | None = None


class TokenCreated(TokenInfo):
    token: str = Field(description="the secret; shown once, stored only as a SHA-256 hash")


class TokenList(ApiModel):
    items: list[TokenInfo]


#: every model above that appears in openapi.yaml, in the order it is written there
API_MODELS: list[type[BaseModel]] = [
    DeviceIdValue,
    CapabilityIdValue,
    ComponentIdValue,
    MemberNameValue,
    MessageTypeValue,
    AlertStateValue,
    DeviceEntry,
    DevicePage,
    PropertyState,
    DeviceState,
    EventPage,
    HistoryEntry,
    HistoryPage,
    AlertList,
    SubscriptionList,
    Delivery,
    DeliveryList,
    AuditEntry,
    AuditPage,
    CatalogView,
    AdapterInfo,
    AdapterList,
    Health,
    TokenRequest,
    TokenInfo,
    TokenCreated,
    TokenList,
]
