"""mDNS / DNS-SD (zeroconf): the hub advertises itself; ``dhome discover`` finds hubs and devices.

The hub registers ``<home name>._dhome._tcp.local.`` with TXT ``api=/api/v1``, ``ver=1`` and
``home=<home id>`` on the interfaces its API listens on (a loopback-only API is advertised on
loopback only), and unregisters when it stops. ``browse`` looks for the service types in
``KNOWN_TYPES``: dhome hubs and devices of protocols dhome has adapters for.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)

SERVICE_TYPE = "_dhome._tcp.local."
API_PATH = "/api/v1"
TXT_VERSION = "1"
#: DNS-SD instance names are at most 63 bytes (RFC 6763 §4.1.1)
MAX_INSTANCE = 63

Interfaces = InterfaceChoice | list[str]


@dataclass(frozen=True)
class KnownType:
    """A DNS-SD service type worth listing, and what it means for dhome."""

    service_type: str
    kind: str
    adapter: str | None = None  # the dhome adapter that talks to it
    name_prefix: str | None = None  # only instances whose name starts with this (case-insensitive)


KNOWN_TYPES: list[KnownType] = [
    KnownType(SERVICE_TYPE, "dhome hub"),
    # Matter: operational nodes on this fabric or others, and devices waiting to be commissioned
    KnownType("_matter._tcp.local.", "Matter node", "matter"),
    KnownType("_matterc._udp.local.", "Matter device (commissionable)", "matter"),
    KnownType("_shelly._tcp.local.", "Shelly (Gen2+)", "shelly"),
    # Gen1 Shelly devices only advertise a web server, named after the device
    KnownType("_http._tcp.local.", "Shelly (Gen1)", "shelly", name_prefix="shelly"),
    KnownType("_hap._tcp.local.", "HomeKit accessory"),
    KnownType("_hap._udp.local.", "HomeKit accessory (Thread)"),
]


@dataclass(frozen=True)
class Found:
    kind: str
    service_type: str
    name: str
    server: str | None
    addresses: list[str]
    port: int | None
    txt: dict[str, str] = field(default_factory=dict)
    adapter: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "type": self.service_type,
            "name": self.name,
            "server": self.server,
            "addresses": self.addresses,
            "port": self.port,
            "txt": self.txt,
            "adapter": self.adapter,
        }

    @property
    def api_url(self) -> str | None:
        """For a dhome hub: the URL of its API."""
        if self.service_type != SERVICE_TYPE or not self.addresses or self.port is None:
            return None
        host = self.addresses[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}{self.txt.get('api', API_PATH)}"


def interfaces_for(host: str) -> Interfaces:
    """Where to advertise an API bound to ``host``: the same interfaces, never more."""
    if host in ("", "0.0.0.0", "::"):
        return InterfaceChoice.All
    if host == "localhost":
        return ["127.0.0.1"]
    return [host]


def _ip_version(interfaces: Interfaces) -> IPVersion:
    if isinstance(interfaces, list) and all(ipaddress.ip_address(i).version == 4 for i in interfaces):
        return IPVersion.V4Only
    return IPVersion.All


def _advertised_addresses(interfaces: Interfaces) -> list[bytes]:
    if isinstance(interfaces, list):
        return [ipaddress.ip_address(i).packed for i in interfaces]
    # every IPv4 address of this host but loopback (ifaddr is what zeroconf itself uses)
    return [
        socket.inet_aton(str(ip.ip))
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if ip.is_IPv4 and not str(ip.ip).startswith("127.")
    ]


def instance_name(label: str) -> str:
    """A DNS-SD instance name: the label without dots, cut to 63 bytes on a character boundary."""
    text = label.replace(".", " ").strip() or "dhome"
    raw = text.encode("utf-8")[:MAX_INSTANCE]
    return raw.decode("utf-8", errors="ignore").strip() or "dhome"


class Listening(Protocol):
    """What mDNS needs of the API it announces (``hub.api.server.ApiService``): where it listens."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class MdnsService:
    """Advertises the hub's API; add it after the ``ApiService`` it announces."""

    name = "mdns"

    def __init__(self, api: Listening, *, interfaces: Sequence[str] | None = None) -> None:
        self._api = api
        self._interfaces = list(interfaces) if interfaces is not None else None
        self._zc: AsyncZeroconf | None = None
        self.info: AsyncServiceInfo | None = None
        self._announce: Awaitable[None] | None = None

    def __repr__(self) -> str:
        return f"MdnsService({self.info.name if self.info else 'not advertising'})"

    async def start(self, hub: Hub) -> None:
        if not hub.config.mdns.enabled or not hub.config.api.enabled or not self._api.port:
            log.info("mDNS: not advertising (disabled, or the API is not running)")
            return
        interfaces: Interfaces = (
            self._interfaces if self._interfaces is not None else interfaces_for(self._api.host)
        )
        home = hub.config.home
        hostname = socket.gethostname().split(".")[0] or "dhome"
        self.info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{instance_name(home.name)}.{SERVICE_TYPE}",
            addresses=_advertised_addresses(interfaces),
            port=self._api.port,
            properties={"api": API_PATH, "ver": TXT_VERSION, "home": home.id},
            server=f"{hostname}.local.",
        )
        self._zc = AsyncZeroconf(interfaces=interfaces, ip_version=_ip_version(interfaces))
        # returns once the name is claimed; the announcements go out in a task (kept referenced)
        self._announce = await self._zc.async_register_service(self.info, allow_name_change=True)
        log.info("mDNS: advertising %s on port %d", self.info.name, self._api.port)

    async def stop(self) -> None:
        if self._zc is None:
            return
        try:
            if self.info is not None:
                # await the goodbye packets too, or closing would cancel them
                goodbye = await self._zc.async_unregister_service(self.info)
                await goodbye
        finally:
            await self._zc.async_close()
            self._zc = None


