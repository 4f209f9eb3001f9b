"""The four MQTT adapters satisfy the adapter contract the hub checks at load time."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from adapters.dhi_mqtt import DhiMqttAdapter
from adapters.homie import HomieAdapter
from adapters.sdk import OfflineMapper
from adapters.sdk.discovery import validate_adapter_class
from adapters.sdk.mqtt import BrokerSettings
from adapters.shelly import ShellyAdapter
from adapters.tasmota import TasmotaAdapter

ADAPTERS = [
    ("dhi_mqtt", DhiMqttAdapter),
    ("tasmota", TasmotaAdapter),
    ("shelly", ShellyAdapter),
    ("homie", HomieAdapter),
]


@pytest.mark.parametrize(("name", "cls"), ADAPTERS)
def test_contract(name: str, cls: type) -> None:
    validate_adapter_class(name, cls)
    assert cls.name == name  # type: ignore[attr-defined]
    config_model: type[BaseModel] = cls.config_model  # type: ignore[attr-defined]
    assert isinstance(cls, OfflineMapper)
    config = config_model.model_validate({"broker": {"url": "mqtts://broker.example:8884", "username": "u"}})
    assert isinstance(config.broker, BrokerSettings) and config.broker.port == 8884  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"Extra inputs"):
        config_model.model_validate({"brokr": {}})
    adapter = cls(config)
    assert name.replace("_", "") in repr(adapter).lower().replace("_", "")
