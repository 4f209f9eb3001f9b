"""MQTT topic names and filters (MQTT 3.1.1 §4.7 / MQTT 5 §4.7)."""

from __future__ import annotations


class TopicError(ValueError):
    """A topic name or filter breaks the MQTT rules."""


def validate_filter(pattern: str) -> str:
    """Return ``pattern`` if it is a valid filter: ``#`` only as the whole last level,
    ``+`` only as a whole level, no NUL, 1..65535 bytes."""
    _check_common(pattern, "topic filter")
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise TopicError(f"topic filter {pattern!r}: '#' must be a whole level and the last one")
        if "+" in level and level != "+":
            raise TopicError(f"topic filter {pattern!r}: '+' must be a whole level")
    return pattern


def validate_topic(topic: str) -> str:
    """Return ``topic`` if it is a valid topic name (no wildcards) to publish to."""
    _check_common(topic, "topic")
    if "+" in topic or "#" in topic:
        raise TopicError(f"topic {topic!r}: wildcards are not allowed in a topic name")
    return topic


def _check_common(value: str, what: str) -> None:
    if not value:
        raise TopicError(f"{what} must not be empty")
    if "\x00" in value:
        raise TopicError(f"{what} {value!r} contains NUL")
    if len(value.encode("utf-8")) > 65535:
        raise TopicError(f"{what} is longer than 65535 bytes")


def matches(pattern: str, topic: str) -> bool:
    """True if ``topic`` matches the filter ``pattern``.

    Wildcards at the first level do not match topics starting with ``$`` (MQTT §4.7.2),
    and ``a/#`` also matches ``a`` itself.
    """
    if topic.startswith("$") and pattern[:1] in ("+", "#"):
        return False
    p_levels = pattern.split("/")
    t_levels = topic.split("/")
    for i, p in enumerate(p_levels):
        if p == "#":
            return True
        if i >= len(t_levels):
            return False
        if p != "+" and p != t_levels[i]:
            return False
    return len(p_levels) == len(t_levels)


def is_safe_segment(segment: str) -> bool:
    """True if ``segment`` can be one topic level (no ``/``, wildcards, NUL, not empty)."""
    return bool(segment) and not any(c in segment for c in "/+#\x00")
