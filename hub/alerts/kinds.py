"""What each alert kind is: default severity and urgency (CAP 1.2 scale), whether it latches,
and its name and summary in English and Simplified Chinese. One row per kind.

A *latching* alert stays until someone acknowledges it, even when the condition has already
gone away (as a fire panel keeps an alarm until it is reset): the staff must learn that it
happened. A non-latching alert clears by itself when the condition ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dhi.models.alert import AlertKind, Severity, Urgency


class Scope(StrEnum):
    """What one alert covers: repeats within the scope update it instead of raising another."""

    ROOM = "room"  # two smoke detectors in one kitchen are one fire
    DEVICE = "device"  # each offline or low-battery device needs its own fix
    HOME = "home"  # inactivity is about the resident, not a sensor


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


KINDS: tuple[KindInfo, ...] = (
    KindInfo(AlertKind.SMOKE, Severity.EXTREME, Urgency.IMMEDIATE, True, Scope.ROOM,
             "Smoke alarm", "烟雾报警", "Smoke detected in {where}", "{where}检测到烟雾"),
    KindInfo(AlertKind.HEAT, Severity.SEVERE, Urgency.IMMEDIATE, True, Scope.ROOM,
             "Heat alarm", "高温报警", "Abnormal heat in {where}", "{where}温度异常升高"),
    KindInfo(AlertKind.CO, Severity.EXTREME, Urgency.IMMEDIATE, True, Scope.ROOM,
             "Carbon monoxide alarm", "一氧化碳报警", "Carbon monoxide detected in {where}",
             "{where}检测到一氧化碳"),
    KindInfo(AlertKind.GAS_LEAK, Severity.EXTREME, Urgency.IMMEDIATE, True, Scope.ROOM,
             "Gas leak", "燃气泄漏", "Gas leak detected in {where}", "{where}检测到燃气泄漏"),
    KindInfo(AlertKind.WATER_LEAK, Severity.MODERATE, Urgency.EXPECTED, True, Scope.ROOM,
             "Water leak", "漏水", "Water leak detected in {where}", "{where}检测到漏水"),
    KindInfo(AlertKind.SOS, Severity.SEVERE, Urgency.IMMEDIATE, True, Scope.ROOM,
             "Emergency call", "紧急呼叫", "Emergency button pressed in {where}", "{where}按下了紧急呼叫按钮"),
    KindInfo(AlertKind.FALL, Severity.SEVERE, Urgency.IMMEDIATE, True, Scope.ROOM,
             "Fall detected", "跌倒", "A fall was detected in {where}", "{where}检测到有人跌倒"),
    KindInfo(AlertKind.INACTIVITY, Severity.SEVERE, Urgency.EXPECTED, True, Scope.HOME,
             "No activity", "长时间无活动", "No activity at home for {quiet}", "家中已{quiet}无活动"),
    KindInfo(AlertKind.NIGHT_ACTIVITY, Severity.MODERATE, Urgency.EXPECTED, True, Scope.HOME,
             "Abnormal night activity", "夜间异常活动", "Unusual activity at night in {where}",
             "{where}夜间活动异常"),
    KindInfo(AlertKind.DOOR_OPEN, Severity.MINOR, Urgency.EXPECTED, False, Scope.DEVICE,
             "Door left open", "门未关", "Door left open in {where}", "{where}的门长时间未关"),
    KindInfo(AlertKind.DEVICE_OFFLINE, Severity.MODERATE, Urgency.EXPECTED, False, Scope.DEVICE,
             "Safety device offline", "安全设备离线", "A safety device in {where} is offline",
             "{where}的安全设备已离线"),
    KindInfo(AlertKind.LOW_BATTERY, Severity.MINOR, Urgency.FUTURE, False, Scope.DEVICE,
             "Low battery on a safety device", "安全设备电量低", "A safety device in {where} needs a new battery",
             "{where}的安全设备电量低、需要更换电池"),
    KindInfo(AlertKind.TAMPER, Severity.MODERATE, Urgency.EXPECTED, True, Scope.DEVICE,
             "Tampering", "设备被拆动", "A safety device in {where} was tampered with", "{where}的安全设备被拆动"),
)  # fmt: skip

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
