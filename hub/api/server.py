"""``ApiService``: the aiohttp server of the hub API, run as a hub service.

``Hub.add_service(ApiService())`` serves on ``config.api.host``/``port``; port 0 picks a free
port, readable as ``service.port`` once started. CORS is off unless ``config.api.cors_origins``
names origins.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from dhi.errors import ConfigError
from hub.api import malformed
from hub.api.auth import FailureLimiter, TokenStore
from hub.api.context import API, ApiContext, ApiSettings
from hub.api.cors import cors_middleware
from hub.api.healthserver import HealthServer
from hub.api.measure import measure_middleware
from hub.api.metrics import ApiMetrics
from hub.api.problems import problem_middleware
from hub.api.routes import BASE, add_routes
from hub.api.settings import restore
from hub.api.system import health_view
from hub.config import ApiConfig, TlsConfig

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

MAX_REQUEST_LINE = 64 * 1024

#: called with the API's app before it starts: may add routes and middlewares (the web app does)
AppExtension = Callable[[web.Application], None]


def make_app(ctx: ApiContext, cors_origins: list[str]) -> web.Application:
    middlewares: list[Middleware] = [measure_middleware, problem_middleware]
    if cors_origins:
        middlewares.insert(1, cors_middleware(frozenset(cors_origins)))
    app = web.Application(middlewares=middlewares, client_max_size=ctx.settings.max_body)
    app[API] = ctx
    add_routes(app)
    return app


def tls_context(tls: TlsConfig | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"api.tls: cannot load {tls.cert} / {tls.key}: {exc}", field="api.tls") from None
    return context


class ApiService:
    name = "api"

    def __init__(
        self,
        settings: ApiSettings | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        extensions: Sequence[AppExtension] = (),
    ) -> None:
        self.settings = settings or ApiSettings()
        self.extensions = list(extensions)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._ctx: ApiContext | None = None
        self.host = ""
        self.port = 0
        self.scheme = "http"
        self._unfilter: Callable[[], None] | None = None
        self._health: HealthServer | None = None
        #: port of the health server (``api.health_server``), 0 when it is not running
        self.health_port = 0

    def __repr__(self) -> str:
        return f"ApiService({self.url if self.port else 'not running'})"

    @property
    def url(self) -> str:
        """Base URL of the API (``http://host:port/api/v1``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{BASE}"

    @property
    def context(self) -> ApiContext:
        if self._ctx is None:
            raise RuntimeError("the API service is not running")
        return self._ctx

    async def start(self, hub: Hub) -> None:
        # the resident's saved settings override the config file even while the API is off
        await restore(hub)
        cfg = hub.config.api
        if not cfg.enabled:
            log.info("API disabled in the config (api.enabled: false)")
            return
        s = self.settings
        self._ctx = ApiContext(
            hub=hub,
            settings=s,
            tokens=TokenStore(hub.storage, hub.clock.now),
            limiter=FailureLimiter(s.auth_fail_limit, s.auth_fail_window),
            metrics=ApiMetrics.of(hub),
            ws_queue=cfg.ws_queue,
            ws_queue_seconds=cfg.ws_queue_seconds,
            scheme="https" if cfg.tls else "http",
            base_url=cfg.base_url,
        )
        self.scheme = self._ctx.scheme
        metrics = self._ctx.metrics
        self._unfilter = malformed.install(metrics.malformed.inc)
        app = make_app(self._ctx, cfg.cors_origins)
        for extend in self.extensions:
            extend(app)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            # room for the longest query the spec allows (20 percent-encoded device ids)
            max_line_size=MAX_REQUEST_LINE,
        )
        await self._runner.setup()
        host = self._host or cfg.host
        port = self._port if self._port is not None else cfg.port
        site = web.TCPSite(self._runner, host, port, ssl_context=tls_context(cfg.tls))
        try:
            await site.start()
        except OSError as exc:
            await self.stop()  # leave nothing of this start behind (the runner, the log filter)
            reason = exc.strerror or str(exc)
            raise ConfigError(
                f"api.port: 无法在 {host}:{port} 上监听（{reason}）：另一个中枢或程序可能正占用该端口；"  # noqa: RUF001 - Chinese punctuation
                "用 --port 或配置中的 api.port 另选端口。"
                f"\napi.port: cannot listen on {host}:{port} ({reason}): another hub or program may be "
                "using it; choose another with --port or the config's api.port",
                field="api.port",
            ) from None
        addresses = self._runner.addresses
        bound = addresses[0] if addresses else (host, cfg.port)
        self.host, self.port = str(bound[0]), int(bound[1])
        log.info("API listening on %s", self.url)
        if cfg.health_server:
            try:
                self._start_health(hub, host, cfg)
            except ConfigError:
                await self.stop()  # leave nothing of this start behind (the server, the log filter)
                raise

    def _start_health(self, hub: Hub, host: str, cfg: ApiConfig) -> None:
        """``/health`` from a thread on its own port (``hub.api.healthserver``). Only a port
        the config names explicitly is an error when taken; the derived one (API port + 1) is
        a warning: ``/health`` on the API's port still answers."""
        explicit = cfg.health_port is not None
        port = cfg.health_port if cfg.health_port is not None else (cfg.port + 1 if cfg.port else 0)
        s = self.settings
        health = HealthServer(
            lambda: health_view(hub).model_dump(mode="json", by_alias=True, exclude_none=True),
            refresh=s.health_refresh,
            stale_after=s.health_stale,
        )
        try:
            health.start(host, port)
        except OSError as exc:
            if explicit:
                raise ConfigError(
                    f"api.health_port: cannot listen on {host}:{port}: {exc}", field="api.health_port"
                ) from None
            log.warning("health server not started: %s:%d is taken (%s); GET /health on the API port only",
                        host, port, exc)  # fmt: skip
            return
        self._health = health
        self.health_port = health.port
        log.info("health answered from its own thread on http://%s:%d/health", host, health.port)

    async def stop(self) -> None:
        if self._health is not None:
            await self._health.stop()
            self._health = None
            self.health_port = 0
        if self._ctx is not None:
            sockets = list(self._ctx.sockets)
            if sockets:
                await asyncio.gather(*(conn.shutdown() for conn in sockets), return_exceptions=True)
            self._ctx.fanout.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._unfilter is not None:
            self._unfilter()
            self._unfilter = None
        self.port = 0
