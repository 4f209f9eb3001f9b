"""A third-party adapter, installed as its own package into the venv, is found via entry points."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sdk import AdapterLoadError, load_adapter
from adapters.sdk.discovery import validate_adapter_class
from hub.config import AdapterEntry, HubConfig
from hub.core import Hub

DIST = "dhome-test-thirdparty-adapter"

MODULE = """
from typing import ClassVar
from pydantic import BaseModel

from dhi.models import CommandResult, DeviceDescription


class Config(BaseModel):
    greeting: str = "ni hao"


class ThirdPartyAdapter:
    name: ClassVar[str] = "thirdparty"
    config_model: ClassVar[type[BaseModel]] = Config

    def __init__(self, config: Config) -> None:
        self.config = config

    async def start(self, ctx) -> None:
        ctx.publish_device(DeviceDescription.model_validate({
            "id": f"{ctx.adapter}:sos1", "name": self.config.greeting,
            "components": [{"id": "main", "capabilities": [{"id": "dhi.sos"}]}]}))
        ctx.publish_state(f"{ctx.adapter}:sos1", "dhi.sos", {"active": False})

    async def execute(self, cmd):
        return CommandResult(id=cmd.id, status="ok")

    async def stop(self) -> None:
        pass
"""


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("plugin")
    (root / "thirdparty_adapter").mkdir()
    (root / "thirdparty_adapter" / "__init__.py").write_text(MODULE, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "{DIST}"
        version = "0.0.1"
        [project.entry-points."dhome.adapters"]
        thirdparty = "thirdparty_adapter:ThirdPartyAdapter"
        [tool.hatch.build.targets.wheel]
        packages = ["thirdparty_adapter"]
        """),
        encoding="utf-8",
    )
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "install", "--no-deps", str(root)], check=True, capture_output=True)
    try:
        yield "thirdparty"
    finally:
        subprocess.run([*pip, "uninstall", "-y", DIST], check=True, capture_output=True)


@pytest.mark.slow
def test_third_party_adapter_is_listed(installed_plugin: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "adapters", "list", "--json"], capture_output=True, text=True
    )
    names = {a["name"]: a for a in json.loads(out.stdout)}
    assert installed_plugin in names and names[installed_plugin]["distribution"] == DIST
    assert "virtual" in names  # built-in adapters come through the same entry-point group


@pytest.mark.slow
async def test_third_party_adapter_runs_in_a_hub(installed_plugin: str, tmp_path: Path) -> None:
    cls = load_adapter(installed_plugin)
    assert cls.__module__ == "thirdparty_adapter"
    hub = Hub(
        HubConfig(adapters=[AdapterEntry(type=installed_plugin, config={"greeting": "hello"})]),
        data_dir=tmp_path,
    )
    async with hub:
        await hub.supervisor.wait_running(installed_plugin)
        rec = hub.registry.get("thirdparty:sos1")
        assert rec is not None and rec.description.name == "hello"
        state = hub.state.get("thirdparty:sos1", "main", "dhi.sos", "active")
        assert state is not None and state.value is False


def test_unknown_adapter_names_the_installed_ones() -> None:
    with pytest.raises(
        AdapterLoadError, match=r"no adapter named 'nope' is installed \(installed: .*virtual"
    ):
        load_adapter("nope")


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"start": None}, "missing method start()"),
        ({"name": ""}, "'name' must be a non-empty str"),
        ({"config_model": dict}, "'config_model' must be a pydantic BaseModel class"),
    ],
)
def test_broken_plugins_fail_loudly_naming_what_is_wrong(attrs: dict[str, object], message: str) -> None:
    from tests.hub.toys import LampAdapter

    broken = type("Broken", (LampAdapter,), attrs)
    with pytest.raises(AdapterLoadError, match=message) as info:
        validate_adapter_class("broken-plugin", broken)
    assert "broken-plugin" in str(info.value)
