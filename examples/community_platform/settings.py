"""Platform settings: a YAML file, with command-line overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator


class HubLink(BaseModel):
    """How to reach one home's hub for acknowledgements (a token with scope ``alerts``)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(:\d+)?/?$")]
    token: Annotated[str, Field(min_length=1)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8480
    database: Path = Path("community_platform.db")
    #: Standard Webhooks secrets accepted (one per hub subscription; several allow rotation)
    secrets: Annotated[list[str], Field(min_length=1)]
    #: home id -> its hub
    hubs: dict[str, HubLink] = Field(default_factory=dict)
    title: str = "社区居家安全平台 · Community home-safety desk"

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, v: list[str]) -> list[str]:
        for s in v:
            if not s.startswith("whsec_"):
                raise ValueError("webhook secrets start with whsec_ (Standard Webhooks)")
        return v


def load(path: Path | None, overrides: dict[str, object]) -> Settings:
    data: dict[str, object] = {}
    if path is not None:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of settings")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.model_validate(data)
