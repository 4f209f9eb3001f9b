"""The WebSocket protocol of ``/api/v1/ws`` (documented in ``spec/interface/asyncapi.yaml``).

Every frame is one JSON object with a ``type``. The client authenticates first (unless it
sent ``Authorization: Bearer`` with the upgrade request), then subscribes with filters and
sends commands; the server answers each request with the request's ``id``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from dhi.models import CommandRequest, CommandResult, ErrorInfo, Message, MessageType
from dhi.models.common import CapabilityId, DeviceId
from hub.api.models import ApiModel, Scope

REQUEST_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
RequestId = Annotated[str, Field(pattern=REQUEST_ID)]


class CloseCode(IntEnum):
    """Close codes the server uses (RFC 6455 §7.4)."""

    GOING_AWAY = 1001  # the hub is shutting down
    POLICY = 1008  # authentication failed, or a protocol violation
    TRY_AGAIN_LATER = 1013  # the client was too slow and was dropped: reconnect, resume with since=


class WsFilter(ApiModel):
    """Absent or empty lists match everything."""

    types: list[MessageType] | None = None
    devices: list[DeviceId] | None = None
    capabilities: list[CapabilityId] | None = None


# ------------------------------------------------------------------ client -> server
class AuthRequest(ApiModel):
    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=512)]


class SubscribeRequest(ApiModel):
    type: Literal["subscribe"]
    id: RequestId
    filter: WsFilter = Field(default_factory=WsFilter)
    since: Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        description="first replay stored messages with a greater seq (resume after a drop), in pages until live",
    )
    batch: bool = Field(
        default=False,
        description="receive what is pending as one `events` frame (a list of messages, at most 1,000) "
        "instead of one `event` frame per message: what a client that reads a busy hub should ask for; "
        "both get every message under the same bounds",
    )
    coalesce_ms: Annotated[int, Field(ge=10, le=60_000)] | None = Field(
        default=None,
        description="dashboards: send only the latest value of each property, at most every this many "
        "milliseconds (implies batch); alerts, availability and other events are never coalesced",
    )


class UnsubscribeRequest(ApiModel):
    type: Literal["unsubscribe"]
    id: RequestId


class CommandMessage(ApiModel):
    type: Literal["command"]
    id: RequestId
    command: CommandRequest


class PingRequest(ApiModel):
    type: Literal["ping"]
    id: RequestId | None = None


ClientMessage = Annotated[
    AuthRequest | SubscribeRequest | UnsubscribeRequest | CommandMessage | PingRequest,
    Field(discriminator="type"),
]
CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


# ------------------------------------------------------------------ server -> client
class AuthOk(ApiModel):
    type: Literal["auth_ok"] = "auth_ok"
    scopes: list[Scope]
    seq: Annotated[int, Field(ge=0)] = Field(description="the hub's current event sequence number")


class Subscribed(ApiModel):
    type: Literal["subscribed"] = "subscribed"
    id: RequestId
    seq: Annotated[int, Field(ge=0)] = Field(description="live messages follow this seq")


class Unsubscribed(ApiModel):
    type: Literal["unsubscribed"] = "unsubscribed"
    id: RequestId


class EventPush(ApiModel):
    type: Literal["event"] = "event"
    subscription: RequestId
    message: Message


class EventsPush(ApiModel):
    type: Literal["events"] = "events"
    subscription: RequestId
    messages: list[Message] = Field(description="messages in seq order (the subscription asked for batch)")


class CommandResultReply(ApiModel):
    type: Literal["result"] = "result"
    id: RequestId
    result: CommandResult


class ErrorReply(ApiModel):
    type: Literal["error"] = "error"
    id: str | None = Field(default=None, description="id of the request that failed, when it had one")
    error: ErrorInfo


class Pong(ApiModel):
    type: Literal["pong"] = "pong"
    id: RequestId | None = None


ServerMessage = Annotated[
    AuthOk | Subscribed | Unsubscribed | EventPush | EventsPush | CommandResultReply | ErrorReply | Pong,
    Field(discriminator="type"),
]
SERVER_MESSAGE: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)

#: every model above, in the order asyncapi.yaml lists them
WS_MODELS: list[type[ApiModel]] = [
    WsFilter,
    AuthRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    CommandMessage,
    PingRequest,
    AuthOk,
    Subscribed,
    Unsubscribed,
    EventPush,
    EventsPush,
    CommandResultReply,
    ErrorReply,
    Pong,
]
