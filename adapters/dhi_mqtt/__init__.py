"""DHI-MQTT: DHI-native devices on an MQTT broker. The wire contract is ``BINDING.md``."""

from adapters.dhi_mqtt.adapter import DhiMqttAdapter
from adapters.dhi_mqtt.config import DhiMqttConfig

__all__ = ["DhiMqttAdapter", "DhiMqttConfig"]
