"""``/subscriptions``: consent records of data shared with platforms (``hub.consent``)."""

from __future__ import annotations

from aiohttp import web

from dhi.errors import NotFound, ServiceUnavailable
from dhi.models import SubscriptionRequest
from hub.api.context import PRINCIPAL, api
from hub.api.http import json_response, q_int, read_model
from hub.api.models import Delivery, DeliveryList, RetryResult, SubscriptionList
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
