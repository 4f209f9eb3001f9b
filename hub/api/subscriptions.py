"""``/subscriptions``: consent records of data shared with platforms (``hub.consent``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dhi.errors import InvalidParams, NotFound, ServiceUnavailable
from dhi.models import SubscriptionRequest
from hub.api.context import PRINCIPAL, api
from hub.api.http import json_response, q_int, read_json, read_model
from hub.api.models import Delivery, DeliveryList, RetryResult, SubscriptionList
from hub.bridges.platform_link import Enrolment
from hub.consent.deliveries import check_state
from hub.services import SubscriptionService


def _service(request: web.Request) -> SubscriptionService:
    service = api(request).hub.subscriptions
    if service is None:
        raise ServiceUnavailable("the consent/subscription service is not running on this hub")
    return service


def _existing(service: SubscriptionService, sub_id: str) -> None:
    if service.get_subscription(sub_id) is None:
        raise NotFound(f"no subscription {sub_id!r}", field="id")


async def list_subscriptions(request: web.Request) -> web.Response:
    return json_response(SubscriptionList(items=_service(request).list_subscriptions()))


async def create_subscription(request: web.Request) -> web.Response:
    service = _service(request)
    body = await read_model(request, SubscriptionRequest)
    sub = await service.create(body, actor=request[PRINCIPAL].actor)
    return json_response(sub, status=201, headers={"Location": f"/api/v1/subscriptions/{sub.id}"})


async def get_subscription(request: web.Request) -> web.Response:
    sub_id = request.match_info["id"]
    sub = _service(request).get_subscription(sub_id)
    if sub is None:
        raise NotFound(f"no subscription {sub_id!r}", field="id")
    return json_response(sub)


async def update_subscription(request: web.Request) -> web.Response:
    service = _service(request)
    sub_id = request.match_info["id"]
    _existing(service, sub_id)
    body = await read_model(request, SubscriptionRequest)
    return json_response(await service.update(sub_id, body, actor=request[PRINCIPAL].actor))


async def delete_subscription(request: web.Request) -> web.Response:
    """Withdraw consent: delivery stops at once."""
    service = _service(request)
    await service.withdraw(request.match_info["id"], actor=request[PRINCIPAL].actor)
    return web.Response(status=204)


async def list_deliveries(request: web.Request) -> web.Response:
    service = _service(request)
    sub_id = request.match_info["id"]
    limit = q_int(request, "limit", 100, 1, 1000)
    state = request.query.get("status")
    check_state(state)
    _existing(service, sub_id)
    rows = await service.deliveries(sub_id, limit, state)
    return json_response(DeliveryList(items=[Delivery.model_validate(r) for r in rows]))


async def retry_delivery(request: web.Request) -> web.Response:
    """Resend one dead letter now (audited ``share.requeued``)."""
    service = _service(request)
    sub_id, message_id = request.match_info["id"], request.match_info["message_id"]
    _existing(service, sub_id)
    n = await service.retry(sub_id, request[PRINCIPAL].actor, message_id)
    return json_response(RetryResult(requeued=n), status=202)


async def retry_deliveries(request: web.Request) -> web.Response:
    """Resend every dead letter of the subscription now."""
    service = _service(request)
    sub_id = request.match_info["id"]
    _existing(service, sub_id)
    n = await service.retry(sub_id, request[PRINCIPAL].actor)
    return json_response(RetryResult(requeued=n), status=202)


ENROL_TEXT = {"name": 200, "address": 500}
CONTACT_TEXT = ("name", "phone", "relation")


def parse_enrolment(body: object) -> Enrolment:
    """The Sharing page's enrolment form: platform address, code, what the resident tells the
    centre about the household, and what may be shared (alert kinds, fields)."""
    if not isinstance(body, dict):
        raise InvalidParams("send a JSON object", field="(body)")
    platform, code = body.get("platform"), body.get("code")
    if (
        not isinstance(platform, str)
        or not platform.startswith(("http://", "https://"))
        or len(platform) > 500
    ):
        raise InvalidParams("the platform's address", field="platform", expected="http(s)://host[:port]")
    if not isinstance(code, str) or not 4 <= len(code) <= 40:
        raise InvalidParams(
            "the enrolment code the platform gave you", field="code", expected="e.g. ABCD-EFGH-JKLM"
        )
    raw = body.get("household")
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise InvalidParams("at least a name for the household", field="household.name")
    household: dict[str, Any] = {}
    for key, limit in ENROL_TEXT.items():
        value = raw.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidParams(f"text of at most {limit} characters", field=f"household.{key}")
        household[key] = value.strip()
    contacts = raw.get("contacts", [])
    if not isinstance(contacts, list) or len(contacts) > 5 or not all(isinstance(c, dict) for c in contacts):
        raise InvalidParams("at most 5 contacts, each {name, phone, relation}", field="household.contacts")
    household["contacts"] = [{k: str(c.get(k, ""))[:100] for k in CONTACT_TEXT} for c in contacts]
    kinds = body.get("alert_kinds", [])
    fields = body.get("fields")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise InvalidParams("a list of alert kinds", field="alert_kinds")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise InvalidParams("a list of field names, or absent for all", field="fields")
    return Enrolment(
        platform=platform, code=code.strip(), household=household, alert_kinds=kinds, fields=fields
    )


async def enrol_subscription(request: web.Request) -> web.Response:
    """Redeem a platform's one-time enrolment code: the subscription and its secret come from the
    platform; the consent is the resident's, given by submitting the form."""
    enrolment = parse_enrolment(await read_json(request))
    links = api(request).hub.platform_links
    if links is None:
        raise ServiceUnavailable("platform enrolment is not running on this hub")
    sub = await links.enrol(enrolment, actor=request[PRINCIPAL].actor)
    return json_response(sub, status=201, headers={"Location": f"/api/v1/subscriptions/{sub.id}"})
