"""Upward reporting: an Atom feed of the active alerts, each entry one OASIS CAP 1.2 ``<alert>``
(for a district or government system), and CSV / JSON exports.

Both carry only consented fields: what the home's consent filter let out in the alert itself
(kind, severity, times, and room or summary only when the resident granted them) plus the
desk's own state. The household's name, address and contacts stay on the platform: they were
given to the centre, not to the district.
"""

from __future__ import annotations

import csv
import hmac
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from community.config import CapSettings
from community.console import staff_of
from community.web import SETTINGS, STORE, ok, problem, run
from dhi.alertkinds import default_alert_kinds

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"


def cap_kind(kind: str) -> tuple[str, str, str, str]:
    """(CAP category, certainty, zh-CN event, en event) of an alert kind, from the interface's
    alert kinds (spec/interface/alerts.yaml) — the platform reads the same kinds as the hub."""
    kinds = default_alert_kinds()
    if kind not in kinds:  # a newer hub's kind: still reported, under its id
        return ("Other", "Unknown", kind, kind)
    known = kinds[kind]
    return (known.cap.category.value, known.cap.certainty.value, known.label.zh_cn, known.label.en)


#: the alert fields an export may carry when the home sent them (its consent decided that)
EXPORT_FIELDS = ("home", "id", "kind", "severity", "urgency", "state", "room", "summary", "summary_zh",
                 "first_seen", "last_seen", "count", "drill", "desk", "acked_by", "acked_at", "resolved_at")  # fmt: skip


async def allowed(request: web.Request) -> bool:
    tokens = request.app[SETTINGS].report_tokens
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and any(hmac.compare_digest(auth[7:], t) for t in tokens):
        return True
    who = await staff_of(request)
    return who is not None and who["role"] == "supervisor"


def cap_time(value: str | None) -> str:
    """CAP wants ``2026-01-02T03:04:05+00:00`` (no fraction, no ``Z``)."""
    when = datetime.fromisoformat(value) if value else datetime.now(UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def sub(parent: ET.Element, tag: str, text: str | None = None, ns: str = CAP_NS) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = text
    return el


def cap_alert(alert: dict[str, Any], sender: str, area_code: str | None, area_name: str) -> ET.Element:
    category, certainty, event_zh, event_en = cap_kind(alert["kind"])
    root = ET.Element(f"{{{CAP_NS}}}alert")
    sub(root, "identifier", f"{alert['home']}.{alert['id']}".replace(" ", "_").replace(",", "_"))
    sub(root, "sender", sender)
    sub(root, "sent", cap_time(alert.get("last_seen") or alert.get("first_seen")))
    # a drill's alert is an exercise (spec §8.3), never an emergency upstream
    sub(root, "status", "Exercise" if alert.get("drill") else "Actual")
    sub(root, "msgType", "Alert" if alert["desk"] == "open" else "Update")
    sub(root, "scope", "Restricted")
    sub(root, "restriction", "社区及街道值守人员 · community and district duty staff only")
    sub(root, "incidents", f"{alert['home']}.{alert['id']}".replace(" ", "_").replace(",", "_"))
    for lang, event in (("zh-CN", event_zh), ("en-US", event_en)):
        info = sub(root, "info")
        sub(info, "language", lang)
        sub(info, "category", category)
        sub(info, "event", event)
        sub(info, "urgency", str(alert.get("urgency") or "Immediate"))
        sub(info, "severity", alert["severity"] if alert["severity"] in
            ("Extreme", "Severe", "Moderate", "Minor") else "Unknown")  # fmt: skip
        sub(info, "certainty", certainty)
        summary = alert.get("summary_zh" if lang == "zh-CN" else "summary")
        if summary:
            sub(info, "headline", str(summary)[:160])
        desk = {
            "open": ("待处理", "open"),
            "acknowledged": ("已接单", "taken"),
            "resolved": ("已处理", "resolved"),
        }
        sub(info, "description", desk.get(alert["desk"], ("", ""))[0 if lang == "zh-CN" else 1])
        area = sub(info, "area")
        sub(area, "areaDesc", area_name)
        if area_code:
            code = sub(area, "geocode")
            sub(code, "valueName", "GB/T 2260")
            sub(code, "value", area_code)
    return root


def atom_feed(alerts: list[dict[str, Any]], title: str, base: str, cap: CapSettings) -> bytes:
    ET.register_namespace("", ATOM_NS)
    ET.register_namespace("cap", CAP_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "title", title, ATOM_NS)
    sub(feed, "id", f"{base}/feeds/cap.atom", ATOM_NS)
    sub(
        feed,
        "updated",
        cap_time(max((a.get("last_seen") or a["first_seen"] for a in alerts), default=None)),
        ATOM_NS,
    )
    author = sub(feed, "author", None, ATOM_NS)
    sub(author, "name", cap.sender, ATOM_NS)
    link = sub(feed, "link", None, ATOM_NS)
    link.set("rel", "self")
    link.set("href", f"{base}/feeds/cap.atom")
    for a in alerts:
        entry = sub(feed, "entry", None, ATOM_NS)
        sub(entry, "id", f"{base}/alerts/{a['home']}/{a['id']}", ATOM_NS)
        sub(entry, "title", cap_kind(a["kind"])[2], ATOM_NS)
        sub(entry, "updated", cap_time(a.get("last_seen") or a["first_seen"]), ATOM_NS)
        content = sub(entry, "content", None, ATOM_NS)
        content.set("type", "application/cap+xml")
        content.append(cap_alert(a, cap.sender, cap.area_code, cap.area_name))
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out


def consented(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: alert[k] for k in EXPORT_FIELDS if alert.get(k) is not None}


async def cap_feed(request: web.Request) -> web.StreamResponse:
    if not await allowed(request):
        return problem(401, "Unauthorized", "a report token (Bearer) or a supervisor's session")
    settings = request.app[SETTINGS]
    items = await run(request.app[STORE].active_alerts)
    body = atom_feed(items, settings.title, settings.public_url.rstrip("/"), settings.cap)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


async def export(request: web.Request) -> web.StreamResponse:
    if not await allowed(request):
        return problem(401, "Unauthorized", "a report token (Bearer) or a supervisor's session")
    rows = [consented(a) for a in await run(request.app[STORE].all_alerts)]
    if request.match_info["fmt"] == "json":
        return ok({"items": rows})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return web.Response(
        text=out.getvalue(), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="alerts.csv"'},
    )  # fmt: skip


def add_routes(app: web.Application) -> None:
    app.router.add_get("/feeds/cap.atom", cap_feed)
    app.router.add_get("/export/alerts.{fmt:csv|json}", export)
