"""Settings of the virtual adapter (the ``config:`` of an ``adapters:`` entry of type ``virtual``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Timing(StrEnum):
    #: steps happen at their offsets from the moment playing starts (any hub clock; ``dhome run --demo``)
    RELATIVE = "relative"
    #: steps happen at the scenario's own ``start`` + offset: the hub clock was started there
    #: (``dhome simulate``); a step whose time has passed is played at once with its scripted time
    SCENARIO = "scenario"


class VirtualConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    home: str | None = Field(
        default=None,
        description="home file path, or the name of a built-in home; default: the scenario's home, else 'demo'",
    )
    scenario: str | None = Field(
        default=None, description="scenario to play: a path or a name in examples/homes"
    )
    loop: bool = Field(
        default=False, description="replay the scenario forever (devices reset between rounds)"
    )
    all_capabilities: bool = Field(
        default=False, description="add one device per catalog capability, id '<instance>:cap-<name>'"
    )
    timing: Timing = Timing.RELATIVE
