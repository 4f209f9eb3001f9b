"""RFC 9457 problem details, as every API error body."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class InvalidParam(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="JSON path of the offending field")
    reason: str


class Problem(BaseModel):
    # RFC 9457 allows extension members
    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: Annotated[str, Field(min_length=1)]
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str | None = None
    instance: str | None = None
    code: str | None = Field(default=None, description="stable DHI error code (spec §6.4)")
    invalid_params: list[InvalidParam] | None = Field(default=None, alias="invalid-params")
