"""The one way an adapter turns its command handler into a ``CommandResult``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dhi.errors import HubError
from dhi.models import CommandRequest, CommandResult, CommandStatus

Handler = Callable[[CommandRequest], Awaitable[dict[str, Any] | None]]


async def run_command(cmd: CommandRequest, handler: Handler) -> CommandResult:
    """Await ``handler(cmd)``; a ``HubError`` it raises becomes an error result with its code."""
    try:
        result = await handler(cmd)
    except HubError as exc:
        return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=exc.info())
    return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.OK, result=result)
