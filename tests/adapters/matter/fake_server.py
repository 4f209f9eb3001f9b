"""``FakeMatterServer``: a stand-in for the Matter Server, named as such.

Used only for what the real python-matter-server cannot be made to do here: speak another
schema version, and push ``attribute_updated`` / ``node_event`` messages (it emits those
only for commissioned devices, never for imported test nodes). It speaks the same JSON
protocol on a loopback port.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

SILENT = object()

SERVER_INFO = {
    "fabric_id": 1,
    "compressed_fabric_id": 1234,
    "schema_version": 11,
    "min_supported_schema_version": 9,
    "sdk_version": "fake",
    "wifi_credentials_set": False,
    "thread_credentials_set": False,
    "bluetooth_enabled": False,
}


class FakeMatterServer:
    def __init__(self, nodes: list[dict[str, Any]] | None = None, **info: Any) -> None:
        self.info = {**SERVER_INFO, **info}
        self.nodes = nodes or []
        self.commands: list[dict[str, Any]] = []
        #: command name -> result, {"error_code", "details"}, or SILENT (never answer)
        self.answers: dict[str, Any] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0
        self.listening = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def push(self, event: str, data: Any) -> None:
        await self.listening.wait()
        for ws in self.sockets:
            await ws.send_str(json.dumps({"event": event, "data": data}))

    async def send_raw(self, text: str) -> None:
        await self.listening.wait()
        for ws in self.sockets:
            await ws.send_str(text)

    async def drop(self) -> None:
        self.listening.clear()
        for ws in list(self.sockets):
            await ws.close()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.sockets.append(ws)
        await ws.send_str(json.dumps(self.info))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                cmd = json.loads(msg.data)
                self.commands.append(cmd)
                answer = self.answers.get(cmd["command"])
                if cmd["command"] == "start_listening":
                    await ws.send_str(json.dumps({"message_id": cmd["message_id"], "result": self.nodes}))
                    self.listening.set()
                elif answer is SILENT:
                    continue
                elif isinstance(answer, dict) and "error_code" in answer:
                    await ws.send_str(json.dumps({"message_id": cmd["message_id"], **answer}))
                else:
                    await ws.send_str(json.dumps({"message_id": cmd["message_id"], "result": answer}))
        finally:
            self.sockets.remove(ws)
        return ws
