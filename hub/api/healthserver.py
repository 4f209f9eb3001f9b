"""``/health`` on a port of its own, answered by a thread: never behind the event loop's backlog.

The event loop refreshes a snapshot of the health document every ``refresh`` seconds (a few
hundred bytes, built by the loop from what it keeps current); a small stdlib HTTP server on its
own thread answers ``GET /health`` (and ``GET /api/v1/health``, the API's path) from the latest
snapshot without touching the hub. A load balancer or ``dhome discover`` probing it gets an
answer however busy the loop is. The snapshot carries when it was made: once it is older than
``stale_after`` the loop has stopped turning, and the answer is ``503`` with ``status:
"degraded"`` and ``stale`` (seconds since the loop last refreshed it): a stuck loop is not healthy.

Why a second port and not the API's: the API's listening socket is served by the loop (aiohttp
accepts there), so a request to it waits for the loop whatever answers it; a second listener on
the same port (``SO_REUSEPORT``) would take a share of every API connection too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

log = logging.getLogger(__name__)

#: the paths it answers: its own, and the API's (so one probe URL works on either port)
PATHS = frozenset({"/health", "/api/v1/health"})
JSON = "application/json"


class Snapshot:
    """The latest health document (JSON bytes) and when the loop made it (``time.monotonic``).

    One tuple, replaced whole: the thread reads it without a lock."""

    def __init__(self) -> None:
        self.latest: tuple[dict[str, Any], float] | None = None

    def publish(self, document: dict[str, Any]) -> None:
        self.latest = (document, time.monotonic())

    def answer(self, stale_after: float) -> tuple[int, bytes]:
        """HTTP status and body: the snapshot as made, or ``503`` + degraded once it is stale."""
        latest = self.latest
        if latest is None:
            return 503, orjson.dumps({"status": "degraded", "stale": None})
        document, made = latest
        age = time.monotonic() - made
        if age <= stale_after:
            return 200, orjson.dumps(document)
        return 503, orjson.dumps({**document, "status": "degraded", "stale": round(age, 3)})


def _handler(snapshot: Snapshot, stale_after: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # a client that sends nothing holds one thread for this long at most
        timeout = 5.0
        server_version = "dhome-health"
        sys_version = ""

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in PATHS:
                self._reply(
                    404, orjson.dumps({"title": "not found", "detail": "only /health is served here"})
                )
                return
            self._reply(*snapshot.answer(stale_after))

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", JSON)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # probes every few seconds: no access log (the API keeps none either)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a hub restarted at once must get its port back (TIME_WAIT of the last probes)
    allow_reuse_address = True


class HealthServer:
    """The snapshot, its refresh on the loop, and the thread serving it."""

    def __init__(
        self, build: Callable[[], dict[str, Any]], *, refresh: float = 0.5, stale_after: float = 5.0
    ) -> None:
        self._build = build
        self._refresh = refresh
        self.snapshot = Snapshot()
        self._stale_after = stale_after
        self._server: _Server | None = None
        self._worker: threading.Thread | None = None
        self._handle: asyncio.TimerHandle | None = None
        self.port = 0

    def start(self, host: str, port: int) -> None:
        """Bind ``host:port`` (0: a free port, then in ``self.port``) and serve from a thread;
        the loop refreshes the snapshot from now on. ``OSError`` if the port is taken."""
        self._tick()
        server = _Server((host, port), _handler(self.snapshot, self._stale_after))
        self._server = server
        self.port = int(server.server_address[1])
        self._worker = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="dhome-health", daemon=True
        )
        self._worker.start()

    def _tick(self) -> None:
        try:
            self.snapshot.publish(self._build())
        except Exception:  # a snapshot that cannot be built goes stale: health says so
            log.exception("health: could not build the snapshot")
        self._handle = asyncio.get_running_loop().call_later(self._refresh, self._tick)

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
        if self._worker is not None:
            await asyncio.to_thread(self._worker.join)
            self._worker = None
        self.port = 0
