"""What every API handler reaches through ``request.app[API]``: the hub and the API's own state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.api.auth import FailureLimiter, Principal, TokenStore
from hub.api.fanout import FanOut
from hub.api.metrics import ApiMetrics
from hub.api.models import TokenInfo
from hub.api.replay import Replayer
from hub.api.wsproto import CloseCode

if TYPE_CHECKING:
    from hub.api.ws import WsConnection
    from hub.core import Hub


@dataclass(frozen=True)
class ApiSettings:
    """Tunables of the API server (defaults suit a home hub; tests shrink the timeouts)."""

    #: seconds one WebSocket frame may take to be accepted by the client before it is dropped
    ws_send_timeout: float = 5.0
    #: seconds a WebSocket client has to send its auth message
    ws_auth_timeout: float = 10.0
    #: seconds to wait for a close handshake before the connection is cut
    ws_close_timeout: float = 2.0
    #: commands one WebSocket may have in flight
    ws_max_commands: int = 32
    #: subscriptions one WebSocket may hold at once (each is a bus subscriber with its queue)
    ws_max_subscriptions: int = 256
    #: stored messages read per page of a replay (``subscribe`` with ``since``)
    ws_replay_page: int = 1000
    #: replay pages read and encoded at once (the rest wait their turn)
    ws_replay_concurrent: int = 4
    #: most messages in one ``events`` frame
    ws_batch_max: int = 1000
    #: seconds between two rounds of live delivery to WebSocket clients while messages arrive
    #: (the first message after a quiet spell goes out at once): bounds per-client work per second
    ws_tick: float = 0.02
    #: bytes a WebSocket may have waiting in the hub's send buffer before it gets no more (it is
    #: "not writable" until its client has read them)
    ws_write_limit: int = 64 * 1024
    #: compress WebSocket frames (permessage-deflate) for clients that offer it
    ws_deflate: bool = True
    #: kernel send buffer per WebSocket (bytes): bounds how much a stalled client can hold
    ws_send_buffer: int | None = 256 * 1024
    #: seconds between two refreshes of the health port's snapshot by the loop
    health_refresh: float = 0.5
    #: seconds without a refresh after which the health port answers 503 "degraded" (loop stuck)
    health_stale: float = 5.0
    #: largest request body (bytes)
    max_body: int = 1 << 20
    #: failed token checks per address and window before 429
    auth_fail_limit: int = 20
    auth_fail_window: float = 60.0


@dataclass
class ApiContext:
    hub: Hub
    settings: ApiSettings
    tokens: TokenStore
    limiter: FailureLimiter
    metrics: ApiMetrics
    ws_queue: int
    #: seconds the oldest message may wait in a client's queue before the client is dropped
    ws_queue_seconds: float = 10.0
    sockets: set[WsConnection] = field(default_factory=set)
    #: device id -> (its record's version, its entry's JSON) for ``GET /devices``
    entry_json: dict[str, tuple[tuple[Any, ...], bytes]] = field(default_factory=dict)
    replays: Replayer = field(init=False)
    fanout: FanOut = field(init=False)
    #: ``https`` when the API serves TLS
    scheme: str = "http"
    #: ``api.base_url``: how clients reach the hub (None: the address a connection came in on)
    base_url: str | None = None

    def __post_init__(self) -> None:
        m = self.hub.metrics
        self.fanout = FanOut(
            self.hub.bus,
            # the log holds twice the bound: a reader the hub itself was slow to serve (a
            # stalled loop) still finds what it has not had
            capacity=2 * self.ws_queue,
            tick=self.settings.ws_tick,
            batch_max=self.settings.ws_batch_max,
            on_sent=m.messages_out.labels("ws").inc,
            on_lost=m.bus_dropped.labels("ws").inc,
        )
        self.replays = Replayer(self.hub, self.settings.ws_replay_page, self.settings.ws_replay_concurrent)

    def public_base(self, request: web.Request) -> str:
        """The hub's origin for links it hands out: the configured base URL, else the local
        address of this connection. Never the Host header, which any client can set."""
        if self.base_url:
            return self.base_url.rstrip("/")
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        if not sock:
            return f"{self.scheme}://localhost"
        host = str(sock[0])
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{sock[1]}"

    async def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token (also a web-app session's) and close every WebSocket that uses it, at
        once: code 1008, reason "the token was revoked"."""
        info = await self.tokens.revoke(token_id)
        users = [c for c in self.sockets if c.principal is not None and c.principal.token_id == token_id]
        await asyncio.gather(
            *(c.drop("the token was revoked", "revoked", CloseCode.POLICY) for c in users),
            return_exceptions=True,
        )
        return info


API: web.AppKey[ApiContext] = web.AppKey("dhome_api", ApiContext)
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("dhome_principal", Principal)


def api(request: web.Request) -> ApiContext:
    return request.app[API]
