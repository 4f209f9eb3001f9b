"""The resident's consent as a home states it, on either link: the acknowledgement poll's
``consent`` (intake.py) and the MQTT uplink's consent notice (uplink.py, spec §9.4). Both are
read here and followed by one store function, ``Store.follow_consent``."""

from __future__ import annotations

from typing import Any

#: the uplink topic of a consent notice, after ``<prefix>/<home>/``
NOTICE_TOPIC = "events/consent/changed"
NOTICE_TYPE = "org.dhi.v1.consent.changed"


def parse_consent(value: object) -> dict[str, Any] | None:
    """``null`` (withdrawn) or ``{"alert_kinds": [ids], "fields": [names] | null, "expires": time | null}``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("consent: expected null (withdrawn) or {alert_kinds, fields, expires}")
    kinds, fields, expires = value.get("alert_kinds", []), value.get("fields"), value.get("expires")
    if not isinstance(kinds, list) or not all(isinstance(k, str) and len(k) <= 40 for k in kinds):
        raise ValueError("consent.alert_kinds: expected a list of alert kind ids")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise ValueError("consent.fields: expected a list of field names or null")
    if expires is not None and not isinstance(expires, str):
        raise ValueError("consent.expires: expected an RFC 3339 time or null")
    return {"alert_kinds": kinds, "fields": fields, "expires": expires}


def parse_notice(event: dict[str, Any]) -> dict[str, Any] | None:
    """The consent of an uplink consent notice (a CloudEvent of type ``org.dhi.v1.consent.changed``
    whose data is ``{"subscription": id, "consent": … | null}``); ValueError naming what is wrong."""
    if event.get("type") != NOTICE_TYPE:
        raise ValueError(f"type: expected {NOTICE_TYPE!r} on {NOTICE_TOPIC}, got {event.get('type')!r}")
    data = event.get("data")
    if not isinstance(data, dict) or "consent" not in data:
        raise ValueError("data.consent: expected the resident's consent (null: withdrawn)")
    try:
        return parse_consent(data["consent"])
    except ValueError as exc:
        raise ValueError(f"data.{exc}") from None
