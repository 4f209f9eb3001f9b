"""Transport errors of the MQTT connection layer (kept apart from the hub's domain errors)."""

from __future__ import annotations


class MqttError(Exception):
    """Base of every error the connection layer raises."""


class MqttConnectError(MqttError):
    """The first connection could not be made (refused, unreachable, timed out)."""


class MqttRefused(MqttConnectError):
    """The broker refused the CONNECT (bad credentials, not authorized, bad client id):
    retrying with the same settings cannot help."""


class MqttTimeout(MqttError, TimeoutError):
    """The broker did not acknowledge in time (PUBACK, SUBACK)."""


class MqttPublishError(MqttError):
    """A publish was rejected (queue full, not connected for QoS 0, negative PUBACK)."""


class MqttSubscribeError(MqttError):
    """The broker refused a subscription (SUBACK failure code)."""


class MqttClosed(MqttError):
    """The connection was closed while the operation was pending, or before it started."""
