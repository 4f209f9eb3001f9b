"""The device target: a DHI-MQTT device on a broker (spec §12, adapters/dhi_mqtt/BINDING.md)."""
