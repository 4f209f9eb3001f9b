"""Shelly Gen2+ devices over MQTT (JSON-RPC, ``NotifyStatus``/``NotifyEvent``)."""

from adapters.shelly.adapter import ShellyAdapter, ShellyConfig

__all__ = ["ShellyAdapter", "ShellyConfig"]
