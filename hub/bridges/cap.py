"""CAP 1.2 (OASIS Common Alerting Protocol) for emergency and government platforms.

One CAP ``<alert>`` per alert message, built from what the consent filter let out:

* ``identifier`` = the message id (``<alert id>.raised`` …), ``incidents`` = the alert id, so
  every message about one alert is grouped; updates and the all-clear ``references`` the
  first message (``sender,identifier,sent``).
* raised → ``msgType`` Alert; updated (repeat, escalation, acknowledgement) → Update;
  cleared → Update with ``responseType`` AllClear and ``urgency`` Past.
* ``status`` Exercise (with a bilingual ``note``) when the message is a drill's (its ``drill``
  attribute, DHI 1.1), else Actual: an exercise is never delivered as Actual.
* ``scope`` Restricted: the resident consented to this receiver only.
* two ``<info>`` blocks, ``zh-CN`` and ``en-US``; ``category``/``certainty`` per kind below.
* ``<area>``: the home's administrative-division code (GB/T 2260) as a ``geocode`` when
  configured; the postal address (``areaDesc``) and coordinates (``circle``) only when the
  subscription's field grant includes ``address`` / ``location``.

The XSD is not needed at run time; ``alerts.cap.xsd`` turns on validation of every message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dhi.alertkinds import default_alert_kinds
from dhi.errors import InvalidParams
from dhi.models.alert import AlertKind
from dhi.models.subscription import SubscriptionRequest
from hub.alerts.config import AlertsConfig
from hub.alerts.kinds import KIND_INFO, where
from hub.bridges.webhook import WebhookBridge, check_http_endpoint, post_signed, signed_headers
from hub.config import HomeConfig
from hub.consent.filter import ALERT_TYPES, granted
from hub.delivery import OutboxEntry, PermanentDeliveryError

if TYPE_CHECKING:
    from hub.core import Hub

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CONTENT_TYPE = "application/cap+xml; charset=utf-8"
GEOCODE_NAME = "GB/T 2260"
EVENT_CODE_NAME = "DHI"


@dataclass(frozen=True, slots=True)
class CapKind:
    kind: AlertKind
    category: str
    certainty: str


#: the CAP mapping of each kind is interface data (spec/interface/alerts.yaml)
CAP_KINDS: tuple[CapKind, ...] = tuple(
    CapKind(AlertKind(k.id), k.cap.category.value, k.cap.certainty.value)
    for k in default_alert_kinds().values()
)
CAP_KIND: dict[AlertKind, CapKind] = {row.kind: row for row in CAP_KINDS}

MSG_TYPE = {
    "org.dhi.v1.alert.raised": "Alert",
    "org.dhi.v1.alert.updated": "Update",
    "org.dhi.v1.alert.cleared": "Update",
}
RESTRICTION = "Shared with the resident's consent for the receiving service only / 经住户授权，仅供接收方使用"  # noqa: RUF001 - Chinese punctuation


def cap_time(value: str | datetime, tz: ZoneInfo) -> str:
    """CAP dateTime: local time with a numeric offset, no fractions, never ``Z``."""
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    return t.astimezone(tz).replace(microsecond=0).isoformat()


def default_sender(home: HomeConfig) -> str:
    return f"dhome.{home.id}@dhome.local"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


EXERCISE_NOTE = "演练，非真实紧急情况 / Drill (exercise), not a real emergency"  # noqa: RUF001 - Chinese punctuation


def is_drill(payload: dict[str, Any]) -> bool:
    """A drill's message: the CloudEvent's ``drill`` attribute or its alert's ``drill`` field."""
    alert = payload.get("data", {}).get("alert")
    return bool(payload.get("drill") or (isinstance(alert, dict) and alert.get("drill")))


@dataclass(frozen=True)
class CapContext:
    home: HomeConfig
    sender: str


def render(entry: OutboxEntry, ctx: CapContext) -> bytes:
    """The CAP 1.2 XML document for one alert message (UTF-8 bytes with declaration)."""
    payload = entry.payload
    msg_type = payload.get("type", "")
    alert = payload.get("data", {}).get("alert")
    if msg_type not in MSG_TYPE or not isinstance(alert, dict):
        raise PermanentDeliveryError(f"CAP carries alert messages only, not {msg_type or 'this message'}")
    try:
        kind = AlertKind(alert["kind"])
    except (KeyError, ValueError):
        raise PermanentDeliveryError(f"alert message without a known kind: {alert.get('kind')!r}") from None
    tz = ZoneInfo(ctx.home.timezone)
    sub = entry.subscription
    cleared = msg_type == "org.dhi.v1.alert.cleared"

    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", entry.message_id)
    _sub(root, "sender", ctx.sender)
    _sub(root, "sent", cap_time(payload["time"], tz))
    drill = is_drill(payload)
    _sub(root, "status", "Exercise" if drill else "Actual")
    _sub(root, "msgType", MSG_TYPE[msg_type])
    _sub(root, "source", f"dhome://{ctx.home.id}")
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", RESTRICTION)
    if drill:
        _sub(root, "note", EXERCISE_NOTE)
    if msg_type != "org.dhi.v1.alert.raised":
        first = f"{alert['id']}.raised"
        _sub(root, "references", f"{ctx.sender},{first},{cap_time(alert['first_seen'], tz)}")
    _sub(root, "incidents", str(alert["id"]))
    for language in ("zh-CN", "en-US"):
        _info(
            root,
            language,
            kind,
            alert,
            cleared,
            drill=drill,
            sub_granted=lambda f: granted(sub, f),
            ctx=ctx,
            tz=tz,
        )
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)
    return document


