"""Generate the model-derived parts of ``openapi.yaml`` and ``asyncapi.yaml``.

The hand-written parts of the two documents (paths, channels, operations) are normative
prose-like structure; the body schemas must never be a second hand-kept copy of the models.
So the block between ``# BEGIN GENERATED`` and ``# END GENERATED`` under
``components.schemas`` is rendered from ``hub.api.models`` / ``hub.api.wsproto``. Models that
DHI already publishes as ``schemas/*.schema.json`` are referenced by file, not copied.

``python -m hub.api.specgen`` rewrites both files; ``--check`` exits 1 when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dhi.models import SCHEMAS
from dhi.models.envelope import MESSAGE_CLASSES
from dhi.specdata import spec_dir
from hub.api.models import API_MODELS
from hub.api.wsproto import WS_MODELS

LOCAL = "#/components/schemas/"
BEGIN = "# BEGIN GENERATED"
END = "# END GENERATED"
INDENT = "    "

#: document file -> the models its generated block holds
TARGETS: dict[str, list[type[BaseModel]]] = {
    "openapi.yaml": list(API_MODELS),
    "asyncapi.yaml": list(WS_MODELS),
}


def _shared_files() -> dict[str, str]:
    """Model class name -> the DHI schema file that already defines it."""
    out: dict[str, str] = {}
    for name, model in SCHEMAS.items():
        if isinstance(model, type) and issubclass(model, BaseModel):
            out.setdefault(model.__name__, f"schemas/{name}.schema.json")
    return out


_MESSAGE_UNION = frozenset(cls.__name__ for cls in MESSAGE_CLASSES.values())


def _rewrite(node: Any, shared: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(LOCAL) and ref.removeprefix(LOCAL) in shared:
            return {**node, "$ref": shared[ref.removeprefix(LOCAL)]}
        variants = node.get("oneOf")
        if (
            isinstance(variants, list)
            and {v.get("$ref", "").removeprefix(LOCAL) for v in variants if isinstance(v, dict)}
            == _MESSAGE_UNION
        ):
            # the discriminated union of all envelopes is message.schema.json
            rest = {k: v for k, v in node.items() if k not in ("oneOf", "discriminator")}
            return {**rest, "$ref": "schemas/message.schema.json"}
        return {k: _rewrite(v, shared) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, shared) for v in node]
    return node


def _local_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        out = {node["$ref"].removeprefix(LOCAL)} if str(node.get("$ref", "")).startswith(LOCAL) else set()
        for v in node.values():
            out |= _local_refs(v)
        return out
    if isinstance(node, list):
        return set().union(*(_local_refs(v) for v in node)) if node else set()
    return set()


def component_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """``components.schemas`` entries for ``models`` and what they use (shared models by file)."""
    _, top = models_json_schema(
        [(m, "validation") for m in models], ref_template=LOCAL + "{model}", by_alias=True
    )
    shared = _shared_files()
    defs = {name: _rewrite(body, shared) for name, body in top.get("$defs", {}).items()}
    wanted = [m.__name__ for m in models]
    keep: list[str] = []
    todo = list(wanted)
    while todo:
        name = todo.pop(0)
        if name in keep or name in shared:
            continue
        keep.append(name)
        todo.extend(sorted(_local_refs(defs[name])))
    order = wanted + sorted(n for n in keep if n not in wanted)
    return {name: defs[name] for name in order}


def render_block(models: list[type[BaseModel]]) -> str:
    text = yaml.safe_dump(
        component_schemas(models), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    body = "".join(INDENT + line + "\n" if line else "\n" for line in text.splitlines())
    return (
        f"{INDENT}{BEGIN} from the models by `python -m hub.api.specgen`: do not edit by hand\n"
        f"{body}{INDENT}{END}\n"
    )


def splice(text: str, block: str, source: str) -> str:
    lines = text.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines) if ln.strip().startswith(BEGIN)]
    ends = [i for i, ln in enumerate(lines) if ln.strip().startswith(END)]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"{source}: needs exactly one '{BEGIN}' ... '{END}' block under components.schemas")
    return "".join(lines[: starts[0]]) + block + "".join(lines[ends[0] + 1 :])


def updated(path: Path, models: list[type[BaseModel]]) -> str:
    return splice(path.read_text(encoding="utf-8"), render_block(models), str(path))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    root = spec_dir()
    stale = []
    for name, models in TARGETS.items():
        path = root / name
        new = updated(path, models)
        if new != path.read_text(encoding="utf-8"):
            stale.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print("stale generated schemas in: " + ", ".join(stale) + " (run python -m hub.api.specgen)")
        return 1
    print(("up to date: " if check else "wrote: ") + ", ".join(TARGETS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
