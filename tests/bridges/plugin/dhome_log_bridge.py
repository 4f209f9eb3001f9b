"""An example bridge plugin, as a third party would ship it: ``transport: log`` appends every
consented message as one JSON line to the file named by the subscription's endpoint.

A package adds a bridge with this module and one entry point (``[project.entry-points."dhome.bridges"]
log = "dhome_log_bridge:LogType"``); nothing in the hub changes. The test installs it by putting
this directory, with its ``.dist-info``, on ``sys.path``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dhi.errors import InvalidParams
from dhi.models.subscription import SubscriptionRequest
from hub.alerts.config import AlertsConfig
from hub.core import Hub
from hub.delivery import OutboxEntry


class LogBridge:
    async def send(self, entry: OutboxEntry) -> None:
        with Path(entry.subscription.endpoint).open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry.payload, ensure_ascii=False) + "\n")

    async def close(self) -> None:
        pass


class LogType:
    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        path = Path(request.endpoint)
        if not path.is_absolute() or not path.parent.is_dir():
            raise InvalidParams(
                f"log endpoint {request.endpoint!r} is not a file in an existing directory",
                field="endpoint",
                expected="an absolute file path, e.g. /var/log/dhome/alerts.jsonl",
            )

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> LogBridge:
        return LogBridge()
