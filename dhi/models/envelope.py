"""The message envelope (DHI v1 §7): CloudEvents 1.0 attributes around typed ``data``.

Every state change, event, alert and lifecycle change travels in one of these — on the
bus, over the WebSocket, in webhooks and on the MQTT uplink.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import ConfigDict, Field

from dhi.models.alert import Alert
from dhi.models.command import CommandResult
from dhi.models.common import (
    CapabilityId,
    ComponentId,
    DeviceId,
    DhiModel,
    MemberName,
    Timestamp,
    utcnow,
)
from dhi.models.device import DeviceDescription
from dhi.timefmt import isoformat

TYPE_PREFIX = "org.dhi.v1."


class MessageType(StrEnum):
    STATE_CHANGED = "org.dhi.v1.state.changed"
    EVENT_OCCURRED = "org.dhi.v1.event.occurred"
    ALERT_RAISED = "org.dhi.v1.alert.raised"
    ALERT_UPDATED = "org.dhi.v1.alert.updated"
    ALERT_CLEARED = "org.dhi.v1.alert.cleared"
    DEVICE_ADDED = "org.dhi.v1.device.added"
    DEVICE_UPDATED = "org.dhi.v1.device.updated"
    DEVICE_REMOVED = "org.dhi.v1.device.removed"
    DEVICE_AVAILABILITY = "org.dhi.v1.device.availability"
    COMMAND_RESULT = "org.dhi.v1.command.result"


class StateChangedData(DhiModel):
    device: DeviceId
    component: ComponentId = "main"
    capability: CapabilityId
    property: MemberName
    value: Any = Field(default=None, description="new value (absent or null: the property became null)")
    previous: Any = None
    source: str | None = Field(default=None, description="adapter that reported it")


class EventOccurredData(DhiModel):
    device: DeviceId
    component: ComponentId = "main"
    capability: CapabilityId
    event: MemberName
    payload: dict[str, Any] = Field(default_factory=dict)


class AlertData(DhiModel):
    alert: Alert


class DeviceData(DhiModel):
    device: DeviceDescription


class DeviceRemovedData(DhiModel):
    device: DeviceId


class DeviceAvailabilityData(DhiModel):
    device: DeviceId
    available: bool
    reason: str | None = None


class CommandResultData(DhiModel):
    result: CommandResult


def _require_ce_attributes(schema: dict[str, Any]) -> None:
    # CloudEvents REQUIRED attributes are required on the wire even where the model has defaults.
    schema["required"] = sorted({*schema.get("required", []), "specversion", "id", "source", "type"})


_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def new_message_id() -> str:
    """A CloudEvents ``id``, unique per source: a random per-process prefix and a counter
    (32 hex digits like a UUID; no system call per message as ``uuid4`` needs)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


class _Envelope(DhiModel):
    model_config = ConfigDict(json_schema_extra=_require_ce_attributes)

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, Field(min_length=1, max_length=128)] = Field(default_factory=new_message_id)
    source: Annotated[str, Field(pattern=r"^dhome://[^\s]+$")]
    time: Timestamp = Field(default_factory=utcnow)
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    seq: Annotated[int, Field(ge=0)] | None = Field(default=None, description="hub-local sequence (cursor)")
    drill: bool | None = Field(
        default=None,
        description="CloudEvents extension attribute: true on every message of a drill (an exercise, "
        "not a real emergency); absent otherwise (DHI 1.1)",
    )


class StateChangedMessage(_Envelope):
    type: Literal[MessageType.STATE_CHANGED] = MessageType.STATE_CHANGED
    data: StateChangedData


class EventOccurredMessage(_Envelope):
    type: Literal[MessageType.EVENT_OCCURRED] = MessageType.EVENT_OCCURRED
    data: EventOccurredData


class AlertRaisedMessage(_Envelope):
    type: Literal[MessageType.ALERT_RAISED] = MessageType.ALERT_RAISED
    data: AlertData


class AlertUpdatedMessage(_Envelope):
    type: Literal[MessageType.ALERT_UPDATED] = MessageType.ALERT_UPDATED
    data: AlertData


class AlertClearedMessage(_Envelope):
    type: Literal[MessageType.ALERT_CLEARED] = MessageType.ALERT_CLEARED
    data: AlertData


class DeviceAddedMessage(_Envelope):
    type: Literal[MessageType.DEVICE_ADDED] = MessageType.DEVICE_ADDED
    data: DeviceData


class DeviceUpdatedMessage(_Envelope):
    type: Literal[MessageType.DEVICE_UPDATED] = MessageType.DEVICE_UPDATED
    data: DeviceData


class DeviceRemovedMessage(_Envelope):
    type: Literal[MessageType.DEVICE_REMOVED] = MessageType.DEVICE_REMOVED
    data: DeviceRemovedData


class DeviceAvailabilityMessage(_Envelope):
    type: Literal[MessageType.DEVICE_AVAILABILITY] = MessageType.DEVICE_AVAILABILITY
    data: DeviceAvailabilityData


class CommandResultMessage(_Envelope):
    type: Literal[MessageType.COMMAND_RESULT] = MessageType.COMMAND_RESULT
    data: CommandResultData


