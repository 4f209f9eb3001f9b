"""The DHI-MQTT topic table (BINDING.md §2): one row per topic below ``<prefix>/<home>/<device>/``.

DHI-native devices speak the hub's own models, so there is no value conversion: the table
says where each document travels, who publishes it, and how (QoS, retained).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from dhi.models import CommandRequest, CommandResult, DeviceDescription, EventReport, StateReport


class Kind(StrEnum):
    DESC = "desc"
    STATE = "state"
    EVENT = "event"
    AVAIL = "avail"
    CMD = "cmd"
    RESULT = "result"


@dataclass(frozen=True)
class TopicRow:
    kind: Kind
    suffix: str  # below <prefix>/<home>/<device>/; '+' marks a variable level
    publisher: str  # "device" or "hub"
    retained: bool
    model: type[BaseModel] | None  # None: plain text payload
    note: str


TOPICS: tuple[TopicRow, ...] = (
    TopicRow(
        Kind.DESC, "desc", "device", True, DeviceDescription, "empty retained payload removes the device"
    ),
    TopicRow(Kind.STATE, "state/+/+", "device", True, StateReport, "levels: <component>/<capability>"),
    TopicRow(Kind.EVENT, "event", "device", False, EventReport, "one message per occurrence"),
    TopicRow(Kind.AVAIL, "avail", "device", True, None, "'online' | 'offline'; LWT 'offline'"),
    TopicRow(Kind.CMD, "cmd", "hub", False, CommandRequest, "the device answers on cmd/result"),
    TopicRow(Kind.RESULT, "cmd/result", "device", False, CommandResult, "same id as the request"),
)

#: avail payload text -> available
AVAILABILITY = {"online": True, "offline": False}


def row(kind: Kind) -> TopicRow:
    return next(r for r in TOPICS if r.kind is kind)


def topic(prefix: str, home: str, device: str, kind: Kind) -> str:
    return f"{prefix}/{home}/{device}/{row(kind).suffix}"


def device_filter(prefix: str, home: str, kind: Kind) -> str:
    """The subscription filter covering every device's ``kind`` topic."""
    return f"{prefix}/{home}/+/{row(kind).suffix}"
