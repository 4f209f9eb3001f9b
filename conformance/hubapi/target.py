"""Run the hub target: an HTTP session, scoped tokens made (and revoked) with the admin token."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from conformance.outcome import Errored
from conformance.registry import cases_for
from conformance.runner import ProgressSink, RunOptions, build_report, run_cases
from dhi.catalog import Catalog, default_catalog
from dhi.models.conformance import Claims, Report, TargetKind

PROBLEM_JSON = "application/problem+json"


@dataclass
class HubOptions:
    td_schema: Path | None = None
    timeout: float = 10.0
    max_devices: int = 20
    fuzz_examples: int = 60


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the text when not JSON
    sent: dict[str, Any]

    def evidence(self) -> dict[str, Any]:
        return {"status": self.status, "content-type": self.content_type, "body": self.body}


@dataclass
class HubRun:
    url: str
    token: str
    claims: Claims
    catalog: Catalog
    options: HubOptions
    http: aiohttp.ClientSession
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # scope -> (id, secret)
    devices: list[dict[str, Any]] | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/ws"

    def auth(self, secret: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"} if secret is not None else {}

    async def call(
        self, method: str, path: str, *, token: str | None = None, body: Any = None, raw: bytes | None = None,
        anonymous: bool = False,
    ) -> Reply:  # fmt: skip
        headers = {} if anonymous else self.auth(token or self.token)
        data: bytes | None = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.url + path, data=data, headers=headers) as resp:
            text = await resp.text()
            try:
                parsed: Any = json.loads(text) if text else None
            except ValueError:
                parsed = text[:2000]
            sent = {"method": method, "path": path, "body": body if body is not None else (raw[:300].decode("utf-8", "replace") if raw else None),
                    "auth": "none" if anonymous else ("custom" if token else "admin")}  # fmt: skip
            return Reply(resp.status, resp.content_type, dict(resp.headers), parsed, sent)

    async def scoped(self, scope: str) -> str:
        """A token with only ``scope``, made once per run with the admin token (revoked at the end)."""
        if scope not in self.tokens:
            reply = await self.call(
                "POST", "/tokens", body={"name": f"dhi-conformance-{scope}", "scopes": [scope]}
            )
            if reply.status != 201 or not isinstance(reply.body, dict) or "token" not in reply.body:
                raise Errored(f"cannot create a {scope!r} token with the given token (is it an admin token?)",
                              got=reply.evidence())  # fmt: skip
            self.tokens[scope] = (str(reply.body["id"]), str(reply.body["token"]))
        return self.tokens[scope][1]

    async def all_devices(self) -> list[dict[str, Any]]:
        """Every device entry (``GET /devices`` pages), cached for the run."""
        if self.devices is None:
            out: list[dict[str, Any]] = []
            cursor = ""
            for _ in range(100):
                reply = await self.call("GET", "/devices" + (f"?cursor={cursor}" if cursor else ""))
                if reply.status != 200 or not isinstance(reply.body, dict):
                    raise Errored("GET /devices failed (see DHI-API-1.3)", got=reply.evidence())
                out += reply.body.get("items") or []
                cursor = reply.body.get("next") or ""
                if not cursor:
                    break
            self.devices = out
        return self.devices

    async def revoke_all(self) -> None:
        for token_id, _ in self.tokens.values():
            await self.call("DELETE", f"/tokens/{token_id}")


async def run_hub(
    url: str,
    token: str,
    claims: Claims,
    *,
    options: HubOptions | None = None,
    run: RunOptions | None = None,
    progress: ProgressSink | None = None,
    catalog: Catalog | None = None,
) -> Report:
    started = datetime.now(UTC)
    opts = options or HubOptions()
    base = url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=opts.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        ctx = HubRun(base, token, claims, catalog or default_catalog(), opts, http)
        try:
            results = await run_cases(
                cases_for(TargetKind.HUB),
                ctx,
                claims,
                run or RunOptions(),
                progress=progress,
                target_name=f"hub {base}",
            )
        finally:
            await ctx.revoke_all()
    target = {
        "kind": "hub",
        "url": base,
        "td_schema": str(opts.td_schema) if opts.td_schema else "structural checks",
    }
    return build_report(target, claims, results, started)
