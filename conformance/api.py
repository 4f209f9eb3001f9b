"""Programmatic entry points (used by the CLI, the pytest plugin and ``make bench``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.claims import load_claims
from conformance.runner import ProgressSink, RunOptions
from dhi.models.conformance import Claims, Report, TargetKind


def _claims(claims: Claims | Path | str, target: TargetKind) -> Claims:
    if isinstance(claims, Claims):
        return claims
    return load_claims(Path(claims), target)


async def run_device_target(
    broker_url: str,
    device_id: str,
    claims: Claims | Path | str,
    fuzz_examples: int | None = None,
    *,
    home: str = "home",
    prefix: str = "dhi/v1",
    client_id: str | None = None,
    answer_timeout: float = 5.0,
    reconnect_timeout: float = 30.0,
    fuzz: bool = True,
    only: set[str] | None = None,
    progress: ProgressSink | None = None,
    broker: dict[str, Any] | None = None,
) -> Report:
    """Test the DHI-MQTT device ``device_id`` (its topic level) on ``broker_url``.

    ``client_id`` is the device's MQTT client id: with it the suite can drop the device's
    connection (session take-over) to check its Last Will and reconnection.
    ``fuzz_examples`` is the number of generated inputs per fuzz case (default 60).
    """
    from conformance.device.context import DeviceOptions
    from conformance.device.target import run_device

    options = DeviceOptions(
        client_id=client_id, answer_timeout=answer_timeout, reconnect_timeout=reconnect_timeout
    )
    if fuzz_examples is not None:
        options.fuzz_examples = fuzz_examples
    run = RunOptions(fuzz=fuzz, only=frozenset(only) if only else None)
    return await run_device(
        broker_url,
        device_id,
        _claims(claims, TargetKind.DEVICE),
        home=home,
        prefix=prefix,
        options=options,
        run=run,
        progress=progress,
        broker=broker,
    )


async def run_adapter_target(
    adapter: str | type[Any],
    fixtures: Path | str,
    claims: Claims | Path | str,
    fuzz_examples: int | None = None,
    *,
    fuzz: bool = True,
    only: set[str] | None = None,
    progress: ProgressSink | None = None,
) -> Report:
    """Test an adapter plugin (an installed ``dhome.adapters`` entry-point name, or the class)
    in-process on the recorded data / simulator configuration in ``fixtures``."""
    from conformance.adapter.target import AdapterOptions, run_adapter

    options = AdapterOptions()
    if fuzz_examples is not None:
        options.fuzz_examples = fuzz_examples
    run = RunOptions(fuzz=fuzz, only=frozenset(only) if only else None)
    return await run_adapter(
        adapter,
        Path(fixtures),
        _claims(claims, TargetKind.ADAPTER),
        options=options,
        run=run,
        progress=progress,
    )


async def run_hub_target(
    url: str,
    token: str,
    claims: Claims | Path | str,
    fuzz_examples: int | None = None,
    *,
    td_schema: Path | None = None,
    fuzz: bool = True,
    only: set[str] | None = None,
    progress: ProgressSink | None = None,
) -> Report:
    """Test the hub API at ``url`` (its base, e.g. ``http://127.0.0.1:8470/api/v1``) with an
    admin ``token`` (the suite creates and revokes narrower tokens to check scopes)."""
    from conformance.hubapi.target import HubOptions, run_hub

    options = HubOptions(td_schema=td_schema)
    if fuzz_examples is not None:
        options.fuzz_examples = fuzz_examples
    run = RunOptions(fuzz=fuzz, only=frozenset(only) if only else None)
    return await run_hub(
        url, token, _claims(claims, TargetKind.HUB), options=options, run=run, progress=progress
    )
