"""``GET /devices/{id}/td``: a WoT TD 1.1 per device, valid against the W3C schema, whose forms work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest
from jsonschema import Draft7Validator

from hub.api.models import Scope
from tests.api.support import LAMP, Harness, hub_config, running_hub


@pytest.fixture
def td_validator(shared_fixtures: Path) -> Draft7Validator:
    schema = json.loads(
        (shared_fixtures / "wot" / "td-json-schema-validation.json").read_text(encoding="utf-8")
    )
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


async def fetch_td(http: aiohttp.ClientSession, h: Harness, device: str) -> dict[str, Any]:
    async with http.get(f"{h.url}/devices/{device}/td", headers=h.auth(Scope.READ)) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "application/td+json"
        data: dict[str, Any] = await resp.json(content_type=None)
        return data


@pytest.mark.slow
async def test_td_of_every_virtual_device_validates_against_the_w3c_td_11_schema(
    tmp_path: Path, http: aiohttp.ClientSession, td_validator: Draft7Validator
) -> None:
    config = hub_config(virtual=True, virtual_config={"all_capabilities": True})
    async with running_hub(tmp_path, config=config) as h:
        devices = [rec.id for rec in h.hub.registry.all() if rec.adapter == "virtual"]
        assert len(devices) >= 50  # the demo home plus one device per catalog capability
        affordances = 0
        for device in devices:
            td = await fetch_td(http, h, device)
            errors = sorted(td_validator.iter_errors(td), key=lambda e: list(e.absolute_path))
            assert not errors, f"{device}: " + "; ".join(
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
            )
            assert td["base"] == h.url + "/"
            affordances += len(td["properties"]) + len(td["actions"]) + len(td["events"])
        assert affordances > len(devices)


async def test_td_forms_point_at_working_api_routes(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    td = await fetch_td(http, api_hub, LAMP)
    headers = api_hub.auth(Scope.CONTROL)
    prop = td["properties"]["main/on_off/on"]
    href = urljoin(td["base"], next(f["href"] for f in prop["forms"] if "readproperty" in f["op"]))
    async with http.get(href, headers=headers) as resp:
        assert resp.status == 200 and await resp.json() is False
    async with http.put(href, json=True, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    async with http.get(href, headers=headers) as resp:
        assert await resp.json() is True
    action = td["actions"]["main/on_off/toggle"]
    async with http.post(urljoin(td["base"], action["forms"][0]["href"]), headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    async with http.get(href, headers=headers) as resp:
        assert await resp.json() is False
    observe = next(f for f in prop["forms"] if "observeproperty" in f["op"])
    assert observe["href"] == api_hub.ws_url
    assert td["security"] == ["bearer_sc"]


async def test_td_links_never_follow_the_host_header(api_hub: Harness, http: aiohttp.ClientSession) -> None:
    headers = api_hub.auth(Scope.READ) | {"Host": "evil.example:666"}
    async with http.get(f"{api_hub.url}/devices/{LAMP}/td", headers=headers) as resp:
        td = await resp.json(content_type=None)
    assert td["base"] == api_hub.url + "/"  # the address the connection came in on


async def test_td_links_use_the_configured_public_base_url(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    config = hub_config()
    config.api.base_url = "https://hub.home.arpa:8443"
    async with running_hub(tmp_path, config=config) as h:
        td = await fetch_td(http, h, LAMP)
    assert td["base"] == "https://hub.home.arpa:8443/api/v1/"
    observe = next(f for f in td["properties"]["main/on_off/on"]["forms"] if "observeproperty" in f["op"])
    assert observe["href"] == "wss://hub.home.arpa:8443/api/v1/ws"
