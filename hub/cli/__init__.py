"""``dhome`` — the one command-line entry point (DESIGN §10)."""

from __future__ import annotations

import sys

import typer

from conformance.cli import app as conformance_app
from hub.cli import adapters, audit, discover, outbox, pair, run, spec, state, token
from hub.cli.common import fail_cleanly

app = typer.Typer(
    name="dhome",
    help="dhome — smart-home interoperability hub for the Digital Home Interface (DHI) v1. 智能家居互联互通中枢。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command("run")(run.run)
app.command("simulate")(run.simulate)
app.add_typer(spec.app, name="spec")
app.add_typer(state.app, name="state")
app.add_typer(adapters.app, name="adapters")
app.add_typer(token.app, name="token")
app.add_typer(outbox.app, name="outbox")
app.add_typer(conformance_app, name="conformance")
app.command("audit")(audit.audit)
app.command("discover")(discover.discover)
app.command("pair")(pair.pair)


def main() -> None:
    with fail_cleanly():
        app()
    sys.exit(0)
