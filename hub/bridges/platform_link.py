"""Enrolment with a community platform and the acknowledgement channel back (spec §9.4, DHI 1.1).

* ``enrol``: the resident typed a one-time code into the Sharing page; the hub redeems it at the
  platform (``POST <platform>/dhi/v1/enrol``) with the household details the resident chose to
  give, and gets back the webhook URL, a per-home ``whsec_`` secret and the acknowledgement URL.
  The hub then creates the webhook subscription itself: the resident never copies URLs or
  secrets.
* ``PlatformLinks``: for every enrolled subscription the hub keeps one long poll open to the
  platform's acknowledgement URL (signed like a webhook, with the same secret). The platform
  answers as soon as its staff acknowledge or resolve an alert of this home; the hub then
  acknowledges the alert itself, which the resident's web app shows at once and which reaches
  the platform as an ``alert.updated`` webhook. The connection is the hub's: a home behind NAT
  is reachable, and the platform holds no hub tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from dhi.errors import InvalidParams, NotFound, PlatformError
from dhi.models import SubscriptionRequest
from dhi.models.subscription import Consent, Receiver, ReceiverKind, Subscription, Transport
from hub import meta
from hub.consent import ConsentService

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger("dhome.platform_link")
META_PREFIX = "platform_link:"
POLL_WAIT = 25
ENROL_TIMEOUT = 15.0
USER_AGENT = "dhome-link/1"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the resident entered on the Sharing page."""

    platform: str  # the platform's base URL
    code: str
    household: dict[str, Any]  # name, address, contacts: only what the resident chose to give
    alert_kinds: list[str]
    fields: list[str] | None


def signed(secret: str, body: str) -> dict[str, str]:
    msg_id = f"poll_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        "Content-Type": "application/json",
    }


