"""The city set-up's settings and names, without servers: the uplink's failover list and
defaults, the platform's NATS settings, and the mapping between MQTT topics and the subjects of
nats-server's ``$MQTT_msgs`` stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.sdk.mqtt.settings import BrokerSettings, Protocol
from community.config import ConfigError, load
from community.jetstream import alert_filter, topic_of
from hub.alerts.config import UplinkBroker
from hub.bridges.mqtt_uplink import split_endpoint, uplink_client_id


def test_failover_servers_come_after_url_in_order() -> None:
    s = BrokerSettings(url="mqtt://a:1884", failover=("mqtt://b", "mqtt://c:1999"))
    assert s.endpoints() == [("a", 1884), ("b", 1883), ("c", 1999)]


@pytest.mark.parametrize(
    ("failover", "says"),
    [
        (("mqtts://b",), "scheme of url"),
        (("mqtt://user:pw@b",), "credentials"),
        (("http://b",), "mqtt:// or mqtts://"),
        (("mqtt://b/prefix",), "no path"),
    ],
)
def test_a_bad_failover_url_is_refused_naming_it(failover: tuple[str, ...], says: str) -> None:
    with pytest.raises(ValidationError, match=says) as err:
        BrokerSettings(url="mqtt://a", failover=failover)
    assert "failover" in str(err.value) or says == "scheme of url"


def test_the_uplink_speaks_311_with_a_persistent_session_by_default() -> None:
    s = UplinkBroker(url="mqtt://a")
    assert s.protocol is Protocol.MQTT311 and s.session_expiry == 86400
    assert BrokerSettings().protocol is Protocol.MQTT5  # device brokers keep their default


def test_an_endpoint_url_uses_its_own_server_not_the_default_cluster() -> None:
    default = UplinkBroker(url="mqtt://n1", failover=("mqtt://n2", "mqtt://n3"), client_id="x")
    own, prefix = split_endpoint("mqtt://other:1999/city/v1", default)
    assert own.endpoints() == [("other", 1999)] and own.client_id is None and prefix == "city/v1"
    assert isinstance(own, UplinkBroker)
    same, prefix = split_endpoint("dhi/v1", default)
    assert same is default and prefix == "dhi/v1"


def test_the_uplink_client_id_is_stable_per_home_and_broker() -> None:
    a = UplinkBroker(url="mqtt://n1", failover=("mqtt://n2",))
    assert uplink_client_id("flat-1", a) == uplink_client_id("flat-1", a.model_copy())
    assert uplink_client_id("flat-1", a) != uplink_client_id("flat-2", a)
    assert uplink_client_id("flat-1", a) != uplink_client_id("flat-1", UplinkBroker(url="mqtt://n9"))


def test_nats_settings_name_the_bad_field(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(ConfigError, match=r"nats\.servers\.0"):
        load(None, {"nats": {"servers": ["http://n1:4222"], "mqtt": ["mqtt://n1"]}})
    with pytest.raises(ConfigError, match=r"nats\.mqtt"):
        load(None, {"nats": {"servers": ["nats://n1:4222"], "mqtt": []}})
    ok = load(None, {"nats": {"servers": ["nats://n1:4222", "tls://n2"], "mqtt": ["mqtt://n1:1883"]}})
    assert ok.nats is not None and ok.nats.durable == "dhi-platform" and ok.nats.ack_wait == 30


token = st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,20}", fullmatch=True)


@given(home=token, kind=token)
def test_a_topic_survives_the_round_trip_through_the_stream_subject(home: str, kind: str) -> None:
    topic = f"dhi/v1/{home}/alerts/{kind}"
    subject = "$MQTT.msgs." + topic.replace("/", ".")  # what nats-server stores (MQTT / is NATS .)
    assert topic_of(subject) == topic
    assert alert_filter("dhi/v1") == "$MQTT.msgs.dhi.v1.*.alerts.>"
