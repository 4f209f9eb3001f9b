"""The bridge reads each device's state through a plan made once per mapping (issue 23): a
step per binding with plain attributes. Checked here against the generic reading of the
mapping's bindings it replaced (kept below as the oracle), on random state objects for every
device of the recorded Zigbee2MQTT network: the same reports, the same values, the same
count of refused vendor values."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sdk.convert import ConversionError
from adapters.zigbee2mqtt.bridge import Bridge
from adapters.zigbee2mqtt.mapping import DeviceMap
from dhi.catalog import check_value
from dhi.errors import HubError
from tests.adapters.zigbee2mqtt.support import load_devices
from tests.support.recording import RecordingContext

_MISSING = object()

_CTX = RecordingContext(adapter="zigbee2mqtt")
_BRIDGE = Bridge(_CTX)
_BRIDGE.handle("bridge/state", b"online")
_BRIDGE.handle("bridge/devices", json.dumps(load_devices()).encode(), retain=True)
_KNOWN = {k.entry.friendly_name: k for k in _BRIDGE.devices.values() if k.published is not None}
NAMES = sorted(_KNOWN)
#: every top-level key some device's bindings read, and a few no device has
KEYS = sorted({b.path[0] for k in _KNOWN.values() for b in k.mapped.bindings} | {"nonsense", "x"})

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "ON", "OFF", "open", "closed", "single", "true", "auto"]),
    st.text(max_size=6),
    st.dictionaries(st.sampled_from(["x", "y", "hue", "saturation", "l1"]), st.integers(0, 300), max_size=2),
)


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def generic(mapped: DeviceMap, data: dict[str, Any]) -> tuple[list[tuple[str, str, dict[str, Any]]], int]:
    """The reports and refusals the generic reading of the bindings gives (the oracle)."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    refused = 0
    for b in mapped.bindings:
        if b.prop is None:
            continue
        raw = _dig(data, b.path)
        if raw is _MISSING:
            continue
        if raw is None or (raw == "" and b.expose.type in ("enum", "numeric", "binary")):
            if raw is None and b.prop.nullable:
                grouped.setdefault((b.component, b.capability), {})[b.member] = None
            continue
        try:
            value = b.convert.to_hub(raw)
            if not b.accepts(value):
                check_value(b.prop, value, b.member, b.constraint)
        except (ConversionError, HubError):
            refused += 1
            continue
        grouped.setdefault((b.component, b.capability), {})[b.member] = value
    return [(comp, cap, props) for (comp, cap), props in grouped.items()], refused


@settings(max_examples=250, deadline=None)
@given(name=st.sampled_from(NAMES), data=st.dictionaries(st.sampled_from(KEYS), values, max_size=8))
def test_the_plan_reads_what_the_bindings_say(name: str, data: dict[str, Any]) -> None:
    known = _KNOWN[name]
    _CTX.states.clear()
    _CTX.invalid.clear()
    _BRIDGE.handle(name, json.dumps(data).encode(), retain=True)  # retained: no events
    got = [(r.component, r.capability, r.properties) for r in _CTX.states]
    assert (got, len(_CTX.invalid)) == generic(known.mapped, json.loads(json.dumps(data)))
