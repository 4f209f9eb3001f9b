"""Bodies of the hub API that exist only on the API (pages, views, tokens, health).

Everything the rest of DHI shares (devices, messages, commands, alerts, subscriptions) comes
from ``dhi.models``; these wrap them. The ``components.schemas`` block of
``spec/interface/openapi.yaml`` is generated from this module (``python -m hub.api.specgen``)
and a test keeps the two equal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from dhi.models import (
    Alert,
    AlertState,
    CapabilityDef,
    DeviceDescription,
    Message,
    MessageType,
    Subscription,
    UnitDef,
)
from dhi.models.common import DIVISION_CODE, CapabilityId, ComponentId, DeviceId, MemberName
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


class RetryResult(ApiModel):
    """Dead letters given a new round of delivery attempts."""

    requeued: Annotated[int, Field(ge=0)]


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
    drill: bool = Field(
        default=False, description="the hub runs a drill: its alerts and messages are an exercise (DHI 1.1)"
    )


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


#: a local time of day as a resident types it (minutes, no seconds)
TIME_HM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
#: the check of ``hub.config.HomeConfig.division_code`` (tests/api/test_settings.py keeps them equal)
LocalTime = Annotated[str, Field(pattern=TIME_HM, description="local time of day, HH:MM (home.timezone)")]


def _integral(value: object) -> object:
    # JSON has one number type: 15.0 is the integer 15 (JSON Schema agrees); "15" is not a number
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: whole minutes, also when a client writes them as ``15.0`` (constraints before the validator, so
#: they stay ``minimum``/``maximum`` in the generated schema)
QuietMinutes = Annotated[int, Field(ge=1, le=7 * 24 * 60), BeforeValidator(_integral)]
DoorMinutes = Annotated[int, Field(ge=1, le=24 * 60), BeforeValidator(_integral)]


class _StrictApiModel(ApiModel):
    # a setting sent as "15" instead of 15 is a client bug worth naming, not a value to guess at
    model_config = ConfigDict(strict=True)


class InactivityWindowSetting(_StrictApiModel):
    """While the local time is in [start, end) an alert follows ``max_quiet_minutes`` without any
    activity; ``end`` before ``start`` wraps past midnight, ``start == end`` is the whole day."""

    start: LocalTime
    end: LocalTime
    max_quiet_minutes: QuietMinutes


#: a number a phone can dial: digits, an optional leading +, spaces or dashes between groups
PHONE = r"^\+?[0-9][0-9 -]{1,22}[0-9]$"
#: a room id as devices carry it (``living_room``)
ROOM_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ContactSetting(_StrictApiModel):
    """Somebody the resident wants one tap away during an alarm (family, the community centre)."""

    name: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="who it is, as the resident says it"
    )
    phone: Annotated[str, Field(pattern=PHONE)] = Field(description="the number to call")


class HomeSettings(_StrictApiModel):
    """What a resident may change without editing the config file; stored in the hub's database,
    it overrides the config file's values from the next start on."""

    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(description="the home's name")
    address: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="postal address (shared in CAP alerts only with consent)"
    )
    division_code: Annotated[str, Field(pattern=DIVISION_CODE)] | None = Field(
        default=None,
        description="administrative-division code (GB/T 2260, 6 digits; 9 or 12 with township), CAP geocode",
    )
    inactivity_windows: Annotated[list[InactivityWindowSetting], Field(min_length=1, max_length=8)] = Field(
        description="how long without any activity raises an inactivity alert, by time of day"
    )
    door_open_minutes: DoorMinutes = Field(description="a door open this long raises door_open")
    night_start: LocalTime = Field(description="start of the hours when activity is unusual")
    night_end: LocalTime = Field(description="end of the hours when activity is unusual")
    contacts: Annotated[list[ContactSetting], Field(max_length=8)] = Field(
        default_factory=list, description="people to call during an alarm, in the order shown"
    )
    room_names: Annotated[
        dict[Annotated[str, Field(pattern=ROOM_ID)], Annotated[str, Field(min_length=1, max_length=40)]],
        # a key that is no room id is refused, so the schema says so too (not only patternProperties)
        Field(max_length=64, json_schema_extra={"additionalProperties": False}),
    ] = Field(default_factory=dict, description="the resident's name for each room id (「奶奶的房间」)")


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
    RetryResult,
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
    InactivityWindowSetting,
    ContactSetting,
    HomeSettings,
]
