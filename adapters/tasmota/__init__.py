"""Tasmota devices over MQTT (native discovery, tele/stat/cmnd topics)."""

from adapters.tasmota.adapter import TasmotaAdapter, TasmotaConfig

__all__ = ["TasmotaAdapter", "TasmotaConfig"]
