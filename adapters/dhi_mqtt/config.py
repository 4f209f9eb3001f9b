"""Configuration of the DHI-MQTT adapter."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from adapters.sdk.mqtt import BrokerSettings
from adapters.sdk.mqtt.lanes import lane_option
from dhi.models.common import HOME_ID


class DhiMqttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    prefix: Annotated[str, Field(pattern=r"^[^#+\s]+$", description="topic root, before <home>")] = "dhi/v1"
    home: Annotated[str, Field(pattern=HOME_ID, max_length=64)] | None = Field(
        default=None, description="the <home> topic segment; default: the hub's home id"
    )
    command_timeout: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10.0, description="seconds to wait for cmd/result when the command names no timeout"
    )
    safety_lane: bool = lane_option()
    max_pending_devices: Annotated[int, Field(ge=1)] = Field(
        default=1000, description="devices whose state/avail is held while their desc has not arrived"
    )