async def browse(
    timeout: float,
    *,
    types: Sequence[KnownType] = KNOWN_TYPES,
    interfaces: Interfaces = InterfaceChoice.All,
    done: Callable[[list[Found]], bool] | None = None,
) -> list[Found]:
    """Services of ``types`` seen within ``timeout`` seconds (sooner once ``done(found)`` holds)."""
    by_type: dict[str, list[KnownType]] = {}
    for kt in types:
        by_type.setdefault(kt.service_type, []).append(kt)
    azc = AsyncZeroconf(interfaces=interfaces, ip_version=_ip_version(interfaces))
    found: dict[tuple[str, str], Found] = {}
    pending: set[asyncio.Task[None]] = set()
    changed = asyncio.Event()

    async def resolve(service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(azc.zeroconf, 3000):
            return
        kt = _classify(by_type.get(service_type, []), name)
        if kt is None:
            return
        found[(service_type, name)] = Found(
            kind=kt.kind,
            service_type=service_type,
            name=name.removesuffix("." + service_type),
            server=info.server,
            addresses=info.parsed_scoped_addresses(),
            port=info.port,
            txt=_txt(info.properties),
            adapter=kt.adapter,
        )
        changed.set()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            found.pop((service_type, name), None)
            return
        task = asyncio.ensure_future(resolve(service_type, name))
        pending.add(task)
        task.add_done_callback(pending.discard)

    browser = AsyncServiceBrowser(azc.zeroconf, list(by_type), handlers=[on_change])
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while done is None or not done(list(found.values())):
                    changed.clear()
                    await changed.wait()
    finally:
        await browser.async_cancel()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await azc.async_close()
    return sorted(found.values(), key=lambda f: (f.kind, f.name))


def _classify(candidates: list[KnownType], name: str) -> KnownType | None:
    for kt in candidates:
        if kt.name_prefix is None or name.lower().startswith(kt.name_prefix.lower()):
            return kt
    return None


def _txt(properties: dict[bytes, bytes | None]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in properties.items():
        k = key.decode("utf-8", errors="replace")
        out[k] = value.decode("utf-8", errors="replace") if value is not None else ""
    return out