Message = Annotated[
    StateChangedMessage
    | EventOccurredMessage
    | AlertRaisedMessage
    | AlertUpdatedMessage
    | AlertClearedMessage
    | DeviceAddedMessage
    | DeviceUpdatedMessage
    | DeviceRemovedMessage
    | DeviceAvailabilityMessage
    | CommandResultMessage,
    Field(discriminator="type"),
]

MESSAGE_CLASSES: dict[MessageType, type[_Envelope]] = {
    MessageType.STATE_CHANGED: StateChangedMessage,
    MessageType.EVENT_OCCURRED: EventOccurredMessage,
    MessageType.ALERT_RAISED: AlertRaisedMessage,
    MessageType.ALERT_UPDATED: AlertUpdatedMessage,
    MessageType.ALERT_CLEARED: AlertClearedMessage,
    MessageType.DEVICE_ADDED: DeviceAddedMessage,
    MessageType.DEVICE_UPDATED: DeviceUpdatedMessage,
    MessageType.DEVICE_REMOVED: DeviceRemovedMessage,
    MessageType.DEVICE_AVAILABILITY: DeviceAvailabilityMessage,
    MessageType.COMMAND_RESULT: CommandResultMessage,
}


def source_for(home: str, device: str | None = None) -> str:
    return f"dhome://{home}/{device}" if device else f"dhome://{home}"


class StateChange:
    """A ``state.changed`` message as ingestion makes it: plain attributes, read like a
    ``StateChangedMessage`` (``type``, ``id``, ``seq``, ``time``, ``subject``, ``data.*``).

    Thousands of these a second flow into the bus; most consumers (alert engine, event
    log, console) only read a few fields, so the validated pydantic envelope is built once,
    on first use (``envelope()``), and only for a consumer that needs it (a WebSocket
    client, a bridge). ``wire_json`` gives the same JSON as the envelope would (tested).
    """

    __slots__ = ("_envelope", "data", "drill", "id", "priority", "seq", "source", "subject", "time")

    type = MessageType.STATE_CHANGED

    def __init__(self, source: str, time: datetime, data: StateChangeData, *, priority: bool = False) -> None:
        self.id = new_message_id()
        #: a safety or care reading (never coalesced, handled ahead of bulk telemetry); not on the wire
        self.priority = priority
        self.seq: int | None = None
        self.drill: bool | None = None
        self.source = source
        self.subject = data.device
        self.time = time
        self.data = data
        self._envelope: StateChangedMessage | None = None

    def envelope(self) -> StateChangedMessage:
        if self._envelope is None:
            d = self.data
            self._envelope = StateChangedMessage(
                id=self.id, seq=self.seq, source=self.source, subject=self.subject, time=self.time,
                drill=self.drill, data=StateChangedData(
                    device=d.device, component=d.component, capability=d.capability, property=d.property,
                    value=d.value, previous=d.previous, source=d.source,
                ),
            )  # fmt: skip
        return self._envelope

    def wire_json(self) -> str:
        d = self.data
        data: dict[str, Any] = {
            "device": d.device, "component": d.component, "capability": d.capability, "property": d.property,
        }  # fmt: skip
        for key, value in (("value", d.value), ("previous", d.previous), ("source", d.source)):
            if value is not None:  # the envelope's exclude_none
                data[key] = value
        doc: dict[str, Any] = {
            "specversion": "1.0", "id": self.id, "source": self.source, "time": wire_time(self.time),
            "subject": self.subject, "datacontenttype": "application/json",
        }  # fmt: skip
        if self.seq is not None:
            doc["seq"] = self.seq
        if self.drill is not None:
            doc["drill"] = self.drill
        doc["type"] = self.type.value
        doc["data"] = data
        try:
            return orjson.dumps(doc).decode()
        except TypeError:  # an integer beyond 64 bits: orjson cannot, pydantic can
            return self.envelope().model_dump_json(by_alias=True, exclude_none=True)


class StateChangeData:
    """The ``data`` of a ``StateChange`` (the fields of ``StateChangedData``)."""

    __slots__ = ("capability", "component", "device", "previous", "property", "source", "value")

    def __init__(  # noqa: PLR0917 - the message's fields, in its order
        self, device: str, component: str, capability: str, property: str, value: Any, previous: Any,
        source: str | None,
    ) -> None:  # fmt: skip
        self.device = device
        self.component = component
        self.capability = capability
        self.property = property
        self.value = value
        self.previous = previous
        self.source = source


_ZERO = timedelta(0)


def wire_time(t: datetime) -> str:
    """A timestamp as the envelope's JSON spells it (RFC 3339, ``Z`` for UTC)."""
    text = isoformat(t)
    return text[:-6] + "Z" if t.utcoffset() == _ZERO else text


def as_envelope(msg: Any) -> Any:
    """The pydantic envelope of any bus message (a ``StateChange`` builds its own)."""
    return msg.envelope() if type(msg) is StateChange else msg


#: the shape of ``wire_json`` as the event log stores it: bump it when that JSON changes, so the
#: rows stored before are read through the envelope model again (hub/meta.py, ``GET /events``)
WIRE_FORMAT = 1


def wire_json(msg: Any) -> str:
    """The JSON of any bus message, as sent on the wire."""
    if type(msg) is StateChange:
        return msg.wire_json()
    text: str = msg.model_dump_json(by_alias=True, exclude_none=True)
    return text
