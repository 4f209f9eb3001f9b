"""The OpenAPI document as served at ``/api/v1/openapi.json``.

``spec/interface/openapi.yaml`` refers to the DHI schema files (``schemas/*.schema.json``)
by relative ``$ref``. Served, the document is bundled into one self-contained file: each
referenced schema file becomes ``components/schemas/<file stem>`` and its ``$defs`` are
hoisted next to it, so any OpenAPI 3.1 tool can use it without fetching anything.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dhi.specdata import spec_dir

OPENAPI_FILE = "openapi.yaml"


class BundleError(Exception):
    """The spec refers to something that does not exist (a spec bug)."""


def load_spec(name: str = OPENAPI_FILE, root: Path | None = None) -> dict[str, Any]:
    path = (root or spec_dir()) / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise BundleError(f"{path}: not a mapping")
    return data


class _Bundler:
    def __init__(self, doc: dict[str, Any], root: Path, section: list[str]) -> None:
        self.doc = doc
        self.root = root
        target: dict[str, Any] = doc
        for key in section:
            target = target.setdefault(key, {})
        self.schemas = target
        self.section = "#/" + "/".join(section) + "/"
        self._files: dict[str, dict[str, str]] = {}  # file -> {"": stem, def: component name}
        self._raw: dict[str, Any] = {}  # component name -> schema as read (before rewriting)

    def run(self) -> dict[str, Any]:
        self._rewrite(self.doc)
        return self.doc

    def _rewrite(self, node: Any, file: str | None = None) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                node["$ref"] = self._target(ref, file)
            mapping = (
                node.get("discriminator", {}).get("mapping")
                if isinstance(node.get("discriminator"), dict)
                else None
            )
            if isinstance(mapping, dict):  # OpenAPI discriminator mappings are refs too
                for key, value in mapping.items():
                    mapping[key] = self._target(value, file)
            for key, value in list(node.items()):
                if key != "$ref":
                    self._rewrite(value, file)
        elif isinstance(node, list):
            for item in node:
                self._rewrite(item, file)

    def _target(self, ref: str, file: str | None) -> str:
        path, _, fragment = ref.partition("#")
        if not path:
            if file is None:
                return ref  # already local to the document
            path = file
        names = self._load(path)
        if fragment in ("", "/"):
            return self.section + names[""]
        if fragment.startswith("/$defs/") and fragment.count("/") == 2:
            name = names.get(fragment.removeprefix("/$defs/"))
            if name is not None:
                return self.section + name
        raise BundleError(f"cannot resolve $ref {ref!r}")

    def _load(self, rel: str) -> dict[str, str]:
        if rel in self._files:
            return self._files[rel]
        path = (self.root / rel).resolve()
        if not path.is_file():
            raise BundleError(f"$ref to missing file {rel!r}")
        schema = json.loads(path.read_text(encoding="utf-8"))
        stem = path.name.removesuffix(".schema.json").removesuffix(".json")
        defs: dict[str, Any] = schema.pop("$defs", {})
        for key in ("$id", "$schema"):  # an embedded $id would change how its refs resolve
            schema.pop(key, None)
        names = {"": stem}
        for def_name, body in defs.items():
            # the same model appears in many files (and in the generated block): share it
            # unless the two disagree
            names[def_name] = def_name if self._shareable(def_name, body) else f"{stem}.{def_name}"
        self._files[rel] = names  # before rewriting, so files may refer to each other
        self._store(stem, schema, rel)
        for def_name, body in defs.items():
            self._store(names[def_name], body, rel)
        return names

    def _shareable(self, name: str, body: Any) -> bool:
        if name in self._raw:
            return bool(self._raw[name] == body)
        if name in self.schemas:  # written in the document itself
            return bool(self.schemas[name] == _local(body, self.section))
        return True

    def _store(self, name: str, body: dict[str, Any], rel: str) -> None:
        if name in self._raw:
            if self._raw[name] != body:
                raise BundleError(f"components/schemas/{name} would be defined twice, differently")
            return
        if name in self.schemas:
            if self.schemas[name] != _local(body, self.section):
                raise BundleError(f"components/schemas/{name} already exists in the document, differently")
            self._raw[name] = copy.deepcopy(body)
            return
        self._raw[name] = copy.deepcopy(body)
        self._rewrite(body, rel)
        self.schemas[name] = body


def _local(node: Any, section: str) -> Any:
    """``node`` with its ``#/$defs/X`` refs written as refs into ``section`` (for comparison)."""
    if isinstance(node, dict):
        return {
            k: (
                section + v.removeprefix("#/$defs/")
                if k == "$ref" and isinstance(v, str)
                else _local(v, section)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_local(v, section) for v in node]
    return node


def bundle(
    doc: dict[str, Any], root: Path | None = None, section: tuple[str, ...] = ("components", "schemas")
) -> dict[str, Any]:
    """A copy of ``doc`` with every external ``$ref`` pulled into ``section``."""
    return _Bundler(copy.deepcopy(doc), root or spec_dir(), list(section)).run()


@cache
def served_document() -> bytes:
    """The bundled OpenAPI document as JSON bytes (built once per process)."""
    return json.dumps(bundle(load_spec()), ensure_ascii=False).encode("utf-8")
