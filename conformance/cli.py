"""``dhome conformance``: run the suite against a device, an adapter plugin or a hub.

Every run prints a summary, writes the JSON, JUnit XML and HTML reports into ``--report-dir``
and exits 0 only when no case failed (or could not be evaluated).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.api import run_adapter_target, run_device_target, run_hub_target
from conformance.claims import ClaimsError
from conformance.progress import RichProgress
from conformance.registry import all_cases
from conformance.report import write_reports
from conformance.runner import exit_code
from dhi.models.conformance import Report, ResultStatus, TargetKind

app = typer.Typer(help="DHI v1 conformance suite: devices, adapter plugins and hubs.", no_args_is_help=True)
out = Console(soft_wrap=True)  # never break a path or test id across lines
err = Console(stderr=True, soft_wrap=True)

ClaimsOption = Annotated[Path, typer.Option("--claims", help="Claims file (YAML/JSON, claims.schema.json).")]
ReportDirOption = Annotated[
    Path, typer.Option("--report-dir", help="Where the JSON, JUnit XML and HTML reports go.")
]
FuzzOption = Annotated[bool, typer.Option("--fuzz/--no-fuzz", help="Run the fuzz tier.")]
ExamplesOption = Annotated[
    int | None, typer.Option("--fuzz-examples", min=1, help="Generated inputs per fuzz case (default 60).")
]
OnlyOption = Annotated[
    str | None, typer.Option("--only", help="Comma-separated case ids to run (the others are left out).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")]
DEFAULT_REPORT_DIR = Path("conformance-report")


def _only(value: str | None) -> set[str] | None:
    return {v.strip() for v in value.split(",") if v.strip()} if value else None


def _finish(coro: Coroutine[Any, Any, Report], report_dir: Path, as_json: bool) -> None:
    try:
        report = asyncio.run(coro)
    except ClaimsError as exc:
        for line in str(exc).splitlines():
            err.print(f"[bold red]error:[/] {escape(line)}", highlight=False)
        raise typer.Exit(2) from None
    paths = write_reports(report, report_dir)
    if as_json:
        print(paths["json"].read_text(encoding="utf-8"), end="")
    else:
        _summary(report, paths)
    raise typer.Exit(exit_code(report))


def _summary(report: Report, paths: dict[str, Path]) -> None:
    table = Table(title=f"{report.claims.vendor} {report.claims.product} — DHI {report.claims.target.value}")
    for col in ("id", "result", "title", "evidence"):
        table.add_column(col, overflow="fold")
    style = {ResultStatus.PASS: "green", ResultStatus.FAIL: "bold red", ResultStatus.ERROR: "magenta",
             ResultStatus.WARNING: "yellow", ResultStatus.NOT_APPLICABLE: "dim"}  # fmt: skip
    for r in report.results:
        table.add_row(
            r.id, f"[{style[r.status]}]{r.status.value}[/]", escape(r.title), escape(r.evidence.message or "")
        )
    out.print(table)
    s = report.summary
    out.print(
        f"pass {s.pass_}  fail {s.fail}  error {s.error}  warning {s.warning}  not-applicable {s.not_applicable}"
    )
    for kind, path in paths.items():
        out.print(f"{kind:>5}: {path}")


@app.command("device")
def device_cmd(  # noqa: PLR0917 - a typer command: one parameter per option
    broker: Annotated[str, typer.Option("--broker", help="Broker URL, mqtt://host:port or mqtts://…")],
    device: Annotated[str, typer.Option("--device", help="The device's native id (its topic level).")],
    claims: ClaimsOption,
    home: Annotated[str, typer.Option("--home", help="The <home> topic level.")] = "home",
    prefix: Annotated[str, typer.Option("--prefix", help="Topic prefix.")] = "dhi/v1",
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="The device's MQTT client id (to check Last Will/reconnect)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each answer.")
    ] = 5.0,
    reconnect_timeout: Annotated[float, typer.Option("--reconnect-timeout", min=1)] = 30.0,
    fuzz: FuzzOption = True,
    fuzz_examples: ExamplesOption = None,
    only: OnlyOption = None,
    report_dir: ReportDirOption = DEFAULT_REPORT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Test a DHI-MQTT device on a broker (BINDING.md)."""
    _finish(
        run_device_target(
            broker, device, claims, fuzz_examples, home=home, prefix=prefix, client_id=client_id,
            answer_timeout=timeout, reconnect_timeout=reconnect_timeout, fuzz=fuzz, only=_only(only),
            progress=None if as_json else RichProgress(err),
        ),
        report_dir, as_json,
    )  # fmt: skip


@app.command("adapter")
def adapter_cmd(  # noqa: PLR0917 - a typer command: one parameter per option
    adapter: Annotated[
        str, typer.Option("--adapter", help="Installed adapter name (dhome.adapters entry point).")
    ],
    fixtures: Annotated[
        Path, typer.Option("--fixtures", help="Fixture directory (adapter.yaml, recorded/).")
    ],
    claims: ClaimsOption,
    fuzz: FuzzOption = True,
    fuzz_examples: ExamplesOption = None,
    only: OnlyOption = None,
    report_dir: ReportDirOption = DEFAULT_REPORT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Test an adapter plugin in-process on recorded vendor data or its simulator."""
    _finish(
        run_adapter_target(adapter, fixtures, claims, fuzz_examples, fuzz=fuzz, only=_only(only),
                           progress=None if as_json else RichProgress(err)),
        report_dir, as_json,
    )  # fmt: skip


@app.command("hub")
def hub_cmd(  # noqa: PLR0917 - a typer command: one parameter per option
    url: Annotated[str, typer.Option("--url", help="API base URL, e.g. http://127.0.0.1:8470/api/v1")],
    token: Annotated[str, typer.Option("--token", help="An admin token (dhome token create --scope admin).")],
    claims: ClaimsOption,
    td_schema: Annotated[
        Path | None, typer.Option("--td-schema", help="W3C WoT TD 1.1 JSON Schema to validate TDs against.")
    ] = None,
    fuzz: FuzzOption = True,
    fuzz_examples: ExamplesOption = None,
    only: OnlyOption = None,
    report_dir: ReportDirOption = DEFAULT_REPORT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Test a DHI hub API (REST, WebSocket, auth, problem+json, WoT TD)."""
    _finish(
        run_hub_target(url, token, claims, fuzz_examples, td_schema=td_schema, fuzz=fuzz, only=_only(only),
                       progress=None if as_json else RichProgress(err)),
        report_dir, as_json,
    )  # fmt: skip


@app.command("cases")
def cases_cmd(
    target: Annotated[TargetKind | None, typer.Option("--target", help="Only this target.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List every case id with its spec section, profile and needs."""
    cases = [c for c in all_cases() if target is None or c.target is target]
    if as_json:
        rows = [
            {"id": c.id, "title": c.title, "section": c.section, "target": c.target.value,
             "profile": c.profile.value, "needs": list(c.needs), "tier": c.tier.value}
            for c in cases
        ]  # fmt: skip
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="DHI v1 conformance cases")
    for col in ("id", "target", "profile", "section", "title"):
        table.add_column(col, overflow="fold")
    for c in cases:
        table.add_row(c.id, c.target.value, c.profile.value + (" (fuzz)" if c.tier.value == "fuzz" else ""),
                      c.section, escape(c.title))  # fmt: skip
    out.print(table)
