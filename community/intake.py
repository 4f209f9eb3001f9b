"""The DHI-facing side (spec §9.4, DHI 1.1): what hubs call.

* ``POST /dhi/v1/enrol`` — a hub redeems a one-time enrolment code the resident typed into its
  Sharing page; the answer carries the webhook URL, a fresh per-home ``whsec_`` secret and the
  acknowledgement URL.
* ``POST /dhi/v1/homes/{home}/events`` — signed CloudEvents (Standard Webhooks, the home's own
  secret, replay window); stored once per ``webhook-id`` (a redelivery answers 200 and changes
  nothing).
* ``POST /dhi/v1/homes/{home}/acks`` — the hub's long poll for acknowledgements, signed the same
  way: the platform never connects to a home (homes sit behind NAT and the platform holds no
  hub tokens); the hub keeps this request open and learns of each acknowledgement at once.
  Each poll states the resident's current consent, which the household record follows; a
  withdrawal (``consent: null``) ends the home's sharing here: its events are answered 410.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from community.consent import parse_consent
from community.store import NotFound, home_of
from community.web import LIVE, METRICS, SETTINGS, STORE, json_body, log, ok, problem, run

HOME_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: alert kinds a community centre asks for by default (the resident decides on the hub)
REQUESTED_KINDS = ["smoke", "co", "gas_leak", "water_leak", "sos", "fall", "inactivity", "heat"]
MAX_BODY = 256 * 1024
ACK_WAIT_MAX = 55.0
#: wrong codes allowed per address in a minute (codes are 12 characters from 30: guessing is
#: hopeless anyway; this keeps the log and the database quiet)
CODE_TRIES = 10


@dataclass(frozen=True, slots=True)
class Verified:
    body: dict[str, Any]
    message_id: str
    #: the resident withdrew consent: the signature is good, but nothing more is taken
    withdrawn: bool


async def verified(request: web.Request, home: str) -> Verified | web.Response:
    """The request's JSON body, if it carries a valid Standard Webhooks signature by the home's
    secret within the replay window; else the problem answer."""
    metrics = request.app[METRICS]
    if not HOME_ID.match(home):
        return problem(404, "Unknown home", f"no enrolled home {home!r}")
    found = await run(request.app[STORE].credentials, home)
    if found is None:
        metrics.webhooks.labels("unknown_home").inc()
        return problem(404, "Unknown home", f"no enrolled home {home!r}: enrol it with a code first")
    secret, withdrawn = found
    body = await request.read()
    if len(body) > MAX_BODY:
        return problem(413, "Too large", f"at most {MAX_BODY} bytes")
    try:
        stamp = int(request.headers.get("webhook-timestamp", ""))
    except ValueError:
        metrics.webhooks.labels("rejected").inc()
        return problem(401, "Unauthorized", "webhook-timestamp missing or not a number")
    if abs(time.time() - stamp) > request.app[SETTINGS].replay_window:
        metrics.webhooks.labels("rejected").inc()
        return problem(401, "Unauthorized", "webhook-timestamp outside the replay window")
    try:
        payload = Webhook(secret).verify(body, dict(request.headers))
    except WebhookVerificationError:
        metrics.webhooks.labels("rejected").inc()
        log.warning("signature does not verify", extra={"home": home, "remote": request.remote})
        return problem(401, "Unauthorized", "signature does not verify")
    except ValueError:
        return problem(400, "Bad request", "the body is not JSON")
    if not isinstance(payload, dict):
        return problem(400, "Bad request", "the body must be a JSON object")
    return Verified(payload, request.headers["webhook-id"], withdrawn)


def withdrawn_answer(home: str) -> web.Response:
    """410 Gone: the resident withdrew consent on the hub; a sender is asked to stop (Standard Webhooks)."""
    return problem(
        410, "Consent withdrawn",
        f"住户已撤回共享，本平台不再接收 {home} 的数据 / the resident of {home} withdrew consent: "  # noqa: RUF001 - Chinese punctuation
        "this platform takes nothing more from the home",
    )  # fmt: skip


async def any_home_events(request: web.Request) -> web.Response:
    """``POST /webhook``: one address for every home (hubs configured by hand). The home named by
    the event's ``source`` is only a claim until its secret verifies the signature."""
    try:
        claimed = json.loads(await request.read())
        home = home_of(claimed.get("source", "")) if isinstance(claimed, dict) else ""
    except ValueError:
        return problem(400, "Bad request", "the body is not JSON")
    return await events(request, home)


async def events(request: web.Request, home: str | None = None) -> web.Response:
    home = home or request.match_info["home"]
    result = await verified(request, home)
    if isinstance(result, web.Response):
        return result
    event, message_id = result.body, result.message_id
    metrics = request.app[METRICS]
    if result.withdrawn:
        metrics.webhooks.labels("withdrawn").inc()
        return withdrawn_answer(home)
    if event.get("id") not in (None, message_id):
        metrics.webhooks.labels("rejected").inc()
        return problem(400, "Bad request", "webhook-id and the CloudEvent id differ", field="id")
    if home_of(event.get("source", "")) != home:
        metrics.webhooks.labels("rejected").inc()
        return problem(
            400, "Bad request", f"source {event.get('source')!r} is not home {home!r}", field="source"
        )
    outcome = await run(request.app[STORE].receive, message_id, home, event)
    metrics.webhooks.labels("duplicate" if outcome.duplicate else "stored").inc()
    if outcome.alert is not None:
        request.app[LIVE].push("alert", outcome.alert)
    return ok({"duplicate": outcome.duplicate})


