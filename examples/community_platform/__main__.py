"""``python -m examples.community_platform --config platform.yaml [--port N] ...``"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from examples.community_platform.app import create_app
from examples.community_platform.settings import load


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise SystemExit(f"--{what} expects HOME=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="community_platform", description=__doc__)
    parser.add_argument("--config", type=Path, help="YAML settings (see platform.example.yaml)")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database", type=Path)
    parser.add_argument("--secret", action="append", help="whsec_ secret accepted (repeatable)")
    parser.add_argument("--hub", action="append", help="HOME=URL of a hub (repeatable)")
    parser.add_argument("--token", action="append", help="HOME=TOKEN (scope alerts) for that hub")
    args = parser.parse_args(argv)
    hub_urls, tokens = _pairs(args.hub, "hub"), _pairs(args.token, "token")
    hubs = {home: {"url": url, "token": tokens.get(home, "")} for home, url in hub_urls.items()} or None
    settings = load(
        args.config,
        {
            "host": args.host,
            "port": args.port,
            "database": args.database,
            "secrets": args.secret,
            "hubs": hubs,
        },
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _: print(f"community platform on http://{settings.host}:{settings.port}/", flush=True),
        access_log=None,
    )


if __name__ == "__main__":
    main()
