"""``PairingAnnouncer``: a hub service that issues a pairing code at start-up (``dhome run``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from hub.api.models import Scope
from hub.webapp.pairing import PairingCodes
from hub.webapp.routes import wall_clock

if TYPE_CHECKING:
    from hub.core import Hub

Announce = Callable[[str, datetime], None]


class PairingAnnouncer:
    """Issues one code when the hub starts and hands it to ``announce`` (which prints it)."""

    name = "pairing"

    def __init__(self, announce: Announce, scopes: Sequence[Scope] = (Scope.ADMIN,)) -> None:
        self._announce = announce
        self._scopes = list(scopes)

    async def start(self, hub: Hub) -> None:
        code, expires = await PairingCodes(hub.storage, wall_clock).issue(self._scopes)
        self._announce(code, expires)

    async def stop(self) -> None:
        return None
