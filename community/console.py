"""The staff console's API: sign-in, the live queue, households, acknowledge / assign / resolve
with notes, enrolment codes, statistics, and (admins) the staff accounts. Sessions are an HttpOnly, SameSite=Strict cookie;
every change also needs the ``X-Requested-With`` header, which a cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from community.store import Conflict, NotFound, WrongPassword
from community.web import LIVE, METRICS, SETTINGS, STORE, json_body, log, ok, problem, run
from dhi.alertkinds import default_alert_kinds

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "community_session"
HEARTBEAT = 15.0
ACTIONS = ("acknowledge", "assign", "resolve", "note")
#: who may do what beyond reading and acting on alerts
SUPERVISOR_ONLY = frozenset({"assign", "codes", "export"})
#: what only an admin may do: manage the staff accounts (an admin is not a supervisor by that)
ADMIN_ONLY = frozenset({"staff"})
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


async def staff_of(request: web.Request) -> dict[str, Any] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return await run(request.app[STORE].session, token)


def signed_in(
    handler: Handler, need: str | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        who = await staff_of(request)
        if who is None:
            return problem(401, "Sign in", "sign in first")
        if request.method != "GET" and request.headers.get("X-Requested-With") != "console":
            return problem(403, "Forbidden", "changes come from the console page only")
        if who["must_change_password"] and handler not in BEFORE_PASSWORD_CHANGE:
            return problem(403, "Change your password", "replace the initial password first",
                           code="password_change_required")  # fmt: skip
        if need in SUPERVISOR_ONLY and who["role"] != "supervisor":
            return problem(403, "Forbidden", "only a supervisor may do this")
        if need in ADMIN_ONLY and who["role"] != "admin":
            return problem(403, "Forbidden", "only an admin may manage staff accounts")
        return await handler(request, who)

    return wrapper


async def sign_in(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    user, password = body.get("username"), body.get("password")
    if not isinstance(user, str) or not isinstance(password, str):
        return problem(400, "Bad request", "send username and password", field="username")
    hours = request.app[SETTINGS].session_hours
    token = await run(request.app[STORE].sign_in, user, password, timedelta(hours=hours))
    if token is None:
        await asyncio.sleep(0.5)  # slows guessing; a wrong password is never a fast answer
        return problem(401, "Wrong name or password", "wrong user name or password")
    who = await run(request.app[STORE].session, token)
    response = ok(who)
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=hours * 3600, path="/")
    return response


async def sign_out(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    await run(request.app[STORE].sign_out, request.cookies.get(COOKIE, ""))
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def change_password(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    current, new = body.get("current"), body.get("new")
    if not isinstance(current, str) or not isinstance(new, str):
        return problem(400, "Bad request", "send current and new: text", field="current")
    try:
        await run(request.app[STORE].change_password, request.cookies.get(COOKIE, ""), current, new)
    except WrongPassword as exc:
        await asyncio.sleep(0.5)  # as at sign-in: no fast answers to guesses
        return problem(403, "Wrong password", str(exc), field="current")
    except ValueError as exc:
        return problem(400, "Bad request", str(exc), field="new")
    except NotFound:
        return problem(401, "Sign in", "sign in first")
    log.info("staff password changed", extra={"username": who["username"]})
    return web.Response(status=204)


async def me(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    # the alert kinds' names come from the interface (spec/interface/alerts.yaml), as the hub's do
    kinds = {k.id: k.label.model_dump(by_alias=True) for k in default_alert_kinds().values()}
    return ok({**who, "title": request.app[SETTINGS].title, "kinds": kinds})


async def queue(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    items = await run(request.app[STORE].queue)
    request.app[METRICS].queue.set(len(items))
    return ok({"items": items})


async def alert(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    home, alert_id = request.match_info["home"], request.match_info["id"]
    shown = await run(request.app[STORE].alert, home, alert_id)
    if shown is None:
        return problem(404, "Unknown alert", f"no alert {alert_id!r} from home {home!r}")
    history = await run(request.app[STORE].history, home)
    return ok({**shown, "actions": [h for h in history if h["alert_id"] == alert_id]})


async def act(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    action = request.match_info["action"]
    if action not in ACTIONS:
        return problem(404, "Unknown action", f"one of {', '.join(ACTIONS)}")
    if action in SUPERVISOR_ONLY and who["role"] != "supervisor":
        return problem(403, "Forbidden", "only a supervisor may assign")
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    note, to = body.get("note", ""), body.get("to")
    if not isinstance(note, str) or len(note) > 2000:
        return problem(400, "Bad request", "note: text of at most 2000 characters", field="note")
    if action == "assign" and (not isinstance(to, str) or not to):
        return problem(400, "Bad request", "to: the staff member's user name", field="to")
    home, alert_id = request.match_info["home"], request.match_info["id"]
    store = request.app[STORE]
    try:
        shown = await run(
            store.act, home, alert_id, who["username"], action, note=note, to=to, name=who["name"]
        )
    except NotFound as exc:
        return problem(404, "Unknown alert", str(exc))
    except Conflict as exc:
        return problem(409, "Already taken", str(exc), alert=exc.alert)
    request.app[METRICS].actions.labels(action).inc()
    request.app[LIVE].push("alert", shown)
    await request.app[LIVE].wake()  # a waiting acknowledgement poll of that home answers now
    return ok(shown)


async def households(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    return ok({"items": await run(request.app[STORE].households)})


async def household_history(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    return ok({"items": await run(request.app[STORE].history, request.match_info["home"])})


async def stats(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    return ok(await run(request.app[STORE].stats))


async def create_code(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    label = body.get("label", "")
    if not isinstance(label, str) or len(label) > 200:
        return problem(400, "Bad request", "label: text of at most 200 characters", field="label")
    days = request.app[SETTINGS].enrolment_code_days
    code = await run(request.app[STORE].create_code, label, who["username"], timedelta(days=days))
    return ok({"code": code, "valid_days": days, "label": label}, status=201)


async def staff_list(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    store = request.app[STORE]
    return ok({"items": await run(store.staff_accounts), "audit": await run(store.staff_audit, 50)})


async def staff_add(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    """A new account; its one-time initial password is in this answer only (never stored or logged)."""
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    username, name, role = body.get("username"), body.get("name"), body.get("role", "duty")
    if not all(isinstance(v, str) for v in (username, name, role)):
        return problem(400, "Bad request", "username, name and role: text", field="username")
    try:
        password = await run(request.app[STORE].create_staff, who["username"], username, name, role)
    except ValueError as exc:
        return problem(400, "Bad request", str(exc), field=str(exc).split(":", 1)[0])
    except Conflict as exc:
        return problem(409, "Taken", str(exc), field="username")
    log.info("staff account created", extra={"by": who["username"], "username": username, "role": role})
    return ok({"username": username, "name": name, "role": role, "password": password}, status=201)


async def staff_disable(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    username = request.match_info["username"]
    try:
        await run(request.app[STORE].disable_staff, who["username"], username)
    except NotFound as exc:
        return problem(404, "Unknown account", str(exc))
    except Conflict as exc:
        return problem(409, "Not allowed", str(exc))
    log.info("staff account disabled", extra={"by": who["username"], "username": username})
    return ok({"username": username, "disabled": True})


async def live(request: web.Request, who: dict[str, Any]) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    q: asyncio.Queue[str | None] = asyncio.Queue()
    channel = request.app[LIVE]
    channel.queues.add(q)
    try:
        await resp.write(b": connected\n\n")
        while True:
            try:
                frame = await asyncio.wait_for(q.get(), HEARTBEAT)
            except TimeoutError:
                frame = ": keep-alive\n\n"
            if frame is None:
                break
            await resp.write(frame.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        channel.queues.discard(q)
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


#: what an account that must first replace its initial password may still do
BEFORE_PASSWORD_CHANGE: frozenset[Handler] = frozenset({me, sign_out, change_password})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", page)
    r.add_static("/static/", STATIC)
    r.add_post("/console/api/session", sign_in)
    r.add_delete("/console/api/session", signed_in(sign_out))
    r.add_get("/console/api/me", signed_in(me))
    r.add_post("/console/api/password", signed_in(change_password))
    r.add_get("/console/api/queue", signed_in(queue))
    r.add_get("/console/api/alerts/{home}/{id}", signed_in(alert))
    r.add_post("/console/api/alerts/{home}/{id}/{action}", signed_in(act))
    r.add_get("/console/api/households", signed_in(households))
    r.add_get("/console/api/households/{home}/history", signed_in(household_history))
    r.add_get("/console/api/stats", signed_in(stats))
    r.add_post("/console/api/codes", signed_in(create_code, "codes"))
    r.add_get("/console/api/staff", signed_in(staff_list, "staff"))
    r.add_post("/console/api/staff", signed_in(staff_add, "staff"))
    r.add_post("/console/api/staff/{username}/disable", signed_in(staff_disable, "staff"))
    r.add_get("/console/events", signed_in(live))
