"""What each alert kind is, as the hub uses it: its names, summary, severity and urgency come
from the interface (spec/interface/alerts.yaml); whether it latches and what one alert covers
are the hub's own (its rule module in ``hub/alerts/rules``).

A *latching* alert stays until someone acknowledges it, even when the condition has already
gone away (as a fire panel keeps an alarm until it is reset): the staff must learn that it
happened. A non-latching alert clears by itself when the condition ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from dhi.alertkinds import default_alert_kinds
from dhi.models.alert import AlertKind, Severity, Urgency
from dhi.models.alertkinds import AlertKindDef
from hub.alerts.rule import Scope
from hub.alerts.rules import rules


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: AlertKind
    severity: Severity
    urgency: Urgency
    latching: bool
    scope: Scope
    name_en: str
    name_zh: str
    #: ``{where}`` is the room (or "home" / "家中")
    summary_en: str
    summary_zh: str


def _info(kind: AlertKind, definition: AlertKindDef) -> KindInfo:
    detection = rules()[kind]
    return KindInfo(
        kind,
        definition.cap.severity,
        definition.cap.urgency,
        detection.latching,
        detection.scope,
        definition.label.en,
        definition.label.zh_cn,
        definition.summary.en,
        definition.summary.zh_cn,
    )


KINDS: tuple[KindInfo, ...] = tuple(_info(AlertKind(k.id), k) for k in default_alert_kinds().values())

KIND_INFO: dict[AlertKind, KindInfo] = {row.kind: row for row in KINDS}

#: Room ids as homes usually name them, for readable summaries (unknown ids are shown as is).
ROOM_NAMES: dict[str, tuple[str, str]] = {
    "kitchen": ("the kitchen", "厨房"),
    "living_room": ("the living room", "客厅"),
    "bedroom": ("the bedroom", "卧室"),
    "master_bedroom": ("the master bedroom", "主卧"),
    "bathroom": ("the bathroom", "卫生间"),
    "toilet": ("the toilet", "卫生间"),
    "entrance": ("the entrance", "玄关"),
    "hall": ("the hall", "门厅"),
    "hallway": ("the hallway", "走廊"),
    "corridor": ("the corridor", "走廊"),
    "dining_room": ("the dining room", "餐厅"),
    "study": ("the study", "书房"),
    "balcony": ("the balcony", "阳台"),
    "garage": ("the garage", "车库"),
    "utility": ("the utility room", "储物间"),
}


def where(room: str | None) -> tuple[str, str]:
    """(English, Chinese) name of a room for a summary; no room means the home itself."""
    if room is None:
        return ("the home", "家中")
    return ROOM_NAMES.get(room, (room.replace("_", " "), room))
