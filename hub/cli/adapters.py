"""``dhome adapters``: what is installed, and how well an adapter maps recorded vendor data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from adapters.sdk import build_report, discover_adapters, load_adapter
from adapters.sdk.adapter import OfflineMapper
from adapters.sdk.report import MappingReport
from dhi.validate import load_document
from hub.cli.common import console, die

app = typer.Typer(help="Installed adapters and offline mapping reports.", no_args_is_help=True)


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Adapters installed through the dhome.adapters entry points."""
    infos = discover_adapters()
    if as_json:
        print(json.dumps([i.__dict__ for i in infos], indent=2))
        return
    table = Table(title="installed adapters (entry-point group dhome.adapters)")
    for col in ("name", "entry point", "distribution"):
        table.add_column(col)
    for i in infos:
        table.add_row(escape(i.name), escape(i.entry_point), escape(i.distribution or ""))
    console.print(table)


@app.command("check")
def check_cmd(
    name: Annotated[str, typer.Argument(help="Adapter name, e.g. zigbee2mqtt, matter, tasmota, shelly.")],
    files: Annotated[
        list[Path],
        typer.Argument(help="Recorded vendor data (bridge/devices dump, node dump, …), one or more."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full JSON report.")] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="Print one JSON line per file: its feature counts.")
    ] = False,
) -> None:
    """Offline mapping report: the DHI devices produced and every vendor feature left unmapped."""
    cls = load_adapter(name)
    if not isinstance(cls, OfflineMapper):
        die(f"adapter {name!r} cannot map recorded data offline (it has no map_offline)")
    for file in files:
        data = load_document(file)
        try:
            mappings = cls.map_offline(data)
        except (ValueError, TypeError, KeyError) as exc:
            die(f"{file}: not {name} data this adapter understands: {exc}")
        report = build_report(name, mappings)
        if summary:
            print(json.dumps(summary_line(name, file, report)))
        elif as_json:
            print(report.model_dump_json(indent=2))
        else:
            _print_table(name, file, report)


def summary_line(adapter: str, file: Path, report: MappingReport) -> dict[str, object]:
    """One dump in one line: what share of its features became standard or vendor properties."""
    s = report.summary
    kept = s.standard + s.vendor
    return {
        "adapter": adapter,
        "file": str(file),
        "devices": s.devices,
        "features": s.features,
        "standard": s.standard,
        "vendor": s.vendor,
        "unmapped": s.unmapped_features,
        "kept_percent": round(100 * kept / s.features, 1) if s.features else None,
    }


def _print_table(name: str, file: Path, report: MappingReport) -> None:
    s = report.summary
    table = Table(title=f"{name}: {file.name}")
    for col in ("device", "capabilities", "unmapped", "placed apart"):
        table.add_column(col)
    for d in report.devices:
        problems = [f"{u['feature']} ({u['reason']})" for u in d["unmapped"]] + [
            f"warning: {w}" for w in d["warnings"]
        ]
        unmapped = ", ".join(problems) or "—"
        # features the no-collision rule kept off a property another feature already holds
        moved = [f for f in d["mapping"] if f["component"] is not None and f["reason"]]
        placed = ", ".join(f"{f['feature']} -> {f['component']} ({f['reason']})" for f in moved) or "—"
        table.add_row(
            f"{escape(d['name'])}\n[dim]{escape(d['id'])}[/]",
            escape(", ".join(d["capabilities"])),
            escape(unmapped),
            escape(placed),
        )
    console.print(table)
    console.print(
        f"devices {s.devices}, fully mapped {s.fully_mapped} ({pct(s.fully_mapped, s.devices)}); "
        f"features {s.features}: standard {s.standard} ({pct(s.standard, s.features)}), "
        f"vendor {s.vendor}, unmapped {s.unmapped_features}"
    )
