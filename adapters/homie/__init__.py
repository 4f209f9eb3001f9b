"""Homie 5 devices over MQTT (``homie/5/<device>/$description``, values and ``/set``)."""

from adapters.homie.adapter import HomieAdapter, HomieConfig

__all__ = ["HomieAdapter", "HomieConfig"]
