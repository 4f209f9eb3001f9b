"""The QoS 0 PUBLISH reader (``_Client.take_publishes``) on hand-made MQTT byte streams:
it takes exactly the complete QoS 0 PUBLISH packets at the head of the buffer, in order,
and leaves everything from the first other packet (or an incomplete one) to paho."""

from __future__ import annotations

import paho.mqtt.client as paho
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from adapters.sdk.mqtt.connection import _Client


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(
    topic: bytes, payload: bytes, *, qos: int = 0, retain: bool = False, props: bytes | None = None
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += (7).to_bytes(2, "big")  # packet id
    if props is not None:
        body += varint(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1 | int(retain)]) + varint(len(body)) + body


def client(data: bytes, v5: bool) -> _Client:
    c = _Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5 if v5 else paho.MQTTv311)
    c._rbuf, c._rpos = data, 0
    return c


messages = st.lists(
    st.tuples(
        st.binary(min_size=1, max_size=40).filter(lambda t: b"\0" not in t),
        st.binary(max_size=300),
        st.sampled_from([0, 0, 0, 1]),  # QoS 1 ends the fast run
        st.booleans(),
        st.lists(st.integers(1, 268_435_455), max_size=2),  # subscription identifiers (v5)
    ),
    max_size=12,
)


@given(messages, st.booleans(), st.integers(0, 20), st.integers(1, 20))
def test_takes_the_complete_qos0_run(msgs: list, v5: bool, cut: int, limit: int) -> None:
    packets = []
    for topic, payload, qos, retain, ids in msgs:
        props = b"".join(b"\x0b" + varint(i) for i in ids) if v5 else None
        packets.append(publish(topic, payload, qos=qos, retain=retain, props=props))
    stream = b"".join(packets)
    stream = stream[: len(stream) - cut] if cut < len(stream) else stream  # last may be incomplete
    c = client(stream, v5)
    taken = c.take_publishes(v5, limit)
    expected, offset = [], 0
    for packet, (topic, payload, qos, retain, ids) in zip(packets, msgs, strict=True):
        if qos or offset + len(packet) > len(stream) or len(expected) == limit:
            break
        expected.append((topic, payload, retain, ids if v5 else []))
        offset += len(packet)
    assert [(p.topic, p.payload, p.retain, p.sub_ids) for p in taken] == expected
    assert c._rpos == offset  # the rest is paho's, untouched


def test_other_v5_properties_are_left_to_paho() -> None:
    user_property = b"\x26" + (1).to_bytes(2, "big") + b"k" + (1).to_bytes(2, "big") + b"v"
    stream = (
        publish(b"a", b"1", props=b"")
        + publish(b"b", b"2", props=user_property)
        + publish(b"c", b"3", props=b"")
    )
    c = client(stream, v5=True)
    assert [p.topic for p in c.take_publishes(True, 10)] == [b"a"]
    assert c._rbuf[c._rpos :] == stream[len(publish(b"a", b"1", props=b"")) :]


def test_nothing_is_taken_while_paho_is_inside_a_packet() -> None:
    c = client(publish(b"t", b"x"), v5=False)
    c._in_packet["command"] = 0x30
    assert c.take_publishes(False, 10) == []
    assert c._rpos == 0


def test_other_packet_types_stop_the_run() -> None:
    pingresp = b"\xd0\x00"
    stream = publish(b"a", b"1") + pingresp + publish(b"b", b"2")
    c = client(stream, v5=False)
    assert [p.topic for p in c.take_publishes(False, 10)] == [b"a"]
    assert c._rbuf[c._rpos :] == pingresp + publish(b"b", b"2")


def test_paho_state_the_reader_relies_on_is_there() -> None:
    """The reader consults paho's packet state and keeps its keepalive clock: a paho release
    that renames either must fail here, not silently break keepalive."""
    c = client(publish(b"t", b"x"), v5=False)
    assert c._in_packet["command"] == 0
    before = c._last_bytes_received
    assert [p.topic for p in c.take_publishes(False, 1)] == [b"t"]
    assert c._last_bytes_received >= before
    c._check_keepalive()  # reads the same attribute (no socket: returns without sending)
