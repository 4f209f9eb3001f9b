"""Runs a hub as its own process for the end-to-end tests: exactly ``dhome run``'s set-up
(``build_config`` + ``default_services`` + ``serve``), plus the alert, consent, outbox and API
services for as long as ``default_services`` does not attach them yet. Once it does, this adds
nothing and the tests could call ``dhome run`` directly.

``python -m tests.e2e.hub_process --config hub.yaml --data-dir DIR``
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hub.alerts.engine import AlertEngine
from hub.api.server import ApiService
from hub.cli.common import setup_logging
from hub.cli.run import build_config, default_services, serve
from hub.consent import ConsentService
from hub.core import Hub
from hub.outbox import Outbox


def attach_missing(hub: Hub) -> None:
    present = {type(s) for s in hub.services}
    consent = next((s for s in hub.services if isinstance(s, ConsentService)), None)
    if consent is None:
        consent = ConsentService()
        hub.add_service(consent)
    if Outbox not in present:
        hub.add_service(Outbox(consent))
    if AlertEngine not in present:
        hub.add_service(AlertEngine())
    if ApiService not in present:
        hub.add_service(ApiService())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    cfg, source = build_config(args.config, demo=False, port=None, speed=None)
    setup_logging(cfg.log_level)
    hub = Hub(cfg, data_dir=args.data_dir, config_source=source)
    default_services(hub)
    attach_missing(hub)
    asyncio.run(serve(hub, asyncio.Event()))


if __name__ == "__main__":
    main()
