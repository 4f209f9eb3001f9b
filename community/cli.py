"""``dhome-community``: run the platform and manage it.

dhome-community serve --config community.yaml [--workers 2]
dhome-community worker --config community.yaml     (city scale: takes alerts from NATS, no web)
dhome-community migrate --config community.yaml
dhome-community staff add USER --name 王芳 --role supervisor      (password from stdin or prompt)
dhome-community code create --label "3号楼 2单元 501"             (prints a one-time code)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import multiprocessing
import signal
import socket
import sys
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from community import logs
from community.app import create_app
from community.config import ConfigError, Settings, load
from community.db import make_engine, migrate
from community.jetstream import JetStreamWorker
from community.metrics import Metrics
from community.store import MIN_PASSWORD, ROLES, Store


def _store(settings: Settings) -> Store:
    engine = make_engine(settings.database)
    migrate(engine)
    return Store(engine)


def _serve_one(settings: Settings, sock: socket.socket | None, uplink: bool = True) -> None:
    logs.setup(settings.log_format)
    app = create_app(settings, uplink=uplink)
    # SIGTERM / SIGINT: stop taking requests, let running ones finish, close the database
    web.run_app(app, sock=sock, host=None if sock else settings.host, port=None if sock else settings.port,
                print=None, access_log=None, shutdown_timeout=10)  # fmt: skip


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(settings: Settings, workers: int) -> None:
    _store(settings).engine.dispose()  # migrate once, before any worker starts
    print(f"community platform on http://{settings.host}:{settings.port}/ ({workers} worker(s))", flush=True)
    if workers == 1:
        _serve_one(settings, None)
        return
    # one listening socket shared by the worker processes: the kernel spreads connections
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    ctx = multiprocessing.get_context("fork")
    # the MQTT uplink session (one client id) lives in worker 0; the store is shared
    procs = [
        ctx.Process(target=_serve_one, args=(settings, sock, i == 0), name=f"worker-{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    # SIGTERM (a service manager's stop) would end this process at once and leave the workers
    # running without their parent: turn it into an exit that stops them first
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(15)


async def _work(settings: Settings) -> None:
    """One headless worker of the NATS consumer, until SIGTERM / SIGINT (start more to scale;
    stop any of them at any time: what it had not acknowledged goes to another)."""
    assert settings.nats is not None
    store = _store(settings)
    worker = JetStreamWorker(settings.nats, store, Metrics())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    await worker.ready.wait()
    print("worker ready", flush=True)
    await stop.wait()
    await worker.stop()
    store.engine.dispose()
    print("worker done " + json.dumps(dict(worker.counts), sort_keys=True), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dhome-community", description="dhome community platform")
    parser.add_argument("--config", type=Path, help="YAML settings (see community/community.example.yaml)")
    parser.add_argument("--database", help="SQLAlchemy URL (overrides the config)")
    cmds = parser.add_subparsers(dest="cmd", required=True)
    s = cmds.add_parser("serve", help="run the platform")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--workers", type=int, default=1, help="worker processes sharing the port")
    cmds.add_parser("worker", help="take alerts from the NATS cluster (settings: nats), no web server")
    cmds.add_parser("migrate", help="bring the database schema up to date")
    staff = cmds.add_parser("staff", help="staff accounts").add_subparsers(dest="sub", required=True)
    add = staff.add_parser("add", help="add or change a staff account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="name shown to colleagues and to the home")
    add.add_argument("--role", choices=ROLES, default="duty")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    homes = cmds.add_parser("home", help="households").add_subparsers(dest="sub", required=True)
    home = homes.add_parser("add", help="add a household whose hub was configured by hand (secret on stdin)")
    home.add_argument("home", help="the hub's home id")
    home.add_argument("--name", required=True)
    home.add_argument("--kinds", default="", help="alert kinds the resident consented to, comma-separated")
    code = cmds.add_parser("code", help="enrolment codes").add_subparsers(dest="sub", required=True)
    create = code.add_parser("create", help="print a new one-time enrolment code for a household")
    create.add_argument("--label", default="", help="a note for staff (e.g. the flat)")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {"database": args.database}
    if args.cmd == "serve":
        overrides |= {"host": args.host, "port": args.port}
    try:
        settings = load(args.config, overrides)
    except ConfigError as exc:
        raise SystemExit(f"dhome-community: bad settings in {exc}") from None
    if args.cmd == "serve":
        serve(settings, max(1, args.workers))
    elif args.cmd == "worker":
        if settings.nats is None:
            raise SystemExit("dhome-community: worker needs the nats settings (see deploy/nats/README.md)")
        logs.setup(settings.log_format)
        asyncio.run(_work(settings))
    elif args.cmd == "migrate":
        _store(settings).engine.dispose()
        print("schema up to date")
    elif args.cmd == "staff":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
        if len(password) < MIN_PASSWORD:
            raise SystemExit(f"dhome-community: a password has at least {MIN_PASSWORD} characters")
        _store(settings).add_staff(args.username, args.name, args.role, password)
        print(f"staff {args.username} ({args.role}) saved")
    elif args.cmd == "home":
        secret = sys.stdin.readline().strip()
        if not secret.startswith("whsec_"):
            raise SystemExit("dhome-community: give the home's whsec_ secret on standard input")
        kinds = [k for k in args.kinds.split(",") if k]
        _store(settings).add_home(args.home, args.name, secret, {"alert_kinds": kinds, "fields": None})
        print(f"home {args.home} saved")
    elif args.cmd == "code":
        days = settings.enrolment_code_days
        print(_store(settings).create_code(args.label, "cli", timedelta(days=days)))


if __name__ == "__main__":
    main()
