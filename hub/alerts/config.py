"""The ``alerts:`` section of the hub config: rules, escalation, delivery, bridges and the
subscriptions the resident declared in the config file. Every key has a sensible default, so
``alerts: {}`` (or no section at all) gives a working elderly-safety setup.

```yaml
alerts:
  rules:
    inactivity:
      windows:                       # local time of day (home.timezone)
        - {start: "06:00", end: "22:00", max_quiet: "12h"}
        - {start: "22:00", end: "06:00", max_quiet: "14h"}
    door_open: {max_open: "15m", rooms: [entrance]}
    night_activity: {start: "00:00", end: "05:00", exit_rooms: [entrance]}
    heat: {threshold: 57, hysteresis: 5}   # °C, any room temperature sensor
  escalation: {after: {Extreme: "2m", Severe: "5m"}, max_level: 3}
  outbox: {give_up_after: "36h"}
  subscriptions:
    - id: community
      receiver: {name: 阳光社区服务中心, kind: community}
      transport: webhook
      endpoint: http://127.0.0.1:8480/webhook
      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
      alert_kinds: [smoke, gas_leak, fall, inactivity]
      consent: {granted_by: resident, granted_at: "2026-01-01T00:00:00+08:00"}
```
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adapters.sdk.mqtt.settings import BrokerSettings, Protocol
from dhi.models.alert import Severity
from dhi.models.subscription import SubscriptionRequest
from hub.alerts.durations import Duration, TimeOfDay

SUBSCRIPTION_ID = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleConfig(_Section):
    enabled: bool = True
    severity: Severity | None = Field(default=None, description="override the kind's default severity")
    devices: list[str] = Field(default_factory=list, description="only these device ids (default: all)")
    rooms: list[str] = Field(default_factory=list, description="only devices in these rooms (default: all)")

    def applies_to(self, device: str, room: str | None) -> bool:
        if self.devices and device not in self.devices:
            return False
        return not self.rooms or room in self.rooms


class DoorOpenRule(RuleConfig):
    max_open: Duration = timedelta(minutes=15)


class OfflineRule(RuleConfig):
    grace: Duration = Field(
        default=timedelta(minutes=10), description="how long a safety device may be unreachable"
    )


class ThresholdRule(RuleConfig):
    """A numeric reading at or above ``threshold`` is the condition; it ends below
    ``threshold - hysteresis`` (no flapping around the limit). Subclasses set units and bounds."""

    threshold: float
    hysteresis: Annotated[float, Field(ge=0)] = 0


class HeatRule(ThresholdRule):
    """Abnormal heat from any room temperature sensor: the way fixed-temperature heat detectors
    work (they respond at 57 °C), for homes whose kitchens cannot have a smoke alarm."""

    threshold: Annotated[float, Field(ge=30, le=150)] = Field(
        default=57, description="room temperature (°C) at or above which it is an alert"
    )
    hysteresis: Annotated[float, Field(ge=0, le=50)] = Field(
        default=5, description="the condition ends below threshold - hysteresis (no flapping)"
    )


class LowBatteryRule(RuleConfig):
    threshold: Annotated[float, Field(ge=0, le=100)] = Field(
        default=10, description="percentage at or below which the battery counts as low"
    )


class InactivityWindow(_Section):
    """While the local time is in [start, end) an alert follows ``max_quiet`` without activity.
    ``end`` before ``start`` wraps past midnight; ``start == end`` is the whole day."""

    start: TimeOfDay
    end: TimeOfDay
    max_quiet: Duration

    @field_validator("max_quiet")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("max_quiet must be longer than zero")
        return v


def _default_windows() -> list[InactivityWindow]:
    # Waking hours: 12 h without any motion, door or water use is not normal for someone
    # living alone. Over night the limit is longer so a long sleep never alerts.
    return [
        InactivityWindow(start=time(6), end=time(22), max_quiet=timedelta(hours=12)),
        InactivityWindow(start=time(22), end=time(6), max_quiet=timedelta(hours=14)),
    ]


class InactivityRule(RuleConfig):
    windows: Annotated[list[InactivityWindow], Field(min_length=1)] = Field(default_factory=_default_windows)


class NightActivityRule(RuleConfig):
    start: TimeOfDay = time(0)
    end: TimeOfDay = time(5)
    min_signals: Annotated[int, Field(ge=1)] = Field(
        default=4, description="activity signals within `within` that make night activity abnormal"
    )
    within: Duration = timedelta(minutes=30)
    exit_rooms: list[str] = Field(
        default_factory=lambda: ["entrance", "hall", "hallway"],
        description="a door opening in these rooms at night alerts at once (wandering out)",
    )


class RulesConfig(_Section):
    smoke: RuleConfig = Field(default_factory=RuleConfig)
    heat: HeatRule = Field(default_factory=HeatRule)
    co: RuleConfig = Field(default_factory=RuleConfig)
    gas_leak: RuleConfig = Field(default_factory=RuleConfig)
    water_leak: RuleConfig = Field(default_factory=RuleConfig)
    sos: RuleConfig = Field(default_factory=RuleConfig)
    fall: RuleConfig = Field(default_factory=RuleConfig)
    tamper: RuleConfig = Field(default_factory=RuleConfig)
    inactivity: InactivityRule = Field(default_factory=InactivityRule)
    night_activity: NightActivityRule = Field(default_factory=NightActivityRule)
    door_open: DoorOpenRule = Field(default_factory=DoorOpenRule)
    device_offline: OfflineRule = Field(default_factory=OfflineRule)
    low_battery: LowBatteryRule = Field(default_factory=LowBatteryRule)

    # Kinds added after these fields (one rule module each, hub/alerts/rules) are configured
    # under their kind id too; their section is validated by the rule's own config model.
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _registered_rules(self) -> RulesConfig:
        from hub.alerts.rules import rules  # the rule modules import this module

        configs = {rule.kind.value: rule.config for rule in rules().values()}
        if self.__pydantic_extra__ is None:
            self.__pydantic_extra__ = {}
        extra = self.__pydantic_extra__
        for key, value in extra.items():
            model = configs.get(key)
            if model is None:
                raise ValueError(f"{key!r} is not an alert rule (expected one of {', '.join(configs)})")
            try:
                extra[key] = model.model_validate(value)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(
                    f"{key}.{where}: {first['msg']}" if where else f"{key}: {first['msg']}"
                ) from None
        for key, model in configs.items():
            if key not in type(self).model_fields and key not in extra:
                extra[key] = model()
        return self

    def for_kind(self, kind: str) -> RuleConfig:
        rule = getattr(self, kind, None)
        if not isinstance(rule, RuleConfig):
            raise KeyError(kind)
        return rule


def _default_escalation() -> dict[Severity, timedelta]:
    return {
        Severity.EXTREME: timedelta(minutes=2),
        Severity.SEVERE: timedelta(minutes=5),
        Severity.MODERATE: timedelta(minutes=30),
        Severity.MINOR: timedelta(hours=4),
        Severity.UNKNOWN: timedelta(minutes=30),
    }


class EscalationConfig(_Section):
    """An unacknowledged alert escalates (level +1, re-sent as ``alert.updated``) every ``after``."""

    enabled: bool = True
    after: dict[Severity, Duration] = Field(default_factory=_default_escalation)
    max_level: Annotated[int, Field(ge=0, le=20)] = 3

    def interval(self, severity: Severity) -> timedelta | None:
        return self.after.get(severity) or _default_escalation().get(severity)


class OutboxConfig(_Section):
    """Delivery retries (real time, not hub time: receivers live in the real world).

    A failed delivery is retried after base_delay, doubling up to max_delay (a safety alert
    never waits long after a short outage), for ``give_up_after`` from its first failure
    (a day, as Standard Webhooks senders do; a subscription may ask for another span). Only
    then is it a dead letter, which the resident sees and can resend."""

    base_delay: Annotated[float, Field(gt=0, le=3600)] = 1.0
    max_delay: Annotated[float, Field(gt=0, le=86400)] = 300.0
    give_up_after: Duration = Field(
        default=timedelta(hours=24), description="how long a failed delivery is retried before it is dead"
    )
    max_attempts: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="also give up after this many attempts (default: no limit but the time)"
    )
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0

    @model_validator(mode="after")
    def _order(self) -> OutboxConfig:
        if self.base_delay > self.max_delay:
            raise ValueError("base_delay is greater than max_delay")
        return self


class CapConfig(_Section):
    sender: Annotated[str, Field(pattern=r"^[^\s,<&]+$")] | None = Field(
        default=None, description="CAP <sender> (default: dhome.<home>@dhome.local)"
    )
    xsd: Path | None = Field(default=None, description="validate every CAP message against this XSD")


#: a day: what a hub asks of every broker it keeps a session on (spec §12)
UPLINK_SESSION_SECONDS = 86400


class UplinkBroker(BrokerSettings):
    """The uplink's broker. Other defaults than a device broker's: MQTT 3.1.1, which every broker
    speaks (a NATS cluster's MQTT listener speaks only that), and a persistent session, so a QoS 1
    message in flight when the connection drops is sent again on the next connect — to the same
    server or to another of the ``failover`` list (the session lives in the cluster)."""

    protocol: Protocol = Protocol.MQTT311
    session_expiry: Annotated[int, Field(ge=0, le=7 * 86400)] = UPLINK_SESSION_SECONDS


class UplinkConfig(_Section):
    """The broker used by MQTT subscriptions whose endpoint is a topic prefix, not a URL.

    ```yaml
    alerts:
      uplink:
        broker:
          url: mqtt://nats-1.city.example:1883
          failover: [mqtt://nats-2.city.example:1883, mqtt://nats-3.city.example:1883]
    ```
    """

    broker: UplinkBroker | None = None


class ConfiguredSubscription(SubscriptionRequest):
    """A subscription declared in the config file (the resident owns the file, so a consent
    block here is the resident's grant). Re-applied at each start, audited as actor ``config``."""

    id: Annotated[str, Field(pattern=SUBSCRIPTION_ID)]


class AlertsConfig(_Section):
    enabled: bool = True
    resolve_after: Duration = Field(
        default=timedelta(hours=12),
        description="an acknowledged alert whose condition is over is cleared after this (hub time)",
    )
    update_interval: Duration = Field(
        default=timedelta(minutes=1),
        description="repeats of an open alert are re-sent as alert.updated at most this often",
    )
    queue: Annotated[int, Field(ge=100, le=1_000_000)] = Field(
        default=50_000,
        description="bus messages waiting for the alert engine at most; safety ones are taken "
        "first and bulk readings give way to them (docs/ingestion.md)",
    )
    rules: RulesConfig = Field(default_factory=RulesConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    cap: CapConfig = Field(default_factory=CapConfig)
    uplink: UplinkConfig = Field(default_factory=UplinkConfig)
    subscriptions: list[ConfiguredSubscription] = Field(default_factory=list)

    @field_validator("subscriptions")
    @classmethod
    def _unique(cls, v: list[ConfiguredSubscription]) -> list[ConfiguredSubscription]:
        seen: set[str] = set()
        for i, sub in enumerate(v):
            if sub.id in seen:
                raise ValueError(f"subscriptions[{i}]: id {sub.id!r} is used twice")
            seen.add(sub.id)
        return v


def alerts_config(section: object) -> AlertsConfig:
    """The typed section, whether ``HubConfig.alerts`` is already typed or still a plain dict."""
    if isinstance(section, AlertsConfig):
        return section
    return AlertsConfig.model_validate(section or {})
