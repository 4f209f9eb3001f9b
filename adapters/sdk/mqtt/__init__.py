"""The MQTT connection layer shared by dhome's MQTT adapters (DHI-MQTT, Zigbee2MQTT,
Tasmota, Shelly, Homie). Built on paho-mqtt 2.x, driven by the asyncio loop (no thread).

Public API (stable; everything else in this package is internal)::

    from adapters.sdk.mqtt import BrokerSettings, MqttMessage, shared_connection

    class MyConfig(BaseModel):
        broker: BrokerSettings = BrokerSettings()        # url mqtt://host:port or mqtts://…
        base_topic: str = "zigbee2mqtt"

    async with shared_connection(cfg.broker, logger=ctx.logger) as conn:   # or MqttConnection(...)
        unsubscribe = await conn.subscribe("zigbee2mqtt/+/availability", on_message)
        await conn.publish("zigbee2mqtt/lamp/set", b'{"state":"ON"}')   # QoS 1: waits for PUBACK
        conn.on_connection_change(lambda up: ...)                     # True after each (re)connect
        unsubscribe()

``BrokerSettings`` (pydantic, frozen): ``url``, ``username``, ``password`` (SecretStr),
``client_id`` (default ``dhome-<random>``), ``protocol`` (``"5"`` default or ``"3.1.1"``),
``keepalive``, ``tls_ca``/``tls_cert``/``tls_key``/``tls_insecure`` (with ``mqtts://``),
``connect_timeout``, ``reconnect_min_delay``/``reconnect_max_delay``, ``publish_timeout``,
``max_queued``.

``MqttConnection`` (async context manager; ``open()``/``close()`` for start/stop shells):

* ``await subscribe(pattern, callback, qos=1) -> Unsubscribe`` — ``+``/``#`` filters; the
  callback gets an ``MqttMessage(topic, payload: bytes, qos, retain)``; it may be sync or a
  coroutine function (run as a task); its exceptions are logged, never propagated. Returns
  once the broker sent SUBACK (raises ``MqttSubscribeError`` if refused). The returned
  function removes this callback (UNSUBSCRIBE when it was the filter's last one).
* ``await subscribe_batch(pattern, callback, qos=1) -> Unsubscribe`` — the same, but the
  (synchronous) callback gets a ``list[MqttMessage]``: every matching message of one socket
  read, in arrival order (lists of one for messages paho reads: QoS 1/2 and what follows
  another packet type). For handlers that decode, map and store a whole read in one pass.
* ``await publish(topic, payload, qos=1, retain=False, timeout=None)`` — QoS 1/2 wait for the
  broker's acknowledgement (``MqttTimeout`` after ``publish_timeout``); while disconnected they
  are queued and sent on reconnect; QoS 0 while disconnected raises ``MqttPublishError``.
* ``connected``, ``await wait_connected(timeout)``, ``on_connection_change(listener)``,
  ``closed``, ``client_id``, ``connects`` (number of successful CONNACKs).

Behaviour: ``open()`` retries until ``connect_timeout`` and raises ``MqttConnectError``
(``MqttRefused`` at once for bad credentials / not authorized). Once up, a lost connection
is re-established forever with exponential backoff and jitter; sessions are clean and every
filter is re-subscribed after each reconnect, so the broker replays retained messages.
``MqttMessage.retain`` is True only for such replays (also after a later ``subscribe`` to an
already subscribed filter — all of that filter's callbacks then see the replay, so treat
retained messages as idempotent state). With MQTT 5, subscription identifiers make
overlapping filters deliver each message once per filter; with 3.1.1 the broker may send
duplicates for overlapping filters.

``shared_connection(settings)`` — one ref-counted connection per event loop and equal
``BrokerSettings`` (URL, credentials, client id, TLS …); the last user closes it.

Helpers: ``matches(pattern, topic)``, ``is_safe_segment(s)``, ``decode_json(bytes)`` /
``decode_json_object`` / ``decode_text`` raising ``PayloadError`` with a precise reason;
``adapters.sdk.mqtt.describe`` (``DescriptionBuilder``, ``vendor_property``, ``Features``,
``checked``, ``flatten``) for building DHI descriptions from mapping rows;
``adapters.sdk.mqtt.shell.MqttAdapterShell``, the bind/start/stop shell of an MQTT adapter.
Tests get a real broker and a paho test peer from ``tests/support/mosquitto.py`` (fixture
``mosquitto``, class ``MqttPeer``).
"""

from adapters.sdk.mqtt.connection import (
    BatchCallback,
    ConnectionListener,
    MessageCallback,
    MqttConnection,
    MqttMessage,
    Unsubscribe,
)
from adapters.sdk.mqtt.errors import (
    MqttClosed,
    MqttConnectError,
    MqttError,
    MqttPublishError,
    MqttRefused,
    MqttSubscribeError,
    MqttTimeout,
)
from adapters.sdk.mqtt.payload import (
    PayloadError,
    decode_json,
    decode_json_object,
    decode_text,
    encode_json,
    json_type,
)
from adapters.sdk.mqtt.settings import BrokerSettings, Protocol
from adapters.sdk.mqtt.shared import shared_connection
from adapters.sdk.mqtt.topics import TopicError, is_safe_segment, matches

__all__ = [
    "BatchCallback",
    "BrokerSettings",
    "ConnectionListener",
    "MessageCallback",
    "MqttClosed",
    "MqttConnectError",
    "MqttConnection",
    "MqttError",
    "MqttMessage",
    "MqttPublishError",
    "MqttRefused",
    "MqttSubscribeError",
    "MqttTimeout",
    "PayloadError",
    "Protocol",
    "TopicError",
    "Unsubscribe",
    "decode_json",
    "decode_json_object",
    "decode_text",
    "encode_json",
    "is_safe_segment",
    "json_type",
    "matches",
    "shared_connection",
]
