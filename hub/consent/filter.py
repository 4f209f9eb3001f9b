"""The consent filter (pure functions): does a message fall under a subscription, does the
resident's consent allow sharing it now, and which of its fields may leave the home.

Field grants name the alert's fields for alert messages (``room``, ``devices``, ``summary`` …)
and the ``data`` fields for other messages (``device``, ``capability``, ``value`` …). What a
receiver needs to act on an alert at all — its id, kind, severity, urgency, state and times —
is always sent; everything else only when granted. ``address`` and ``location`` grant the
home's postal address and coordinates in CAP ``<area>`` (the division code is always sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from dhi.models.alert import Alert
from dhi.models.envelope import MESSAGE_CLASSES, MessageType
from dhi.models.subscription import Consent, Subscription

ALERT_TYPES = frozenset({MessageType.ALERT_RAISED, MessageType.ALERT_UPDATED, MessageType.ALERT_CLEARED})
#: CloudEvents attributes every shared message keeps (``seq`` is a hub-local cursor: dropped;
#: ``drill`` always goes along, so a receiver can tell an exercise from an emergency).
ENVELOPE_KEEP = ("specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "drill")
ALERT_CORE = frozenset({"id", "kind", "severity", "urgency", "state", "first_seen", "last_seen", "drill"})
AREA_FIELDS = frozenset({"address", "location"})


def _data_fields() -> frozenset[str]:
    names: set[str] = set()
    for cls in MESSAGE_CLASSES.values():
        data_model = cls.model_fields["data"].annotation
        names.update(getattr(data_model, "model_fields", {}))
    return frozenset(names - {"alert"})


KNOWN_FIELDS: frozenset[str] = frozenset(Alert.model_fields) | _data_fields() | AREA_FIELDS


class Verdict(StrEnum):
    SHARE = "share"
    REFUSE = "refuse"
    IGNORE = "ignore"  # not what this subscription is about: nothing to record


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    payload: dict[str, Any] | None = None


def unknown_fields(fields: list[str] | None) -> list[str]:
    return sorted(set(fields or ()) - KNOWN_FIELDS)


def _type_matches(patterns: list[str], msg_type: str) -> bool:
    return any(p == msg_type or (p.endswith("*") and msg_type.startswith(p[:-1])) for p in patterns)


def in_scope(sub: Subscription, message: dict[str, Any]) -> bool:
    """A message (CloudEvent JSON) is in scope when its type is subscribed, or it is an alert
    message of a subscribed kind. ``alert_kinds`` narrows alert types given in ``message_types``."""
    msg_type = message.get("type", "")
    is_alert = msg_type in ALERT_TYPES
    alert = message.get("data", {}).get("alert", {}) if is_alert else {}
    kind = alert.get("kind")
    if is_alert and alert.get("escalation", 0) < sub.from_escalation:
        return False  # a later link of the chain: only once nobody earlier has answered
    if sub.devices is not None and not _about(sub.devices, message, alert):
        return False
    return _wanted(sub, msg_type, is_alert, kind)


def _about(devices: list[str], message: dict[str, Any], alert: dict[str, Any]) -> bool:
    """Is the message about one of the shared devices? (alerts name theirs; other messages
    carry the device in ``data.device`` or as the subject)"""
    if alert:
        return not set(devices).isdisjoint(alert.get("devices") or ())
    data = message.get("data", {})
    device = data.get("device") if isinstance(data, dict) else None
    if isinstance(device, dict):  # device.added / device.updated carry the description
        device = device.get("id")
    return (device or message.get("subject")) in devices


def _wanted(sub: Subscription, msg_type: str, is_alert: bool, kind: Any) -> bool:
    if _type_matches(sub.message_types, msg_type):
        return not (is_alert and sub.alert_kinds and kind not in sub.alert_kinds)
    return is_alert and kind in sub.alert_kinds


def consent_problem(consent: Consent | None, now: datetime) -> str | None:
    """Why sharing is not allowed at ``now`` (None: it is)."""
    if consent is None:
        return "no consent from the resident"
    if consent.withdrawn_at is not None and consent.withdrawn_at <= now:
        return f"consent withdrawn at {consent.withdrawn_at.isoformat()}"
    if consent.granted_at > now:
        return f"consent only starts at {consent.granted_at.isoformat()}"
    if consent.expires is not None and consent.expires <= now:
        return f"consent expired at {consent.expires.isoformat()}"
    return None


def project(message: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """The message as the receiver may see it."""
    if fields is None:
        return {k: v for k, v in message.items() if k != "seq"}
    granted = {f.removeprefix("alert.") for f in fields}
    out = {k: message[k] for k in ENVELOPE_KEEP if k in message}
    data = message.get("data", {})
    if message.get("type") in ALERT_TYPES:
        alert = data.get("alert", {})
        out["subject"] = message.get("subject")
        out["data"] = {"alert": {k: v for k, v in alert.items() if k in ALERT_CORE or k in granted}}
        out["source"] = _home_source(message.get("source", ""))
    else:
        out["data"] = {k: v for k, v in data.items() if k in granted}
        if "device" in granted:
            out["subject"] = message.get("subject")
        else:
            out["source"] = _home_source(message.get("source", ""))
    return {k: v for k, v in out.items() if v is not None}


def _home_source(source: str) -> str:
    """``dhome://<home>/<device>`` → ``dhome://<home>``: the device is not part of the grant."""
    rest = source.removeprefix("dhome://")
    return "dhome://" + rest.split("/", 1)[0]


def sharing_problem(sub: Subscription, now: datetime) -> str | None:
    """Why nothing may go to this receiver at ``now``: consent, or the receiver gone (410)."""
    if sub.disabled is not None:
        return f"receiver disabled at {sub.disabled.at.isoformat()}: {sub.disabled.reason}"
    return consent_problem(sub.consent, now)


def decide(sub: Subscription, message: dict[str, Any], now: datetime) -> Decision:
    if not in_scope(sub, message):
        return Decision(Verdict.IGNORE)
    problem = sharing_problem(sub, now)
    if problem is not None:
        return Decision(Verdict.REFUSE, problem)
    return Decision(Verdict.SHARE, payload=project(message, sub.fields))


def recheck(sub: Subscription, payload: dict[str, Any], now: datetime) -> Decision:
    """A queued, undelivered message against the subscription as it is *now* (after a PUT):
    refused when consent no longer allows sharing, withheld when its type or kind is no longer
    subscribed, else the payload with only the fields still granted. The escalation level was
    checked when it was queued (and may not be among the granted fields). A disabled receiver
    keeps its queue: the resident's confirmation resumes it."""
    problem = consent_problem(sub.consent, now)
    if problem is not None:
        return Decision(Verdict.REFUSE, problem)
    msg_type = payload.get("type", "")
    is_alert = msg_type in ALERT_TYPES
    kind = payload.get("data", {}).get("alert", {}).get("kind") if is_alert else None
    if not _wanted(sub, msg_type, is_alert, kind):
        what = f"alert kind {kind}" if is_alert else f"message type {msg_type}"
        return Decision(Verdict.IGNORE, f"{what} is no longer consented")
    return Decision(Verdict.SHARE, payload=project(payload, sub.fields))


def granted(sub: Subscription, name: str) -> bool:
    return sub.fields is None or name in sub.fields