class PlatformLinks:
    """A hub service: enrolments, and one acknowledgement poll per enrolled subscription."""

    name = "platform-links"

    def __init__(self) -> None:
        self._hub: Hub | None = None
        self._session: aiohttp.ClientSession | None = None
        self._polls: dict[str, asyncio.Task[None]] = {}
        self._urls: dict[str, str] = {}  # subscription -> its acknowledgement URL

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("platform links not started")
        return self._hub

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        hub.platform_links = self
        self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        rows = await hub.storage.fetchall(
            "SELECT key, value FROM meta WHERE key LIKE ?", (META_PREFIX + "%",)
        )
        for key, value in rows:
            self._poll(key.removeprefix(META_PREFIX), json.loads(value)["acks_url"])
        consent = self._consent()
        if consent is not None:
            consent.on_change(self._consent_changed)

    async def stop(self) -> None:
        for task in self._polls.values():
            task.cancel()
        for task in self._polls.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._polls.clear()
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------ enrolment
    async def enrol(self, request: Enrolment, actor: str) -> Subscription:
        hub = self.hub
        if hub.subscriptions is None:
            raise PlatformError("the consent service is not running")
        base = request.platform.rstrip("/")
        body = {
            "code": request.code,
            "home": hub.config.home.id,
            "household": request.household,
            "consent": {"alert_kinds": request.alert_kinds, "fields": request.fields},
        }
        answer = await self._post(f"{base}/dhi/v1/enrol", body)
        try:
            webhook, acks, platform = answer["webhook"], answer["acks"], answer["platform"]
            sub_request = SubscriptionRequest(
                receiver=Receiver(name=str(platform["name"])[:200], kind=ReceiverKind.COMMUNITY),
                transport=Transport.WEBHOOK,
                endpoint=str(webhook["url"]),
                secret=str(webhook["secret"]),
                alert_kinds=request.alert_kinds or answer.get("requested", {}).get("alert_kinds", []),
                fields=request.fields,
                consent=Consent(granted_by=actor, granted_at=hub.clock.now()),
            )
            acks_url = str(acks["url"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PlatformError(f"{base}: the enrolment answer is not DHI 1.1 ({exc})") from exc
        sub = await hub.subscriptions.create(sub_request, actor=actor)
        await hub.storage.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (META_PREFIX + sub.id, json.dumps({"acks_url": acks_url, "after": 0})),
        )
        self._poll(sub.id, acks_url)
        log.info("enrolled with %s as subscription %s", base, sub.id)
        return sub

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._session is not None
        try:
            async with self._session.post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=ENROL_TIMEOUT)
            ) as resp:
                answer = await resp.json(content_type=None)
                if resp.status == 404:
                    raise InvalidParams(
                        f"the platform does not accept this code: {_detail(answer)}", field="code",
                        expected="a valid, unused enrolment code from the platform",
                    )  # fmt: skip
                if resp.status != 201 or not isinstance(answer, dict):
                    raise PlatformError(f"{url} answered {resp.status}: {_detail(answer)}")
                return answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PlatformError(f"{url}: {type(exc).__name__}: {exc}") from exc

    # ------------------------------------------------------------ acknowledgements and consent
    def _consent(self) -> ConsentService | None:
        return next((s for s in self.hub.services if isinstance(s, ConsentService)), None)

    def _poll(self, sub_id: str, acks_url: str) -> None:
        self._urls[sub_id] = acks_url
        if sub_id not in self._polls or self._polls[sub_id].done():
            self._polls[sub_id] = asyncio.create_task(
                self._poll_loop(sub_id, acks_url), name=f"acks-{sub_id}"
            )

    def _consent_changed(self, sub_id: str) -> None:
        """The resident changed or withdrew an enrolled subscription: poll again at once, so the
        platform's household record follows now rather than at the next poll."""
        task, url = self._polls.get(sub_id), self._urls.get(sub_id)
        if task is None or url is None:
            return
        task.cancel()
        del self._polls[sub_id]
        self._poll(sub_id, url)

    async def _poll_loop(self, sub_id: str, acks_url: str) -> None:
        hub, delay = self.hub, 1.0
        consent = self._consent()
        while True:
            active = consent.active(sub_id) if consent is not None else None
            try:
                if active is None or not active.secret:
                    # consent withdrawn: the platform is told (retried until it answers), then
                    # the link ends with the subscription
                    await self._tell_withdrawn(sub_id, acks_url)
                    await hub.storage.execute("DELETE FROM meta WHERE key = ?", (META_PREFIX + sub_id,))
                    self._urls.pop(sub_id, None)
                    return
                await self._poll_once(
                    acks_url,
                    sub_id,
                    active.secret,
                    consent_of(active.subscription),
                    active.subscription.receiver.name,
                )
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("acknowledgement poll %s: %s; again in %.0f s", sub_id, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 60.0)

    async def _tell_withdrawn(self, sub_id: str, acks_url: str) -> None:
        """A last poll with ``consent: null`` and no wait. Signed with the subscription's secret,
        which the hub keeps after a withdrawal (the row is marked deleted, not erased)."""
        row = await self.hub.storage.fetchone("SELECT secret FROM subscriptions WHERE id = ?", (sub_id,))
        if row is None or not row[0]:
            return  # nothing to sign with: the platform cannot be told
        await self._poll_once(acks_url, sub_id, str(row[0]), None, None, wait=0, gone_ok=True)
        log.info("told the platform behind %s that subscription %s was withdrawn", acks_url, sub_id)

    async def _poll_once(
        self,
        acks_url: str,
        sub_id: str,
        secret: str,
        consent: dict[str, Any] | None,
        receiver: str | None,
        *,
        wait: int = POLL_WAIT,
        gone_ok: bool = False,
    ) -> None:
        """One poll; it carries the resident's current consent (null: withdrawn)."""
        assert self._session is not None
        hub = self.hub
        link = await meta.read(hub.storage, META_PREFIX + sub_id)
        after = json.loads(link)["after"] if link else 0
        body = json.dumps({"after": after, "wait": wait, "consent": consent})
        timeout = aiohttp.ClientTimeout(total=wait + 15)
        async with self._session.post(
            acks_url, data=body, headers=signed(secret, body), timeout=timeout
        ) as resp:
            if gone_ok and resp.status in (404, 410):
                return  # the platform no longer knows the home: nothing left to tell
            answer = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(answer, dict):
                raise PlatformError(f"{acks_url} answered {resp.status}: {_detail(answer)}")
        if receiver is None:
            return  # the withdrawal notice: no acknowledgements are taken any more
        for item in answer.get("items", []):
            if hub.alerts is not None:
                with contextlib.suppress(NotFound):  # an alert this hub no longer has
                    await hub.alerts.acknowledge(
                        str(item["alert_id"]), by=f"platform:{receiver} · {item.get('by', '')}"
                    )
        if answer.get("next", after) != after:
            await hub.storage.execute(
                "UPDATE meta SET value = ? WHERE key = ?",
                (json.dumps({"acks_url": acks_url, "after": int(answer["next"])}), META_PREFIX + sub_id),
            )


def consent_of(sub: Subscription) -> dict[str, Any]:
    """What the platform's household record shows of the resident's consent (spec §9.4)."""
    expires = sub.consent.expires if sub.consent is not None else None
    return {
        "alert_kinds": [k.value for k in sub.alert_kinds],
        "fields": sub.fields,
        "expires": expires.isoformat() if expires is not None else None,
    }


def _detail(answer: object) -> str:
    if isinstance(answer, dict):
        return str(answer.get("detail") or answer.get("title") or answer)[:300]
    return str(answer)[:300]
