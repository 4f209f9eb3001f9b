"""Broker settings every MQTT adapter's config embeds as ``broker``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class Protocol(StrEnum):
    MQTT5 = "5"
    MQTT311 = "3.1.1"


class BrokerSettings(BaseModel):
    """Where and how to connect. Equal settings share one connection (``shared_connection``).

    ``url`` is ``mqtt://host[:port]`` or ``mqtts://host[:port]`` (TLS; 8883 by default).
    Credentials may also be given in the URL (``mqtt://user:pass@host``); the explicit
    fields win.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "mqtt://localhost:1883"
    failover: tuple[str, ...] = Field(
        default=(),
        description="more servers of the same cluster (mqtt(s)://host[:port], same scheme as url), tried "
        "in turn after url whenever a connect fails or the connection is lost; the credentials and TLS "
        "settings apply to all. A persistent session lives in the cluster, so it resumes on any of them",
    )
    username: str | None = None
    password: SecretStr | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None, description="default: dhome-<random>; must be unique on the broker"
    )
    protocol: Protocol = Protocol.MQTT5
    keepalive: Annotated[int, Field(ge=5, le=65535)] = 60
    tls_ca: Path | None = Field(default=None, description="CA bundle (PEM); default: system store")
    tls_cert: Path | None = Field(default=None, description="client certificate (PEM)")
    tls_key: Path | None = Field(default=None, description="client key (PEM)")
    tls_insecure: bool = Field(default=False, description="skip the host name check (test setups only)")
    session_expiry: Annotated[int, Field(ge=0, le=7 * 86400)] = Field(
        default=0,
        description="seconds the broker keeps this client's session (its subscriptions and the QoS 1 "
        "messages not yet acknowledged) while the hub is away; 0: a clean session at every connect. "
        "The hub's MQTT adapters ask for a day (spec §12) under a client id stable for the hub",
    )
    connect_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    reconnect_min_delay: Annotated[float, Field(gt=0, le=60)] = 1.0
    reconnect_max_delay: Annotated[float, Field(gt=0, le=3600)] = 60.0
    publish_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    max_queued: Annotated[int, Field(ge=1)] = Field(
        default=1000, description="QoS>0 messages held while disconnected before publish fails"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("failover")
    @classmethod
    def _check_failover(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for url in v:
            _check_url(url)
            if urlsplit(url).username or urlsplit(url).password:
                raise ValueError(
                    f"failover url {url!r}: credentials go in url or username/password, not here"
                )
        return v

    @model_validator(mode="after")
    def _check_tls(self) -> BrokerSettings:
        if any(urlsplit(u).scheme != urlsplit(self.url).scheme for u in self.failover):
            raise ValueError("failover urls must use the scheme of url (all mqtt:// or all mqtts://)")
        if not self.tls and any((self.tls_ca, self.tls_cert, self.tls_key, self.tls_insecure)):
            raise ValueError("tls_* options need an mqtts:// url")
        if self.tls_key is not None and self.tls_cert is None:
            raise ValueError("tls_key needs tls_cert")
        if self.reconnect_min_delay > self.reconnect_max_delay:
            raise ValueError("reconnect_min_delay is greater than reconnect_max_delay")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or _DEFAULT_PORTS[parts.scheme]

    def endpoints(self) -> list[tuple[str, int]]:
        """(host, port) of url, then of each failover url: the order connects are tried in."""
        return [(self.host, self.port)] + [_host_port(u) for u in self.failover]

    def credentials(self) -> tuple[str | None, str | None]:
        parts = urlsplit(self.url)
        user = self.username if self.username is not None else _unquote(parts.username)
        password = self.password.get_secret_value() if self.password is not None else _unquote(parts.password)
        return user, password

    def safe_url(self) -> str:
        """The url without credentials, for logs."""
        return f"{urlsplit(self.url).scheme}://{self.host}:{self.port}"


def _check_url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"url scheme must be mqtt:// or mqtts://, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ValueError("url needs a host, e.g. mqtt://localhost:1883")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"url has an invalid port: {exc}") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("url must be scheme://[user:pass@]host[:port] with no path or query")
    return v


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme]


def _unquote(v: str | None) -> str | None:
    return unquote(v) if v is not None else None
