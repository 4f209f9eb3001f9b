"""Bearer tokens with scopes (DESIGN §5).

A token is ``dhk_`` + 32 random bytes (URL-safe base64). It is shown once; the hub keeps
only its SHA-256 hash in the ``tokens`` table. A presented token is hashed, looked up by
hash and compared with ``hmac.compare_digest``. Failed attempts are counted
(``dhome_auth_failures``) and an address that keeps presenting bad tokens is refused with
429 for a while, so tokens cannot be guessed at network speed.

Scopes: ``read`` (devices, state, events, catalog, alerts, subscriptions, metrics),
``control`` (commands; includes read), ``alerts`` (acknowledge alerts, nothing else) and
``admin`` (tokens, subscriptions, audit, adapters; includes every other scope).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from dhi.errors import InvalidParams, NotFound
from hub.api.models import Scope, TokenInfo
from hub.storage import Storage

TOKEN_PREFIX = "dhk_"

#: scope -> the scopes it includes besides itself
IMPLIES: dict[Scope, frozenset[Scope]] = {
    Scope.READ: frozenset(),
    Scope.CONTROL: frozenset({Scope.READ}),
    Scope.ALERTS: frozenset(),
    Scope.ADMIN: frozenset({Scope.READ, Scope.CONTROL, Scope.ALERTS}),
}


def effective(scopes: Iterable[Scope]) -> frozenset[Scope]:
    out: set[Scope] = set()
    for s in scopes:
        out |= {s, *IMPLIES[s]}
    return frozenset(out)


def parse_scopes(text: str) -> list[Scope]:
    """``"read,control"`` -> scopes; an unknown name is an error that lists the valid ones."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InvalidParams("no scope given", field="scopes", expected=_valid_scopes())
    out: list[Scope] = []
    for name in names:
        try:
            scope = Scope(name)
        except ValueError:
            raise InvalidParams(f"unknown scope {name!r}", field="scopes", expected=_valid_scopes()) from None
        if scope not in out:
            out.append(scope)
    return out


