"""The Matter Server WebSocket API as this adapter speaks it (one module: the wire contract).

python-matter-server (``docs/websockets_api.md``) and its successor matterjs-server speak
the same JSON protocol:

* on connect the server sends its info: ``{"fabric_id", "schema_version",
  "min_supported_schema_version", "sdk_version", …}``;
* the client sends ``{"message_id": "<id>", "command": "<name>", "args": {…}}``;
* the server answers ``{"message_id", "result"}`` or ``{"message_id", "error_code", "details"}``;
* after ``start_listening`` (whose result is the list of all nodes) it pushes
  ``{"event": "<name>", "data": …}``.

``REQUIRED_SCHEMA`` is the schema version this adapter was built and tested against
(python-matter-server 8.1.2 speaks 11). Bump rule: raise it only when the adapter starts
to use a command or event field that older servers lack.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

REQUIRED_SCHEMA: Final = 11


class Command(StrEnum):
    START_LISTENING = "start_listening"
    GET_NODES = "get_nodes"
    GET_NODE = "get_node"
    DEVICE_COMMAND = "device_command"
    WRITE_ATTRIBUTE = "write_attribute"
    READ_ATTRIBUTE = "read_attribute"
    INTERVIEW_NODE = "interview_node"
    REMOVE_NODE = "remove_node"
    IMPORT_TEST_NODE = "import_test_node"
    SERVER_INFO = "server_info"


class Event(StrEnum):
    NODE_ADDED = "node_added"
    NODE_UPDATED = "node_updated"
    NODE_REMOVED = "node_removed"
    NODE_EVENT = "node_event"
    ATTRIBUTE_UPDATED = "attribute_updated"
    SERVER_SHUTDOWN = "server_shutdown"
    SERVER_INFO_UPDATED = "server_info_updated"
    ENDPOINT_ADDED = "endpoint_added"
    ENDPOINT_REMOVED = "endpoint_removed"


# Error codes of the protocol (python-matter-server ``common/errors.py``).
ERROR_NAMES: Final[dict[int, str]] = {
    0: "UnknownError",
    1: "NodeCommissionFailed",
    2: "NodeInterviewFailed",
    3: "NodeNotReady",
    4: "NodeNotResolving",
    5: "NodeNotExists",
    6: "VersionMismatch",
    7: "SDKStackError",
    8: "InvalidArguments",
    9: "InvalidCommand",
    10: "UpdateCheckError",
    11: "UpdateError",
}


class ProtocolError(Exception):
    """The server sent something that is not the Matter Server protocol."""


class UnsupportedSchema(Exception):
    """The server's schema version does not fit this adapter (no retry helps)."""


class CommandFailed(Exception):
    """The server answered a command with an error result."""

    def __init__(self, command: str, code: int, details: str | None) -> None:
        self.command = command
        self.code = code
        self.details = details or ""
        self.name = ERROR_NAMES.get(code, f"error {code}")
        super().__init__(f"{command} failed: {self.name} (code {code}): {self.details or 'no details'}")


@dataclass(frozen=True)
class ServerInfo:
    schema_version: int
    min_supported_schema_version: int
    sdk_version: str
    fabric_id: int | None
    compressed_fabric_id: int | None

    @classmethod
    def parse(cls, raw: Any) -> ServerInfo:
        if not isinstance(raw, dict):
            raise ProtocolError(f"first message is not the server info object: {raw!r:.200}")
        schema = raw.get("schema_version")
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise ProtocolError(f"server info has no integer schema_version: {raw!r:.200}")
        min_schema = raw.get("min_supported_schema_version", schema)
        if not isinstance(min_schema, int) or isinstance(min_schema, bool):
            min_schema = schema
        return cls(
            schema_version=schema,
            min_supported_schema_version=min_schema,
            sdk_version=str(raw.get("sdk_version", "")),
            fabric_id=raw.get("fabric_id"),
            compressed_fabric_id=raw.get("compressed_fabric_id"),
        )

    def check(self, required: int = REQUIRED_SCHEMA) -> None:
        """Refuse a server this adapter cannot talk to, saying exactly why."""
        if self.schema_version < required:
            raise UnsupportedSchema(
                f"Matter server speaks schema version {self.schema_version}, this adapter needs "
                f"at least {required}: upgrade the Matter server (python-matter-server >= 8.1 or matterjs-server)"
            )
        if self.min_supported_schema_version > required:
            raise UnsupportedSchema(
                f"Matter server requires clients of schema version >= {self.min_supported_schema_version}, "
                f"this adapter speaks {required}: upgrade dhome's Matter adapter"
            )


@dataclass(frozen=True)
class EventMessage:
    event: str
    data: Any


@dataclass(frozen=True)
class ResultMessage:
    message_id: str
    result: Any = None
    error_code: int | None = None
    details: str | None = None


def parse_message(raw: Any) -> EventMessage | ResultMessage:
    if not isinstance(raw, dict):
        raise ProtocolError(f"message is not a JSON object: {raw!r:.200}")
    if "event" in raw:
        event = raw["event"]
        if not isinstance(event, str):
            raise ProtocolError(f"event name is not a string: {raw!r:.200}")
        return EventMessage(event, raw.get("data"))
    if "message_id" in raw:
        msg_id = str(raw["message_id"])
        if "error_code" in raw:
            code = raw["error_code"]
            if not isinstance(code, int) or isinstance(code, bool):
                code = 0
            details = raw.get("details")
            return ResultMessage(msg_id, error_code=code, details=None if details is None else str(details))
        if "result" in raw:
            return ResultMessage(msg_id, result=raw["result"])
    raise ProtocolError(f"message is neither an event nor a result: {raw!r:.200}")
