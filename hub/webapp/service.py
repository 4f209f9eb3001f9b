"""``PairingAnnouncer``: a hub service that issues a pairing code at start-up (``dhome run``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from hub.api.models import Scope
from hub.api.routes import BASE
from hub.api.server import ApiService
from hub.webapp.pairing import PairingCodes
from hub.webapp.routes import wall_clock

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

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
        api = next((s for s in hub.services if isinstance(s, ApiService) and s.port), None)
        if api is not None:  # started before us: say where the resident opens the app
            log.info("web app: %s/ (住户网页)", api.url.removesuffix(BASE))

    async def stop(self) -> None:
        return None
