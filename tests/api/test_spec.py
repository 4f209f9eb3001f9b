"""The OpenAPI/AsyncAPI documents agree with the code: routes, scopes, generated schemas."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from dhi.specdata import spec_dir
from hub.api import specgen
from hub.api.openapi import BundleError, bundle, load_spec
from hub.api.routes import ENDPOINTS
from hub.api.wsproto import CLIENT_MESSAGE, SERVER_MESSAGE, WS_MODELS

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def test_every_route_is_in_openapi_and_vice_versa() -> None:
    spec = set(operations(load_spec()))
    code = {(ep.method, ep.path) for ep in ENDPOINTS}
    assert code - spec == set(), "routes missing from openapi.yaml"
    assert spec - code == set(), "openapi.yaml documents routes the server does not have"


def test_every_operation_declares_the_scope_the_server_enforces() -> None:
    ops = operations(load_spec())
    for ep in ENDPOINTS:
        op = ops[(ep.method, ep.path)]
        if ep.scope is None:
            assert op["security"] == [], f"{ep.method} {ep.path} is public"
            continue
        assert op["security"] == [{"bearer": [ep.scope.value]}], f"{ep.method} {ep.path}"
        assert op["x-dhi-scope"] == ep.scope.value
        assert {"401", "403", "429"} <= set(op["responses"]), f"{ep.method} {ep.path} lacks auth errors"


def test_generated_schema_blocks_are_up_to_date() -> None:
    root = spec_dir()
    for name, models in specgen.TARGETS.items():
        path = root / name
        assert specgen.updated(path, models) == path.read_text(encoding="utf-8"), (
            f"{name} is stale: run python -m hub.api.specgen"
        )


def test_bundled_document_is_self_contained() -> None:
    doc = bundle(load_spec())
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    schemas = doc["components"]["schemas"]
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        section, _, name = ref.removeprefix("#/").rpartition("/")
        target = doc
        for part in section.split("/"):
            target = target[part]
        assert name in target, ref
    # the DHI schema files are pulled in by file stem, their $defs beside them
    assert {"device", "command", "command-result", "problem", "alert", "DeviceDescription"} <= set(schemas)
    assert "$id" not in schemas["device"] and "$defs" not in schemas["device"]


def test_bundle_rejects_a_reference_to_a_missing_file() -> None:
    with pytest.raises(BundleError, match="missing file"):
        bundle(
            {
                "openapi": "3.1.0",
                "paths": {},
                "components": {"schemas": {"X": {"$ref": "schemas/nope.schema.json"}}},
            }
        )


def test_asyncapi_lists_every_websocket_message() -> None:
    doc = load_spec("asyncapi.yaml")
    payloads = {m["payload"]["$ref"].rsplit("/", 1)[1] for m in doc["components"]["messages"].values()}
    union_members = {
        cls.__name__
        for adapter in (CLIENT_MESSAGE, SERVER_MESSAGE)
        for cls in _union_members(adapter.json_schema())
    }
    assert union_members == payloads
    assert set(doc["channels"]["hub"]["messages"]) == set(doc["components"]["messages"])
    names = {m.__name__ for m in WS_MODELS}
    assert payloads <= names
    for name in names:
        assert name in doc["components"]["schemas"]


def _union_members(schema: dict[str, Any]) -> list[type[BaseModel]]:
    by_name = {m.__name__: m for m in WS_MODELS}
    return [by_name[ref["$ref"].rsplit("/", 1)[1]] for ref in schema["oneOf"]]


def test_openapi_document_is_valid_openapi_31_as_written_and_as_served() -> None:
    path = spec_dir() / "openapi.yaml"
    validate(load_spec(), base_uri=path.as_uri())  # the schema files resolve relative to it
    validate(bundle(load_spec()))
