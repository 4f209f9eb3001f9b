"""API, SEC, TD and CLAIM-3 cases of the hub target: the REST side of spec §13."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft7Validator

from conformance.device.context import valid_other
from conformance.hubapi.target import PROBLEM_JSON, HubRun, Reply
from conformance.outcome import Failed, NotApplicable, passed, require
from conformance.registry import Phase, case
from conformance.schemas import schema_problems
from dhi.models import DeviceDescription
from dhi.models.catalog import Access
from dhi.models.conformance import Evidence, TargetKind

HUB = TargetKind.HUB
TD_CONTEXT = "https://www.w3.org/2022/wot/td/v1.1"
#: the operations every DHI hub offers (DESIGN §5), as written in its OpenAPI document
REQUIRED_PATHS: dict[str, tuple[str, ...]] = {
    "/health": ("get",), "/devices": ("get",), "/devices/{id}": ("get",), "/devices/{id}/state": ("get",),
    "/devices/{id}/commands": ("post",), "/devices/{id}/td": ("get",), "/events": ("get",), "/alerts": ("get",),
    "/alerts/{id}/ack": ("post",), "/subscriptions": ("get", "post"), "/catalog": ("get",), "/metrics": ("get",),
}  # fmt: skip
NO_DEVICE = "dhi-conformance:none"


def problem_issues(reply: Reply, status: int, code: str | None = None) -> list[str]:
    """What is wrong with ``reply`` as the RFC 9457 answer ``status`` (with DHI ``code``)."""
    out = []
    if reply.status != status:
        out.append(f"status {reply.status}, expected {status}")
    if reply.content_type != PROBLEM_JSON:
        out.append(f"content type {reply.content_type!r}, expected {PROBLEM_JSON}")
    body = reply.body if isinstance(reply.body, dict) else {}
    if not body:
        out.append("the body is not a JSON object")
    else:
        problems = schema_problems(body, "problem")
        out += [f"not a DHI problem document: {p}" for p in problems[:2]]
        if body.get("status") not in (None, reply.status):
            out.append(f"body status {body.get('status')} differs from the HTTP status")
        if code is not None and body.get("code") != code:
            out.append(f"code {body.get('code')!r}, expected {code!r}")
    return out


def require_problem(reply: Reply, status: int, code: str | None = None, why: str = "") -> Evidence:
    issues = problem_issues(reply, status, code)
    require(not issues, (why + ": " if why else "") + "; ".join(issues), sent=reply.sent,
            expected={"status": status, "content-type": PROBLEM_JSON, "code": code}, got=reply.evidence())  # fmt: skip
    return passed(
        f"{status} problem+json" + (f" with code {code}" if code else ""), sent=reply.sent, got=reply.body
    )


def ok_json(reply: Reply, what: str, status: int = 200) -> Any:
    require(reply.status == status and isinstance(reply.body, dict | list), f"{what}: HTTP {reply.status}",
            sent=reply.sent, expected=f"{status} with a JSON body", got=reply.evidence())  # fmt: skip
    return reply.body


async def writable_target(ctx: HubRun) -> tuple[str, dict[str, Any]]:
    """(device id, a valid set command body) for the first device with a writable property."""
    for entry in await ctx.all_devices():
        desc = DeviceDescription.model_validate(entry["device"])
        for comp in desc.components:
            for inst in comp.capabilities:
                definition = inst.definition or ctx.catalog.get(inst.id)
                if definition is None:
                    continue
                for prop in definition.properties:
                    if Access.WRITE in prop.access and (
                        inst.properties is None or prop.name in inst.properties
                    ):
                        try:
                            value = valid_other(prop, (inst.constraints or {}).get(prop.name), None)
                        except NotApplicable:
                            continue
                        body = {"id": "dhi-conf-api-1", "component": comp.id, "capability": inst.id,
                                "command": "set", "params": {prop.name: value}}  # fmt: skip
                        return desc.id, body
    raise NotApplicable("the hub has no device with a writable property")


@case("DHI-API-1.1", "GET /health answers without a token", section="§13.1", target=HUB, phase=Phase.OBSERVE)
async def health(ctx: HubRun) -> Evidence:
    body = ok_json(await ctx.call("GET", "/health", anonymous=True), "GET /health")
    require(body.get("status") in ("ok", "degraded"), "status is not ok/degraded", got=body)
    require(str(body.get("dhi_version", "")).startswith("1."), "dhi_version is not 1.x", got=body)
    return passed(f"status {body['status']}, DHI {body['dhi_version']}", got=body)


@case("DHI-API-1.2", "GET /openapi.json is an OpenAPI 3.1 document with every DHI operation",
      section="§13.1", target=HUB, phase=Phase.OBSERVE)  # fmt: skip
async def openapi(ctx: HubRun) -> Evidence:
    doc = ok_json(await ctx.call("GET", "/openapi.json", anonymous=True), "GET /openapi.json")
    require(str(doc.get("openapi", "")).startswith("3.1"), "not OpenAPI 3.1", got=doc.get("openapi"))
    paths = doc.get("paths") or {}
    missing = [
        f"{m.upper()} {p}"
        for p, methods in REQUIRED_PATHS.items()
        for m in methods
        if m not in paths.get(p, {})
    ]
    require(
        not missing, "operations missing from the document: " + ", ".join(missing), expected=REQUIRED_PATHS
    )
    return passed(f"{len(paths)} paths, all {sum(map(len, REQUIRED_PATHS.values()))} DHI operations present")


@case("DHI-API-1.3", "GET /devices lists valid device descriptions (all pages)", section="§13.2", target=HUB,
      phase=Phase.OBSERVE)  # fmt: skip
async def devices(ctx: HubRun) -> Evidence:
    entries = await ctx.all_devices()
    bad = [{"id": e.get("device", {}).get("id"), "problems": p} for e in entries
           if (p := schema_problems(e.get("device"), "device"))]  # fmt: skip
    require(not bad, f"{len(bad)} invalid device description(s)", got=bad[:5])
    require(all(isinstance(e.get("available"), bool) for e in entries), "an entry lacks 'available'")
    return passed(f"{len(entries)} devices")


@case("DHI-API-1.4", "GET /devices/{id} and /devices/{id}/state answer for every device", section="§13.2",
      target=HUB)  # fmt: skip
async def device_state(ctx: HubRun) -> Evidence:
    entries = (await ctx.all_devices())[: ctx.options.max_devices]
    if not entries:
        raise NotApplicable("the hub has no device")
    for e in entries:
        dev = e["device"]["id"]
        one = ok_json(await ctx.call("GET", f"/devices/{dev}"), f"GET /devices/{dev}")
        require(
            one.get("device", {}).get("id") == dev, f"GET /devices/{dev} returned another device", got=one
        )
        state = ok_json(await ctx.call("GET", f"/devices/{dev}/state"), f"GET /devices/{dev}/state")
        comps = {c["id"]: {i["id"] for i in c["capabilities"]} for c in e["device"]["components"]}
        for comp, caps in (state.get("components") or {}).items():
            stray = set(caps) - comps.get(comp, set())
            require(
                not stray, f"{dev}: state for capabilities not in its description: {sorted(stray)}", got=state
            )
    return passed(f"{len(entries)} devices read")


@case("DHI-API-1.5", "POST /devices/{id}/commands runs a valid command and returns its result", section="§13.3",
      target=HUB)  # fmt: skip
async def command(ctx: HubRun) -> Evidence:
    device, body = await writable_target(ctx)
    reply = await ctx.call(
        "POST", f"/devices/{device}/commands", token=await ctx.scoped("control"), body=body
    )
    result = ok_json(reply, f"POST /devices/{device}/commands")
    problems = schema_problems(result, "command-result")
    require(not problems, "the result is not a DHI command result: " + "; ".join(problems), got=result)
    require(result.get("status") == "ok" and result.get("id") == body["id"], "the command did not succeed",
            sent=body, expected={"id": body["id"], "status": "ok"}, got=result)  # fmt: skip
    return passed("command ok", sent=body, got=result)


@case(
    "DHI-API-1.6", "GET /events?since=0 returns valid DHI messages and a cursor", section="§13.4", target=HUB
)
async def events(ctx: HubRun) -> Evidence:
    page = ok_json(await ctx.call("GET", "/events?since=0"), "GET /events")
    items = page.get("items") or []
    bad = [{"problems": p, "message": m} for m in items[:200] if (p := schema_problems(m, "message"))]
    require(not bad, f"{len(bad)} invalid message(s)", got=bad[:3])
    require(
        isinstance(page.get("next"), int),
        "no integer 'next' cursor",
        got={k: v for k, v in page.items() if k != "items"},
    )
    return passed(f"{len(items)} messages valid")


@case("DHI-CLAIM-3.1", "Every claimed capability is in the hub's GET /catalog", section="§10.2", target=HUB,
      phase=Phase.OBSERVE)  # fmt: skip
async def catalog_claims(ctx: HubRun) -> Evidence:
    body = ok_json(await ctx.call("GET", "/catalog"), "GET /catalog")
    items = body if isinstance(body, list) else body.get("capabilities") or body.get("items") or []
    ids = {c.get("id") for c in items if isinstance(c, dict)}
    require(bool(ids), "GET /catalog lists no capability", got=str(body)[:300])
    missing = sorted(set(ctx.claims.capabilities) - ids)
    require(not missing, "claimed but not in the catalog: " + ", ".join(missing))
    return passed(f"{len(ids)} capabilities in the catalog")


@case("DHI-API-2.1", "An unknown device is a 404 problem+json with code unknown_device", section="§13.5",
      target=HUB)  # fmt: skip
async def unknown_device(ctx: HubRun) -> Evidence:
    return require_problem(await ctx.call("GET", f"/devices/{NO_DEVICE}"), 404, "unknown_device")


@case("DHI-API-2.2", "An invalid command is a 422 problem+json naming the field", section="§13.5", target=HUB)
async def invalid_command(ctx: HubRun) -> Evidence:
    device, body = await writable_target(ctx)
    body = {**body, "capability": "dhi.dhi_conformance_none"}
    reply = await ctx.call(
        "POST", f"/devices/{device}/commands", token=await ctx.scoped("control"), body=body
    )
    evidence = require_problem(reply, 422, "unknown_capability")
    named = [p.get("name") for p in (reply.body.get("invalid-params") or [])]
    require(any("capability" in str(n) for n in named), "invalid-params does not name the capability",
            got=reply.body)  # fmt: skip
    return evidence


@case("DHI-API-2.3", "A malformed JSON body is a 400 problem+json", section="§13.5", target=HUB)
async def malformed_body(ctx: HubRun) -> Evidence:
    device, _ = await writable_target(ctx)
    reply = await ctx.call(
        "POST", f"/devices/{device}/commands", token=await ctx.scoped("control"), raw=b'{"id": '
    )
    return require_problem(reply, 400)


@case("DHI-API-2.4", "An unknown route is a 404 problem+json", section="§13.5", target=HUB)
async def unknown_route(ctx: HubRun) -> Evidence:
    return require_problem(await ctx.call("GET", "/dhi-conformance-none"), 404)


@case("DHI-SEC-1.1", "Without a token a protected route is 401 with a Bearer challenge", section="§13.6",
      target=HUB)  # fmt: skip
async def no_token(ctx: HubRun) -> Evidence:
    reply = await ctx.call("GET", "/devices", anonymous=True)
    evidence = require_problem(reply, 401, "unauthorized", "a request without a token was not refused")
    challenge = reply.headers.get("WWW-Authenticate", "")
    require(
        challenge.lower().startswith("bearer"), "no WWW-Authenticate: Bearer challenge", got=reply.headers
    )
    return evidence


@case("DHI-SEC-1.2", "An unknown token is 401", section="§13.6", target=HUB)
async def bad_token(ctx: HubRun) -> Evidence:
    reply = await ctx.call("GET", "/devices", token="dhk_dhi-conformance-not-a-token")
    return require_problem(reply, 401, "unauthorized", "an unknown token was accepted")


@case("DHI-SEC-1.3", "A read token may read but not command (403 with code forbidden)", section="§13.6",
      target=HUB)  # fmt: skip
async def scopes(ctx: HubRun) -> Evidence:
    read = await ctx.scoped("read")
    listing = await ctx.call("GET", "/devices", token=read)
    require(listing.status == 200, "a read token cannot list devices", got=listing.evidence())
    device, body = await writable_target(ctx)
    reply = await ctx.call("POST", f"/devices/{device}/commands", token=read, body=body)
    return require_problem(reply, 403, "forbidden", "a read token could send a command")


def _td_issues(td: Any) -> list[str]:
    """TD 1.1 §5 mandatory terms, checked structurally (a schema can be given on top)."""
    if not isinstance(td, dict):
        return ["not a JSON object"]
    out = []
    context = td.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if TD_CONTEXT not in contexts:
        out.append(f"@context lacks {TD_CONTEXT}")
    for key in ("title", "security", "securityDefinitions"):
        if key not in td:
            out.append(f"{key} is missing")
    for kind in ("properties", "actions", "events"):
        for name, aff in (td.get(kind) or {}).items():
            forms = aff.get("forms") if isinstance(aff, dict) else None
            if not forms or not all(isinstance(f, dict) and f.get("href") for f in forms):
                out.append(f"{kind}.{name}: no forms with href")
    return out


@case("DHI-TD-1.1", "GET /devices/{id}/td is a valid WoT Thing Description 1.1 for every device",
      section="§11", target=HUB)  # fmt: skip
async def thing_descriptions(ctx: HubRun) -> Evidence:
    entries = (await ctx.all_devices())[: ctx.options.max_devices]
    if not entries:
        raise NotApplicable("the hub has no device")
    validator = None
    if ctx.options.td_schema is not None:
        validator = Draft7Validator(json.loads(ctx.options.td_schema.read_text(encoding="utf-8")))
    bad = []
    for e in entries:
        dev = e["device"]["id"]
        reply = await ctx.call("GET", f"/devices/{dev}/td")
        if reply.status != 200:
            bad.append({"device": dev, "got": reply.evidence()})
            continue
        issues = _td_issues(reply.body)
        if validator is not None:
            issues += [
                f"{'/'.join(map(str, err.absolute_path))}: {err.message}"
                for err in validator.iter_errors(reply.body)
            ][:3]
        if reply.content_type not in ("application/td+json", "application/json"):
            issues.append(f"content type {reply.content_type}")
        if issues:
            bad.append({"device": dev, "issues": issues})
    if bad:
        raise Failed(f"{len(bad)} invalid Thing Description(s)", got=bad[:5])
    how = (
        "the W3C TD 1.1 schema"
        if validator
        else "the TD 1.1 mandatory terms (pass --td-schema for the W3C schema)"
    )
    return passed(f"{len(entries)} TDs valid against {how}")
