"""A real HTTP webhook receiver on loopback for bridge and outbox tests.

It verifies every request with the Standard Webhooks reference library and records what
arrived; it can be taken down and brought back on the same port, or answer with errors.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.net import free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Received:
    message_id: str
    headers: dict[str, str]
    body: bytes
    content_type: str
    verified: Any  # parsed JSON for webhooks, None for other bodies


@dataclass
class Receiver:
    secret: str = SECRET
    port: int = field(default_factory=free_port)
    fail_with: int | None = None  # answer every request with this status
    received: list[Received] = field(default_factory=list)
    rejected: int = 0
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        if self.fail_with is not None:
            return web.Response(status=self.fail_with, text="not now")
        json_body = request.content_type.endswith("json")
        try:
            verified = Webhook(self.secret).verify(body, headers, json_parse=json_body)
        except WebhookVerificationError:
            self.rejected += 1
            return web.Response(status=401, text="bad signature")
        self.received.append(Received(headers["webhook-id"], headers, body, request.content_type, verified))
        self._arrived.set()
        return web.Response(status=204)

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def ids(self) -> list[str]:
        return [r.message_id for r in self.received]

    async def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` distinct messages arrived (a bounded wait, not a timing assertion)."""
        async with asyncio.timeout(timeout):
            while len(set(self.ids())) < count:
                self._arrived.clear()
                await self._arrived.wait()
