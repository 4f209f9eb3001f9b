"""A hub process for the web-app tests: ``dhome run``'s set-up (``tests.e2e.hub_process``) with
the web app installed on the API, as ``default_services`` will do once it is wired in.

``python -m tests.webapp.hub_main --config hub.yaml --data-dir DIR``
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hub.api.server import ApiService
from hub.cli.common import setup_logging
from hub.cli.pair import announce
from hub.cli.run import build_config, default_services, serve
from hub.core import Hub
from hub.webapp import install
from hub.webapp.service import PairingAnnouncer
from tests.e2e.hub_process import attach_missing


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
    # what default_services will do once the web app is wired in: the app on the API, a code printed
    for svc in hub.services:
        if isinstance(svc, ApiService) and install not in svc.extensions:
            svc.extensions.append(install)
    hub.add_service(PairingAnnouncer(announce))
    asyncio.run(serve(hub, asyncio.Event()))


if __name__ == "__main__":
    main()