async def acks(request: web.Request) -> web.Response:
    home = request.match_info["home"]
    result = await verified(request, home)
    if isinstance(result, web.Response):
        return result
    body = result.body
    after, wait = body.get("after", 0), body.get("wait", 25)
    if not isinstance(after, int) or after < 0:
        return problem(400, "Bad request", "after must be a non-negative integer", field="after")
    if not isinstance(wait, int | float) or not 0 <= wait <= ACK_WAIT_MAX:
        return problem(400, "Bad request", f"wait must be 0 to {ACK_WAIT_MAX} seconds", field="wait")
    store, live = request.app[STORE], request.app[LIVE]
    if "consent" in body:  # the resident's consent as it stands on the hub (DHI 1.1, §9.4)
        try:
            consent = parse_consent(body["consent"])
        except ValueError as exc:
            return problem(400, "Bad request", str(exc), field="consent")
        if result.withdrawn:
            return ok({"items": [], "next": after}) if consent is None else withdrawn_answer(home)
        if await run(store.follow_consent, home, consent):
            request.app[METRICS].consent_changes.labels("withdrawn" if consent is None else "changed").inc()
            log.info("household consent changed", extra={"home": home, "withdrawn": consent is None})
            live.push("household", {"home": home})
        if consent is None:
            return ok({"items": [], "next": after})
    elif result.withdrawn:
        return withdrawn_answer(home)
    deadline = time.monotonic() + float(wait)
    while True:
        items = await run(store.acks_after, home, after)
        left = deadline - time.monotonic()
        if items or left <= 0:
            break
        # woken by an action in this process; the timeout also finds those of other workers
        async with live.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.changed.wait(), min(left, 1.0))
    request.app[METRICS].ack_polls.inc()
    return ok({"items": items, "next": items[-1]["seq"] if items else after})


class CodeLimiter:
    def __init__(self) -> None:
        self.wrong: dict[str, list[float]] = {}

    def blocked(self, who: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.wrong.get(who, []) if now - t < 60]
        self.wrong[who] = recent
        return len(recent) >= CODE_TRIES

    def record(self, who: str) -> None:
        self.wrong.setdefault(who, []).append(time.monotonic())


LIMITER: web.AppKey[CodeLimiter] = web.AppKey("limiter", CodeLimiter)


def _text(value: object, field: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise ValueError(f"{field}: expected text of 1 to {limit} characters")
    return value.strip()


def parse_enrolment(body: dict[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """(code, home, household, consent) from an enrolment request, or ValueError naming the field."""
    code = _text(body.get("code"), "code", 40, required=True)
    home = body.get("home")
    if not isinstance(home, str) or not HOME_ID.match(home):
        raise ValueError("home: expected the hub's home id (a-z, 0-9, _ and -)")
    raw = body.get("household") or {}
    if not isinstance(raw, dict):
        raise ValueError("household: expected an object with name, address, contacts")
    contacts = raw.get("contacts") or []
    if not isinstance(contacts, list) or len(contacts) > 5:
        raise ValueError("household.contacts: expected at most 5 contacts")
    household = {
        "name": _text(raw.get("name"), "household.name", 200, required=True),
        "address": _text(raw.get("address"), "household.address", 500),
        "contacts": [
            {k: _text(c.get(k), f"household.contacts[{i}].{k}", 100) for k in ("name", "phone", "relation")}
            for i, c in enumerate(contacts)
            if isinstance(c, dict)
        ],
    }
    consent = body.get("consent") or {}
    if not isinstance(consent, dict) or not isinstance(consent.get("alert_kinds", []), list):
        raise ValueError("consent: expected {alert_kinds: [...], fields: [...] | null}")
    return (
        code,
        home,
        household,
        {"alert_kinds": consent.get("alert_kinds", []), "fields": consent.get("fields")},
    )


async def enrol(request: web.Request) -> web.Response:
    who = request.remote or "-"
    limiter = request.app[LIMITER]
    if limiter.blocked(who):
        return problem(429, "Too many tries", "too many wrong codes; try again in a minute")
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        code, home, household, consent = parse_enrolment(body)
    except ValueError as exc:
        return problem(400, "Bad request", str(exc), field=str(exc).split(":", 1)[0])
    try:
        secret = await run(request.app[STORE].redeem, code, home, household, consent)
    except NotFound as exc:
        limiter.record(who)
        return problem(404, "Code not valid", str(exc), field="code")
    settings = request.app[SETTINGS]
    base = settings.public_url.rstrip("/")
    log.info("home enrolled", extra={"home": home})
    request.app[LIVE].push("household", {"home": home})
    return ok(
        {
            "platform": {"name": settings.title, "kind": "community"},
            "home": home,
            "webhook": {"url": f"{base}/dhi/v1/homes/{home}/events", "secret": secret},
            "acks": {"url": f"{base}/dhi/v1/homes/{home}/acks"},
            "requested": {"alert_kinds": REQUESTED_KINDS, "fields": None},
        },
        status=201,
    )
