"""Names on the broker: MQTT discovery topics, state and command topics, HA unique ids.

Every unique id starts with ``dhome:`` and every device identifier is ``dhome:<home>:<device>``:
the Home Assistant → dhome adapter skips entities so marked (loop safety, decision 48).
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MARK = "dhome:"


def node_id(device_id: str) -> str:
    """A topic-safe, stable node id for a device id (``virtual:kitchen-light`` →
    ``virtual_kitchen-light_1a2b3c``; the hash keeps two ids that slug alike apart)."""
    digest = hashlib.sha1(device_id.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"{_UNSAFE.sub('_', device_id).strip('_')[:80]}_{digest}"


def object_id(key: str) -> str:
    return _UNSAFE.sub("_", key)


def unique_id(home: str, device_id: str, key: str) -> str:
    return f"{MARK}{home}:{device_id}:{key}"


def device_identifier(home: str, device_id: str) -> str:
    return f"{MARK}{home}:{device_id}"


def hub_identifier(home: str) -> str:
    return f"{MARK}{home}"


def discovery_topic(prefix: str, domain: str, node: str, obj: str) -> str:
    return f"{prefix}/{domain}/{node}/{obj}/config"