def _valid_scopes() -> str:
    return "comma-separated list of " + ", ".join(s.value for s in Scope)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme is case-insensitive)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id and name and what it may do."""

    token_id: str
    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}({self.name})"


class TokenStore:
    """Tokens in the hub's SQLite file; works inside the hub and offline (``dhome token``).

    A token found valid is remembered for ``VERIFIED_FOR`` seconds, so an API request is
    answered without waiting for a read on the storage's thread (on a saturated hub each such
    wait is a loop turn or more, issue 26). A revocation forgets every remembered token at
    once: in this process directly, and in the hub when ``dhome token revoke`` runs beside it
    through the revocation marker (``<db>-tokens``, one byte appended per revocation, whose
    size and time the hub compares on each check: a ``stat``, no read of the database)."""

    #: ``last_used`` is written at most this often per token (seconds)
    TOUCH_INTERVAL = 60.0
    #: seconds a token found valid is trusted without reading it again (revocations end it at once)
    VERIFIED_FOR = 60.0
    #: most tokens remembered (beyond: forgotten all together, then read again)
    VERIFIED_MAX = 1024

    def __init__(self, storage: Storage, now: Callable[[], datetime]) -> None:
        self._storage = storage
        self._now = now
        self._touched: dict[str, float] = {}
        self._verified: dict[str, tuple[Principal, float]] = {}
        #: bumped by every forgetting, so a check that read the database before it does not
        #: remember what it read
        self._generation = 0
        self._marker = storage.path.with_name(storage.path.name + "-tokens")
        self._marker_seen = self._marker_stamp()

    async def create(self, name: str, scopes: Iterable[Scope]) -> tuple[TokenInfo, str]:
        """Store a new token and return it with its secret (the only time the secret exists)."""
        scope_list = sorted(set(scopes), key=list(Scope).index)
        if not scope_list:
            raise InvalidParams("a token needs at least one scope", field="scopes", expected=_valid_scopes())
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(id="tok_" + secrets.token_hex(6), name=name, scopes=scope_list, created=self._now())
        await self._storage.execute(
            "INSERT INTO tokens (id, name, hash, scopes, created) VALUES (?,?,?,?,?)",
            (info.id, info.name, hash_token(secret), ",".join(scope_list), info.created.isoformat()),
        )
        return info, secret

    async def list(self) -> list[TokenInfo]:
        await self._storage.flush()
        rows = await self._storage.fetchall(
            "SELECT id, name, scopes, created, last_used, revoked FROM tokens ORDER BY created, id"
        )
        return [_info(row) for row in rows]

    async def get(self, token_id: str) -> TokenInfo:
        await self._storage.flush()
        row = await self._storage.fetchone(
            "SELECT id, name, scopes, created, last_used, revoked FROM tokens WHERE id = ?", (token_id,)
        )
        if row is None:
            raise NotFound(f"no token {token_id!r}", field="id")
        return _info(row)

    async def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token (idempotent); it stops working at once."""
        info = await self.get(token_id)
        if info.revoked is None:
            await self._storage.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (self._now().isoformat(), token_id),
            )
            self._forget()
            self._mark_revoked()
            info = await self.get(token_id)
        return info

    async def verify(self, secret: str) -> Principal | None:
        """The principal of a valid, unrevoked token; ``None`` otherwise."""
        digest = hash_token(secret)
        stamp = self._marker_stamp()
        if stamp != self._marker_seen:  # revoked by another process (``dhome token revoke``)
            self._marker_seen = stamp
            self._forget()
        mono = time.monotonic()
        known = self._verified.get(digest)
        if known is not None and mono - known[1] < self.VERIFIED_FOR:
            self._touch(known[0].token_id)
            return known[0]
        generation = self._generation
        row = await self._storage.fetchone(
            "SELECT id, name, hash, scopes, revoked FROM tokens WHERE hash = ?", (digest,)
        )
        if row is None:
            return None
        token_id, name, stored, scopes, revoked = row
        if not hmac.compare_digest(str(stored), digest) or revoked is not None:
            return None
        self._touch(token_id)
        principal = Principal(token_id, name, effective(Scope(s) for s in scopes.split(",") if s))
        if generation == self._generation:
            if len(self._verified) >= self.VERIFIED_MAX:
                self._verified.clear()
            self._verified[digest] = (principal, mono)
        return principal

    def _forget(self) -> None:
        self._verified.clear()
        self._generation += 1

    def _marker_stamp(self) -> tuple[int, int] | None:
        try:
            st = self._marker.stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    def _mark_revoked(self) -> None:
        """Tell a hub running on this database (if this is ``dhome token``) to forget what it
        remembers: the marker grows by one byte, so its size differs after every revocation."""
        fd = os.open(self._marker, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)

    def _touch(self, token_id: str) -> None:
        mono = time.monotonic()
        if mono - self._touched.get(token_id, -1e9) < self.TOUCH_INTERVAL:
            return
        self._touched[token_id] = mono
        self._storage.write(
            "UPDATE tokens SET last_used = ? WHERE id = ?", (self._now().isoformat(), token_id)
        )


def _info(row: tuple[object, ...]) -> TokenInfo:
    token_id, name, scopes, created, last_used, revoked = row
    return TokenInfo.model_validate(
        {
            "id": token_id,
            "name": name,
            "scopes": [s for s in str(scopes).split(",") if s],
            "created": created,
            "last_used": last_used,
            "revoked": revoked,
        }
    )


class FailureLimiter:
    """Refuses an address for ``window`` seconds once it failed ``limit`` times within it.

    Bounded memory: at most ``max_addresses`` addresses are tracked (oldest forgotten).
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._max = max_addresses
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may try again, or ``None`` if it is not blocked."""
        q = self._failures.get(address)
        if q is None:
            return None
        now = self._clock()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[address]
            return None
        if len(q) < self.limit:
            return None
        return min(self.window, max(0.0, q[0] + self.window - now))

    def record(self, address: str) -> None:
        q = self._failures.get(address)
        if q is None:
            q = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self._max:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(address)
        q.append(self._clock())

    def reset(self, address: str) -> None:
        self._failures.pop(address, None)
