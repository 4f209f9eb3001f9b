"""``dhome spec``: validate DHI documents, show the catalog, export WoT Thing Descriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dhi.catalog import default_catalog
from dhi.errors import InvalidDocument
from dhi.models import DHI_VERSION, SCHEMAS, DeviceDescription
from dhi.validate import load_document, validate
from hub.cli.common import console, die, err_console
from hub.td import thing_description

app = typer.Typer(help="The DHI v1 interface: validate documents, list capabilities, export WoT TDs.",
                  no_args_is_help=True)  # fmt: skip


@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="A DHI document (JSON or YAML).")],
    type_: Annotated[
        str | None,
        typer.Option(
            "--type", "-t", help=f"Document type; detected when omitted. One of: {', '.join(SCHEMAS)}"
        ),
    ] = None,
) -> None:
    """Validate a DHI document; exit 1 listing every error with its JSON path and reason."""
    doc = load_document(file)
    name, problems = validate(doc, type_)
    if problems:
        for p in problems:
            err_console.print(f"{file}: {p.path}: {p.message}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1)
    console.print(f"{file}: valid DHI v1 {name}")


@app.command("catalog")
def catalog_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The capability catalog (labels in English and 简体中文)."""
    cat = default_catalog()
    if as_json:
        out = {
            "dhi_version": DHI_VERSION,
            "units": [u.model_dump(mode="json", by_alias=True) for u in cat.units.values()],
            "capabilities": [
                c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in cat.values()
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"DHI v1 capability catalog ({len(cat)} capabilities)")
    for col in ("id", "category", "label", "标签", "properties", "commands", "events"):
        table.add_column(col)
    for cap in sorted(cat.values(), key=lambda c: (c.category, c.id)):
        cells = (
            cap.id,
            cap.category,
            cap.label.en,
            cap.label.zh_cn,
            ", ".join(f"{p.name}{f' ({p.unit})' if p.unit else ''}" for p in cap.properties),
            ", ".join(c.name for c in cap.commands),
            ", ".join(e.name for e in cap.events),
        )
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


@app.command("td")
def td_cmd(
    file: Annotated[Path, typer.Argument(help="A DHI device description (JSON or YAML).")],
    base: Annotated[
        str, typer.Option("--base", help="API base URL the forms point at.")
    ] = "http://localhost:8470/api/v1/",
) -> None:
    """Print the W3C WoT Thing Description 1.1 of a DHI device description."""
    doc = load_document(file)
    _, problems = validate(doc, "device")
    if problems:
        die(
            f"{file}: not a valid device description: {problems[0]}"
            + (f" (+{len(problems) - 1} more; see 'dhome spec validate')" if len(problems) > 1 else "")
        )
    desc = DeviceDescription.model_validate(doc)
    try:
        td = thing_description(desc, default_catalog(), base)
    except InvalidDocument as exc:
        die(f"{file}: {exc.message}")
    print(json.dumps(td, ensure_ascii=False, indent=2))
