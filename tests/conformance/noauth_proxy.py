"""A deliberately broken hub for the tests: a reverse proxy in front of a real dhome hub that
puts the admin token on every request it forwards — a hub with authentication disabled.

Named as what it is: a fake built from the real hub, only to check that the hub target
fails exactly the authentication ids against it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

HOP_HEADERS = {"host", "authorization", "content-length", "transfer-encoding", "connection", "upgrade",
               "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept"}  # fmt: skip


def make_proxy(upstream: str, admin_token: str, http: aiohttp.ClientSession) -> web.Application:
    auth = {"Authorization": f"Bearer {admin_token}"}

    async def forward(request: web.Request) -> web.StreamResponse:
        target = upstream + request.rel_url.path_qs.removeprefix("/api/v1")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await _websocket(request, target.replace("http", "ws", 1))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS} | auth
        async with http.request(request.method, target, data=await request.read(), headers=headers) as resp:
            body = await resp.read()
            out = {
                k: v
                for k, v in resp.headers.items()
                if k.lower() not in HOP_HEADERS and k.lower() != "content-encoding"
            }
            return web.Response(status=resp.status, body=body, headers=out)

    async def _websocket(request: web.Request, target: str) -> web.StreamResponse:
        client = web.WebSocketResponse()
        await client.prepare(request)
        async with http.ws_connect(target, headers=auth) as hub:

            async def pump(src: aiohttp.ClientWebSocketResponse | web.WebSocketResponse, dst: object) -> None:
                async for msg in src:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        await dst.send_str(msg.data)  # type: ignore[attr-defined]
                    else:
                        break

            up = asyncio.create_task(pump(client, hub))
            down = asyncio.create_task(pump(hub, client))
            await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
        await client.close()
        return client

    app = web.Application()
    app.router.add_route("*", "/api/v1/{tail:.*}", forward)
    return app


@contextlib.asynccontextmanager
async def noauth_proxy(upstream: str, admin_token: str) -> AsyncIterator[str]:
    """Serve the proxy on a free loopback port; yields its API base URL."""
    async with aiohttp.ClientSession() as http:
        runner = web.AppRunner(make_proxy(upstream, admin_token, http), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            yield f"http://{host}:{port}/api/v1"
        finally:
            await runner.cleanup()
