"""The one config block that turns the Home Assistant bridge on (``bridges: home_assistant:``).

```yaml
bridges:
  home_assistant:
    broker: {url: mqtt://192.168.1.10:1883, username: dhome, password: "…"}
    rooms: [living_room, kitchen]      # or devices: [...]; nothing is exported unless named
    control: [virtual:front-door]      # locks, valves, sirens, alarms HA may operate
```
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.sdk.mqtt.settings import BrokerSettings
from dhi.models.alert import AlertKind
from dhi.models.common import DeviceId

TOPIC_WORD = r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$"


class HomeAssistantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    broker: BrokerSettings = Field(description="the broker Home Assistant's MQTT integration uses")
    discovery_prefix: Annotated[str, Field(pattern=TOPIC_WORD)] = "homeassistant"
    base_topic: Annotated[str, Field(pattern=TOPIC_WORD)] | None = Field(
        default=None, description="where states and commands live (default dhome/<home id>)"
    )
    devices: list[DeviceId] = Field(default_factory=list, description="devices the resident shares with HA")
    rooms: list[str] = Field(default_factory=list, description="rooms whose devices are shared with HA")
    control: list[DeviceId] = Field(
        default_factory=list,
        description="locks, valves, sirens and alarms HA may operate; the others of these are read-only",
    )
    alert_kinds: list[AlertKind] | None = Field(
        default=None, description="alert kinds HA sees (default: every kind)"
    )
    receiver: Annotated[str, Field(min_length=1, max_length=200)] = "Home Assistant"

    @model_validator(mode="after")
    def _login(self) -> HomeAssistantSettings:
        if not self.broker.username or self.broker.password is None:
            raise ValueError(
                "broker.username and broker.password are required: HA discovery is only published to a "
                "broker that requires a login (发现消息只发布到需要登录的代理服务器)"
            )
        return self
