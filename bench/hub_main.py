"""The hub process of the benchmarks: exactly ``dhome run --config FILE --data-dir DIR``
(``build_config`` + ``default_services`` + ``serve``), plus the API service for as long as
``default_services`` does not attach it yet (the benchmarks read ``/health`` and ``/metrics``).

``python -m bench.hub_main --config hub.yaml --data-dir DIR``
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hub.api.server import ApiService
from hub.cli.common import setup_logging
from hub.cli.run import build_config, default_services, serve
from hub.core import Hub


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    cfg, source = build_config(args.config, demo=False, port=None, speed=None)
    setup_logging(cfg.log_level)
    hub = Hub(cfg, data_dir=args.data_dir, config_source=source)
    default_services(hub)
    if not any(isinstance(s, ApiService) for s in hub.services):
        hub.add_service(ApiService())
    asyncio.run(serve(hub, asyncio.Event()))


if __name__ == "__main__":
    main()
