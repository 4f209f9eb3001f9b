"""Run the device target: connect, collect the retained replay, run the device cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conformance.device.context import DeviceContext, DeviceOptions
from conformance.device.session import DeviceSession
from conformance.registry import cases_for
from conformance.runner import ProgressSink, RunOptions, build_report, run_cases
from dhi.catalog import Catalog, default_catalog
from dhi.models.conformance import Claims, Report, TargetKind


async def run_device(
    broker_url: str,
    device: str,
    claims: Claims,
    *,
    home: str = "home",
    prefix: str = "dhi/v1",
    options: DeviceOptions | None = None,
    run: RunOptions | None = None,
    progress: ProgressSink | None = None,
    catalog: Catalog | None = None,
    broker: dict[str, Any] | None = None,
) -> Report:
    started = datetime.now(UTC)
    opts = options or DeviceOptions()
    session = DeviceSession(broker_url, device, home=home, prefix=prefix, **(broker or {}))
    await session.open()
    try:
        # retained messages arrive right after SUBACK; the description may take a moment
        await session.wait(lambda m: m.sub == "desc", opts.answer_timeout)
        await session.settle(opts.settle)
        await session.take_snapshot()
        ctx = DeviceContext(session, claims, catalog or default_catalog(), opts)
        ctx.load_desc()
        results = await run_cases(
            cases_for(TargetKind.DEVICE),
            ctx,
            claims,
            run or RunOptions(),
            progress=progress,
            target_name=f"device {device}",
        )
    finally:
        await session.close()
    target = {
        "kind": "device",
        "broker": session.settings.safe_url(),
        "device": device,
        "home": home,
        "prefix": prefix,
        "base_topic": session.base,
    }
    return build_report(target, claims, results, started)