def _info(
    root: ET.Element,
    language: str,
    kind: AlertKind,
    alert: dict[str, Any],
    cleared: bool,
    *,
    drill: bool,
    sub_granted: Any,
    ctx: CapContext,
    tz: ZoneInfo,
) -> None:
    info_row, cap_row = KIND_INFO[kind], CAP_KIND[kind]
    zh = language == "zh-CN"
    info = _sub(root, "info")
    _sub(info, "language", language)
    _sub(info, "category", cap_row.category)
    _sub(info, "event", info_row.name_zh if zh else info_row.name_en)
    if cleared:
        _sub(info, "responseType", "AllClear")
    _sub(info, "urgency", "Past" if cleared else str(alert.get("urgency", "Unknown")))
    _sub(info, "severity", str(alert.get("severity", "Unknown")))
    _sub(info, "certainty", cap_row.certainty)
    code = _sub(info, "eventCode")
    _sub(code, "valueName", EVENT_CODE_NAME)
    _sub(code, "value", kind.value)
    _sub(info, "onset", cap_time(alert["first_seen"], tz))
    summary = alert.get("summary_zh" if zh else "summary")
    room = alert.get("room")
    if summary is None:  # not granted: say what happened, not where
        summary = info_row.name_zh if zh else info_row.name_en
    if cleared:
        summary = f"已解除：{summary}" if zh else f"Cleared: {summary}"  # noqa: RUF001
    if drill:  # a person reading only the headline still sees it is an exercise
        summary = f"演练：{summary}" if zh else f"Drill: {summary}"  # noqa: RUF001
    _sub(info, "headline", summary)
    if room is not None:
        room_en, room_zh = where(room)
        _sub(info, "description", f"位置：{room_zh}" if zh else f"Location: {room_en}")  # noqa: RUF001
    for name, value in (
        ("state", alert.get("state")),
        ("room", room),
        ("devices", " ".join(alert["devices"]) if alert.get("devices") else None),
        ("count", alert.get("count")),
        ("escalation", alert.get("escalation")),
        ("acknowledged_by", alert.get("acknowledged_by")),
    ):
        if value is not None:
            param = _sub(info, "parameter")
            _sub(param, "valueName", name)
            _sub(param, "value", str(value))
    _area(info, ctx.home, sub_granted, zh)


def _area(info: ET.Element, home: HomeConfig, sub_granted: Any, zh: bool) -> None:
    address = home.address if home.address and sub_granted("address") else None
    area = _sub(info, "area")
    _sub(area, "areaDesc", address or ("住宅" if zh else "Residence"))
    if home.latitude is not None and home.longitude is not None and sub_granted("location"):
        _sub(area, "circle", f"{home.latitude},{home.longitude} 0")
    if home.division_code:
        geocode = _sub(area, "geocode")
        _sub(geocode, "valueName", GEOCODE_NAME)
        _sub(geocode, "value", home.division_code)


class CapValidator:
    """Optional run-time validation against the OASIS XSD (``alerts.cap.xsd``)."""

    def __init__(self, xsd: Path) -> None:
        import xmlschema

        self._schema = xmlschema.XMLSchema(str(xsd))

    def check(self, document: bytes) -> None:
        errors = list(self._schema.iter_errors(document.decode("utf-8")))
        if errors:
            raise PermanentDeliveryError(f"CAP message is not valid against the XSD: {errors[0].reason}")


class CapHttpBridge:
    """CAP posted to an HTTP endpoint (``application/cap+xml``), signed like webhooks when the
    subscription has a secret."""

    def __init__(
        self, ctx: CapContext, *, timeout: float = 10.0, validator: CapValidator | None = None
    ) -> None:
        self._ctx = ctx
        self._validator = validator
        self._webhook = WebhookBridge(timeout=timeout)

    def render(self, entry: OutboxEntry) -> bytes:
        document = render(entry, self._ctx)
        if self._validator is not None:
            self._validator.check(document)
        return document

    async def send(self, entry: OutboxEntry) -> None:
        document = self.render(entry)
        headers = signed_headers(entry, document.decode("utf-8")) if entry.secret else {}
        await post_signed(self._webhook.client(), entry, document, CONTENT_TYPE, headers)

    async def close(self) -> None:
        await self._webhook.close()


def check_alerts_only(request: SubscriptionRequest) -> None:
    non_alert = [
        m for m in request.message_types if m not in ALERT_TYPES and not m.startswith("org.dhi.v1.alert.")
    ]
    if non_alert:
        raise InvalidParams(f"CAP carries alerts only, not {', '.join(non_alert)}", field="message_types")


def cap_http_bridge(hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> CapHttpBridge:
    """The hub's one CAP renderer and HTTP sender (the CAP-over-MQTT bridge renders with it)."""
    bridge = shared.get("cap_http")
    if not isinstance(bridge, CapHttpBridge):
        home = hub.config.home
        validator = CapValidator(config.cap.xsd) if config.cap.xsd is not None else None
        bridge = CapHttpBridge(
            CapContext(home, config.cap.sender or default_sender(home)),
            timeout=config.outbox.timeout,
            validator=validator,
        )
        shared["cap_http"] = bridge
    return bridge


class CapHttpType:
    """``transport: cap_http`` (entry point ``dhome.bridges``): CAP 1.2 XML POSTed to a URL."""

    def check(self, request: SubscriptionRequest, config: AlertsConfig, *, has_secret: bool) -> None:
        check_http_endpoint(request)
        check_alerts_only(request)

    def build(self, hub: Hub, config: AlertsConfig, shared: dict[str, Any]) -> CapHttpBridge:
        return cap_http_bridge(hub, config, shared)
