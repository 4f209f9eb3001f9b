"""``/settings``: the home's name, address, division code and the alert thresholds a resident
understands, edited live.

The config file gives the starting values; a saved ``HomeSettings`` (SQLite ``meta`` row
``settings``, JSON) overrides them from then on, at every start (``restore``). A save changes
``hub.config.home`` in place — CAP rendering holds that very object — and hands the alert
engine its new rules, and is written to the audit log with the token that made it.
"""

from __future__ import annotations

import logging
import math
from datetime import time, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from hub import meta
from hub.alerts.config import InactivityWindow, RulesConfig
from hub.alerts.engine import AlertEngine
from hub.api.context import PRINCIPAL, api
from hub.api.http import json_response, read_model
from hub.api.models import ContactSetting, HomeSettings, InactivityWindowSetting

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

META_KEY = "settings"
#: the audit action of a save (``hub.consent.audit.AuditAction`` covers sharing only)
AUDIT_ACTION = "settings.updated"


def _hm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _parse_hm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _minutes(d: timedelta) -> int:
    # a config value of 90 s shows as 2 min: never a shorter limit than the one in force
    return max(1, math.ceil(d.total_seconds() / 60))


def _engines(hub: Hub) -> list[AlertEngine]:
    return [svc for svc in hub.services if isinstance(svc, AlertEngine)]


def _rules(hub: Hub) -> RulesConfig:
    """The rules in force: the running engine's, else the config's."""
    engines = _engines(hub)
    return engines[0].config.rules if engines else hub.config.alerts.rules


def current(hub: Hub) -> HomeSettings:
    home, rules = hub.config.home, _rules(hub)
    return HomeSettings(
        name=home.name,
        address=home.address or None,
        division_code=home.division_code,
        inactivity_windows=[
            InactivityWindowSetting(
                start=_hm(w.start), end=_hm(w.end), max_quiet_minutes=_minutes(w.max_quiet)
            )
            for w in rules.inactivity.windows
        ],
        door_open_minutes=_minutes(rules.door_open.max_open),
        night_start=_hm(rules.night_activity.start),
        night_end=_hm(rules.night_activity.end),
        contacts=[ContactSetting.model_validate(c) for c in home.contacts],
        room_names=dict(home.room_names),
    )


def merged_rules(rules: RulesConfig, settings: HomeSettings) -> RulesConfig:
    """``rules`` with the thresholds of ``settings``; everything else (rooms, severities) kept."""
    windows = [
        InactivityWindow(
            start=_parse_hm(w.start), end=_parse_hm(w.end), max_quiet=timedelta(minutes=w.max_quiet_minutes)
        )
        for w in settings.inactivity_windows
    ]
    return rules.model_copy(
        update={
            "inactivity": rules.inactivity.model_copy(update={"windows": windows}),
            "door_open": rules.door_open.model_copy(
                update={"max_open": timedelta(minutes=settings.door_open_minutes)}
            ),
            "night_activity": rules.night_activity.model_copy(
                update={"start": _parse_hm(settings.night_start), "end": _parse_hm(settings.night_end)}
            ),
        }
    )


def apply(hub: Hub, settings: HomeSettings) -> None:
    """Make ``settings`` the hub's, live."""
    home = hub.config.home
    # in place: the CAP bridge and others keep a reference to this object
    home.name = settings.name
    home.address = settings.address
    home.division_code = settings.division_code
    home.contacts = [c.model_dump() for c in settings.contacts]
    home.room_names = dict(settings.room_names)
    rules = merged_rules(_rules(hub), settings)
    hub.config.alerts.rules = rules
    for engine in _engines(hub):
        engine.replace_rules(rules)


async def stored(hub: Hub) -> HomeSettings | None:
    document = await meta.read(hub.storage, META_KEY)
    if document is None:
        return None
    try:
        return HomeSettings.model_validate_json(document)
    except ValidationError as exc:
        # a row from a newer or broken dhome must not stop the hub: the config file still holds
        log.warning("stored settings ignored (the config file's values apply): %s", exc)
        return None


async def restore(hub: Hub) -> None:
    """Apply the saved settings over the config file's (at start-up)."""
    saved = await stored(hub)
    if saved is not None:
        apply(hub, saved)
        log.info("settings restored from the database")


def _changes(old: HomeSettings, new: HomeSettings) -> dict[str, Any]:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return {key: {"from": before[key], "to": value} for key, value in after.items() if before[key] != value}


async def get_settings(request: web.Request) -> web.Response:
    return json_response(current(api(request).hub))


async def put_settings(request: web.Request) -> web.Response:
    """Replace the settings (the whole document); saved and audited before they take effect."""
    body = await read_model(request, HomeSettings)
    hub = api(request).hub
    detail = {"changes": _changes(current(hub), body)}
    document = orjson.dumps(body.model_dump(mode="json")).decode()
    await meta.write_audited(
        hub.storage,
        META_KEY,
        document,
        time=hub.clock.now(),
        actor=request[PRINCIPAL].actor,
        action=AUDIT_ACTION,
        detail=detail,
    )
    apply(hub, body)
    return json_response(current(hub))
