"""Hub configuration (YAML), validated by pydantic: the hub's own model plus each adapter's
``config_model``. A bad config names the file, the key path and what was expected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from dhi.errors import ConfigError
from dhi.models.common import DIVISION_CODE, HOME_ID
from dhi.validate import format_loc
from hub.alerts.config import AlertsConfig

DEFAULT_PORT = 8470


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HomeConfig(_Section):
    id: Annotated[str, Field(pattern=HOME_ID, max_length=64)] = "home"
    name: Annotated[str, Field(min_length=1, max_length=200)] = "My home"
    address: str | None = None
    division_code: Annotated[str, Field(pattern=DIVISION_CODE)] | None = Field(
        default=None, description="administrative-division code (GB/T 2260, 6 digits; 9 or 12 with township)"
    )
    timezone: str = "Asia/Shanghai"
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    #: people to call during an alarm, ``[{name, phone}]`` (checked as ``hub.api.models.ContactSetting``)
    contacts: list[dict[str, str]] = Field(default_factory=list)
    #: the resident's names for room ids (``{living_room: 客厅}``)
    room_names: dict[str, str] = Field(default_factory=dict)


class TlsConfig(_Section):
    """HTTPS for the API and the web app (session cookies are then ``Secure``)."""

    cert: Path = Field(description="PEM certificate chain of the hub")
    key: Path = Field(description="PEM private key (keep it 0600)")


class ApiConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_PORT
    cors_origins: list[str] = Field(default_factory=list)
    #: messages a WebSocket subscription may have pending before the client is dropped
    ws_queue: Annotated[int, Field(ge=1)] = 4096
    #: seconds its oldest pending message may wait before the client is dropped
    ws_queue_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    health_server: bool = Field(
        default=True,
        description="answer GET /health on a port of its own from a thread, so load balancers get an "
        "answer however busy the hub is (503 once the hub's loop has stopped refreshing it)",
    )
    health_port: Annotated[int, Field(ge=0, le=65535)] | None = Field(
        default=None,
        description="port of the health server; default: the API port + 1 (8471), or a free port when "
        "the API port is 0",
    )
    tls: TlsConfig | None = None
    base_url: Annotated[str, Field(pattern=r"^https?://[^/?#\s]+/?$")] | None = Field(
        default=None,
        description="how clients reach the hub, e.g. https://hub.home.arpa:8480; used for links the hub "
        "hands out (Thing Description forms). Default: the address the connection came in on, never the "
        "Host header",
    )


class StorageConfig(_Section):
    history_days: Annotated[float, Field(gt=0)] = 30
    events_days: Annotated[float, Field(gt=0)] = 7
    batch_interval: Annotated[float, Field(gt=0, le=5)] = 0.05
    max_queued_rows: Annotated[int, Field(ge=100, le=1_000_000)] = Field(
        default=20_000,
        description="history and event-log rows waiting for SQLite at most; beyond it a bulk "
        "reading replaces the pending one of the same property (counted; docs/ingestion.md)",
    )


class MdnsConfig(_Section):
    enabled: bool = True


class ClockConfig(_Section):
    speed: Annotated[float, Field(gt=0, le=100_000)] = 1.0
    start: AwareDatetime | None = Field(
        default=None,
        description="start the hub clock at this moment (RFC 3339 with offset) instead of now: "
        "replaying a scenario at its own time of day",
    )


class AdapterEntry(_Section):
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$")]
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$")] | None = None
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def instance(self) -> str:
        return self.name or self.type


class HubConfig(_Section):
    home: HomeConfig = Field(default_factory=HomeConfig)
    data_dir: Path | None = None
    drill: bool = Field(
        default=False,
        description="this hub runs a drill: every alert, message and audit row it makes is marked as an "
        "exercise (CAP status Exercise), never an emergency",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    api: ApiConfig = Field(default_factory=ApiConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    mdns: MdnsConfig = Field(default_factory=MdnsConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    command_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    adapters: list[AdapterEntry] = Field(default_factory=list)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    bridges: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], dict[str, Any]] = Field(
        default_factory=dict,
        description="settings of installed bridges that run beside the hub, by bridge name (e.g. "
        "home_assistant); each block is checked by its bridge; a bridge not named here is off",
    )

    @field_validator("adapters")
    @classmethod
    def _unique_instances(cls, v: list[AdapterEntry]) -> list[AdapterEntry]:
        seen: set[str] = set()
        for i, entry in enumerate(v):
            if entry.instance in seen:
                raise ValueError(
                    f"adapters[{i}]: instance name {entry.instance!r} is used twice (give each a unique 'name')"
                )
            seen.add(entry.instance)
        return v


def describe_validation_error(source: str, exc: ValidationError, prefix: str = "") -> str:
    """One line per error: ``file: key.path: what is wrong (expected …)``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = format_loc(tuple(err["loc"]))
        path = f"{prefix}.{loc}" if prefix and loc != "(top level)" else (prefix or loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown key"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
            if "input" in err and kind not in ("value_error",) and not isinstance(err["input"], dict | list):
                msg += f" (got {err['input']!r})"
        lines.append(f"{source}: {path}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> HubConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of settings, got {type(data).__name__}")
    try:
        return HubConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc)) from None


def load_config(path: Path) -> HubConfig:
    source = str(path)
    if not path.exists():
        raise ConfigError(f"{source}: no such file")
    if path.is_dir():
        raise ConfigError(f"{source}: is a directory, expected a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = re.sub(r"\s+", " ", str(exc.problem or exc))
        raise ConfigError(f"{source}{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML error: {exc}") from None
    return parse_config(data, source)


def adapter_config(entry: AdapterEntry, model: type[BaseModel], source: str, index: int) -> BaseModel:
    try:
        return model.model_validate(entry.config)
    except ValidationError as exc:
        raise ConfigError(
            describe_validation_error(source, exc, prefix=f"adapters[{index}].config")
        ) from None
