"""Topic filters (property-tested against paho's matcher), broker settings, payload decoding."""

from __future__ import annotations

import contextlib

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.sdk.mqtt import BrokerSettings, PayloadError, decode_json, decode_json_object
from adapters.sdk.mqtt.topics import TopicError, matches, validate_filter, validate_topic

level = st.sampled_from(["a", "b", "$sys", "", "c d"])
topics = st.lists(level, min_size=1, max_size=5).map("/".join).filter(bool)
filters = st.lists(st.sampled_from(["a", "b", "+", "$sys", ""]), min_size=1, max_size=5).flatmap(
    lambda levels: st.sampled_from(["/".join(levels), "/".join([*levels, "#"]), "#"])
)


@given(filters, topics)
def test_matches_agrees_with_paho(pattern: str, topic: str) -> None:
    assert matches(pattern, topic) == paho.topic_matches_sub(pattern, topic)


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("a/#", "a", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("+/x", "$SYS/x", False),
        ("#", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
    ],
)
def test_matches_examples(pattern: str, topic: str, expected: bool) -> None:
    assert matches(pattern, topic) is expected


@pytest.mark.parametrize("bad", ["", "a/#/b", "a#", "a/b+", "x\x00"])
def test_invalid_filters_rejected(bad: str) -> None:
    with pytest.raises(TopicError):
        validate_filter(bad)


@pytest.mark.parametrize("bad", ["", "a/+", "a/#"])
def test_invalid_topics_rejected(bad: str) -> None:
    with pytest.raises(TopicError):
        validate_topic(bad)


def test_settings_parse_url_and_credentials() -> None:
    s = BrokerSettings(url="mqtts://u%40x:p%3Aw@broker.example")
    assert (s.host, s.port, s.tls) == ("broker.example", 8883, True)
    assert s.credentials() == ("u@x", "p:w")
    assert s.safe_url() == "mqtts://broker.example:8883"
    explicit = BrokerSettings.model_validate({"url": "mqtt://h:1999", "username": "a", "password": "s3cr3t"})
    assert explicit.credentials() == ("a", "s3cr3t") and explicit.port == 1999
    assert "s3cr3t" not in repr(explicit)  # the password is a SecretStr
    assert hash(explicit) == hash(BrokerSettings.model_validate(explicit.model_dump()))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "http://h"}, "scheme must be mqtt:// or mqtts://"),
        ({"url": "mqtt://"}, "needs a host"),
        ({"url": "mqtt://h:99999"}, "invalid port"),
        ({"url": "mqtt://h/x"}, "no path"),
        ({"url": "mqtt://h", "tls_ca": "/ca.pem"}, "need an mqtts:// url"),
        ({"url": "mqtts://h", "tls_key": "/k.pem"}, "tls_key needs tls_cert"),
        ({"protocol": "4"}, "protocol"),
        ({"keepalive": 1}, "keepalive"),
    ],
)
def test_settings_errors_are_precise(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BrokerSettings.model_validate(data)


def test_decode_json_reasons() -> None:
    assert decode_json(b'{"a": 1}') == {"a": 1}
    with pytest.raises(PayloadError, match=r"not UTF-8|not valid JSON"):
        decode_json(b"\xff\xfe")
    with pytest.raises(PayloadError, match="empty"):
        decode_json(b"  ")
    with pytest.raises(PayloadError, match="not valid JSON"):
        decode_json(b"NaN")
    with pytest.raises(PayloadError, match="must be a JSON object, got array"):
        decode_json_object(b"[1]")


@given(st.binary(max_size=200))
def test_decode_json_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        decode_json(data)
