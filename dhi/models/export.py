"""Write ``spec/interface/schemas/*.schema.json`` from the models: ``python -m dhi.models.export DIR``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dhi.models import SCHEMA_BASE, SCHEMAS, adapter_for

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(name: str) -> dict[str, Any]:
    body = adapter_for(name).json_schema(by_alias=True, mode="validation")
    head = {"$schema": DIALECT, "$id": f"{SCHEMA_BASE}{name}.schema.json"}
    return head | body


def render(name: str) -> str:
    return json.dumps(schema_for(name), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("spec/interface/schemas")
    out.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (out / f"{name}.schema.json").write_text(render(name), encoding="utf-8")
    print(f"wrote {len(SCHEMAS)} schemas to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
