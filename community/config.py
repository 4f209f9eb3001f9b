"""The platform's settings: one YAML file, validated with errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class CapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: CAP ``sender``: who this centre is to the district system
    sender: Annotated[str, Field(min_length=1)] = "community@dhome.invalid"
    #: administrative-division code (GB/T 2260) of the district the centre serves
    area_code: str | None = None
    area_name: str = "社区 · Community"


class MqttSettings(BaseModel):
    """The broker the hubs' MQTT uplink publishes to (``transport: mqtt`` subscriptions)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(pattern=r"^mqtts?://[^\s/:@]+(:\d{1,5})?/?$")]
    #: fixed: the broker keeps the platform's persistent session (and queued alerts) under it
    client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,23}$")] = "dhome-community"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    #: CA bundle for ``mqtts://`` (default: the system's)
    ca_file: str | None = None
    #: the hubs' topic prefix (their subscription endpoint's path; default ``dhi/v1``)
    topic_prefix: Annotated[str, Field(pattern=r"^[^+#\s]+[^/+#\s]$|^[^/+#\s]$")] = "dhi/v1"


NatsUrl = Annotated[str, Field(pattern=r"^(nats|tls)://[^\s/@]+(:\d{1,5})?/?$")]
MqttUrl = Annotated[str, Field(pattern=r"^mqtts?://[^\s/:@]+(:\d{1,5})?/?$")]


class NatsSettings(BaseModel):
    """City scale: the hubs publish to the MQTT listener of a NATS cluster (JetStream, three
    servers); every platform worker process takes alerts from its replicated stream through one
    durable pull consumer (community/jetstream.py, deploy/nats/README.md)."""

    model_config = ConfigDict(extra="forbid")

    #: the cluster's NATS client URLs (the client fails over between them)
    servers: Annotated[list[NatsUrl], Field(min_length=1)]
    #: its MQTT listeners: the platform connects once so the cluster creates its MQTT streams
    #: (and the durable consumer can be made) before the first hub publishes
    mqtt: Annotated[list[MqttUrl], Field(min_length=1)]
    user: str | None = None
    password: str | None = Field(default=None, repr=False)
    #: CA bundle for ``tls://`` servers
    ca_file: str | None = None
    #: the durable consumer all workers share (one name for one platform)
    durable: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "dhi-platform"
    #: seconds a worker has to commit a message before the cluster hands it to another worker
    ack_wait: Annotated[float, Field(ge=1, le=3600)] = 30.0
    #: messages a worker takes per fetch (one database transaction each)
    batch: Annotated[int, Field(ge=1, le=1000)] = 100
    #: the hubs' topic prefix (their subscription endpoint's path; default ``dhi/v1``)
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")] = "dhi/v1"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8480
    #: SQLAlchemy URL: ``sqlite:///community.db`` (embedded default) or
    #: ``postgresql+psycopg://user@host/db`` for a real deployment
    database: Annotated[str, Field(pattern=r"^(sqlite|postgresql(\+psycopg)?)://")] = "sqlite:///community.db"
    #: the address hubs reach this platform at (written into each enrolment answer)
    public_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(:\d+)?/?$")] = "http://127.0.0.1:8480"
    title: str = "社区居家安全服务平台 · Community home-safety centre"
    #: a webhook whose timestamp is further off than this is refused (replay window)
    replay_window: Annotated[int, Field(ge=10, le=300)] = 300
    #: open alerts nobody acknowledged for this many minutes go to the supervisors
    escalate_after_minutes: Annotated[float, Field(gt=0, le=1440)] = 5.0
    #: resolved alerts and message ids older than this are deleted (open alerts never are)
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    enrolment_code_days: Annotated[int, Field(ge=1, le=90)] = 14
    session_hours: Annotated[int, Field(ge=1, le=72)] = 12
    log_format: Annotated[str, Field(pattern="^(json|text)$")] = "json"
    #: bearer tokens a district system uses for the CAP feed and the exports (supervisors'
    #: console sessions may use them too); none: only supervisors
    report_tokens: list[Annotated[str, Field(min_length=16)]] = Field(default_factory=list)
    cap: CapSettings = Field(default_factory=CapSettings)
    #: subscribe to the hubs' MQTT uplink on this broker (none: webhooks only)
    mqtt: MqttSettings | None = None
    #: take the hubs' alerts from a NATS JetStream cluster (city scale; none: not used)
    nats: NatsSettings | None = None


class ConfigError(Exception):
    pass


def load(path: Path | None, overrides: dict[str, object] | None = None) -> Settings:
    data: dict[str, object] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
        data.update(loaded)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path or 'settings'}:\n  " + "\n  ".join(lines)) from exc
