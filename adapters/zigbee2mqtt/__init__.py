"""Zigbee2MQTT adapter: Zigbee devices through a Zigbee2MQTT bridge on an MQTT broker.

Devices come from the retained ``<base>/bridge/devices``; each expose maps to a DHI catalog
capability through the tables in ``rows.py`` (or stays a typed vendor property); state
from ``<base>/<friendly_name>``, availability from ``<base>/<friendly_name>/availability``,
commands go to ``<base>/<friendly_name>/set``.
"""

from adapters.zigbee2mqtt.adapter import Zigbee2MqttAdapter, Zigbee2MqttConfig
from adapters.zigbee2mqtt.offline import map_offline

__all__ = ["Zigbee2MqttAdapter", "Zigbee2MqttConfig", "map_offline"]
