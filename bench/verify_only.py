"""The ceiling of the platform benchmark: a bare aiohttp handler that only verifies the Standard
Webhooks signature (no storage, no JSON handling beyond the library's own), one process.

``python -m bench.verify_only PORT`` (the secret on standard input)."""

from __future__ import annotations

import sys

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    port = int(sys.argv[1])
    hook = Webhook(sys.stdin.readline().strip())

    async def receive(request: web.Request) -> web.Response:
        try:
            hook.verify(await request.read(), dict(request.headers))
        except WebhookVerificationError:
            return web.Response(status=401)
        return web.json_response({"duplicate": False})

    app = web.Application()
    app.router.add_post("/dhi/v1/homes/{home}/events", receive)
    app.router.add_get("/health", lambda _: web.json_response({"status": "ok"}))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
