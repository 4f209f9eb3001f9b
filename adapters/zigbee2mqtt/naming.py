"""Zigbee2MQTT names -> DHI identifiers (component ids, vendor capability and property names)."""

from __future__ import annotations

import re

_NON_ID = re.compile(r"[^a-z0-9_]+")
_MAX = 64


def slug(text: str) -> str:
    """Lower-case ``[a-z0-9_]`` form of a vendor name; never empty."""
    out = _NON_ID.sub("_", text.strip().lower()).strip("_")
    out = re.sub(r"_+", "_", out)
    return out or "feature"


def member_name(text: str) -> str:
    """A property/event name: ``^[a-z][a-z0-9_]*$``, at most 64 characters."""
    out = slug(text)
    if not out[0].isalpha():
        out = "p_" + out
    return out[:_MAX].rstrip("_")


def component_id(endpoint: str | None) -> str:
    """``main`` for exposes without an endpoint, else the endpoint name (``l1``, ``left``)."""
    if endpoint is None or not endpoint.strip():
        return "main"
    out = slug(endpoint)
    if not out[0].isalpha() or out == "main":
        out = "ep_" + out
    return out[:_MAX].rstrip("_")


def vendor_capability(vendor: str, name: str) -> str:
    """``x.<vendor>.<name>`` (the catalog's vendor id pattern)."""
    return f"x.{slug(vendor).replace('_', '-')}.{slug(name)[:100]}"


def clean_text(text: str | None, limit: int = 200) -> str | None:
    """Printable text for descriptions (firmware ids sometimes carry NUL padding)."""
    if text is None:
        return None
    out = "".join(ch for ch in text if ch.isprintable()).strip()
    return out[:limit] or None
