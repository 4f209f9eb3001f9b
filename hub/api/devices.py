"""``/devices``: the registry, latest state, history, commands and WoT Thing Descriptions."""

from __future__ import annotations

import uuid
from email.utils import format_datetime
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from dhi.checks import resolve_capability
from dhi.errors import InvalidDocument, InvalidParams, NotFound, UnknownDevice
from dhi.models import CommandRequest, CommandResult, CommandStatus
from dhi.models.command import SET_COMMAND
from hub.api.context import api
from hub.api.http import (
    JSON,
    json_response,
    q_int,
    q_str,
    q_time,
    read_json,
    read_model,
)
from hub.api.models import (
    CapabilityIdValue,
    ComponentIdValue,
    DeviceEntry,
    DeviceState,
    HistoryEntry,
    HistoryPage,
    MemberNameValue,
    PropertyState,
)
from hub.api.problems import from_error_info
from hub.registry import DeviceRecord
from hub.td import thing_description

TD_JSON = "application/td+json"


def _device(request: web.Request) -> DeviceRecord:
    device_id = request.match_info["id"]
    rec = api(request).hub.registry.get(device_id)
    if rec is None:
        raise UnknownDevice(f"no device {device_id!r}", field="id")
    return rec


def _entry(rec: DeviceRecord) -> DeviceEntry:
    return DeviceEntry(device=rec.description, available=rec.available, added=rec.added, updated=rec.updated)


def _entry_json(cache: dict[str, tuple[tuple[Any, ...], bytes]], rec: DeviceRecord) -> bytes:
    """A device's entry as JSON, encoded once per version of its record: a page of the
    registry is mostly the same bytes each time, and encoding 50 descriptions took ~2.5 ms of
    the event loop per request (issue 26: with the hub saturated, REST was half the loop)."""
    version = (rec.description, rec.available, rec.added, rec.updated)
    cached = cache.get(rec.id)
    if cached is not None and cached[0][0] is rec.description and cached[0][1:] == version[1:]:
        return cached[1]
    data = orjson.dumps(_entry(rec).model_dump(mode="json", by_alias=True, exclude_none=True))
    cache[rec.id] = (version, data)
    return data


async def list_devices(request: web.Request) -> web.Response:
    """Devices sorted by id, filtered by room, capability and adapter; ``cursor`` pages."""
    room = q_str(request, "room")
    capability = q_str(request, "capability", CapabilityIdValue)
    adapter = q_str(request, "adapter", max_length=64)
    limit = q_int(request, "limit", 100, 1, 1000)
    after = q_str(request, "cursor", min_length=1)
    ctx = api(request)
    records = ctx.hub.registry.all()
    cache = ctx.entry_json
    if len(cache) > 2 * len(records) + 100:  # devices removed: drop their entries
        cache.clear()
    items: list[bytes] = []
    last = ""
    more = False
    for rec in records:
        desc = rec.description
        if after is not None and rec.id <= after:
            continue
        if room is not None and desc.room != room:
            continue
        if adapter is not None and rec.adapter != adapter:
            continue
        if capability is not None and capability not in desc.capability_ids():
            continue
        if len(items) == limit:
            more = True
            break
        items.append(_entry_json(cache, rec))
        last = rec.id
    # the JSON of ``DevicePage(items=..., next=...)``, put together from the entries' own
    tail = b"]," + orjson.dumps({"next": last})[1:] if more and items else b"]}"
    return web.Response(body=b'{"items":[' + b",".join(items) + tail, content_type=JSON)


async def get_device(request: web.Request) -> web.Response:
    return json_response(_entry(_device(request)))


async def get_state(request: web.Request) -> web.Response:
    rec = _device(request)
    values = api(request).hub.state.of_device(rec.id)
    components = {
        comp: {
            cap: {
                prop: PropertyState(value=v.value, time=v.time, source=v.source) for prop, v in props.items()
            }
            for cap, props in caps.items()
        }
        for comp, caps in values.items()
    }
    return json_response(DeviceState(device=rec.id, available=rec.available, components=components))


def _property_path(request: web.Request) -> tuple[DeviceRecord, str, str, str]:
    """Device, component, capability and property named by the URL, each checked to exist."""
    rec = _device(request)
    component = request.match_info["component"]
    capability = request.match_info["capability"]
    prop = request.match_info["property"]
    try:
        inst, definition = resolve_capability(
            rec.description, component, capability, api(request).hub.catalog
        )
    except InvalidDocument as exc:
        raise NotFound(exc.message, field=exc.field) from None
    pdef = definition.property(prop)
    if pdef is None or (inst.properties is not None and prop not in inst.properties):
        raise NotFound(f"{capability} of {rec.id} has no property {prop!r}", field="property")
    return rec, component, capability, prop


async def get_property(request: web.Request) -> web.Response:
    """The latest value itself (a WoT ``readproperty``); its time is in ``Last-Modified``."""
    rec, component, capability, prop = _property_path(request)
    value = api(request).hub.state.get(rec.id, component, capability, prop)
    if value is None:
        raise NotFound(f"{rec.id} has not reported {component}/{capability}/{prop} yet", field="property")
    return web.Response(
        body=orjson.dumps(value.value),
        content_type="application/json",
        headers={"Last-Modified": format_datetime(value.time, usegmt=True)},
    )


async def put_property(request: web.Request) -> web.Response:
    """Write a property (WoT ``writeproperty``): the body is the value; runs the ``set`` command."""
    rec, component, capability, prop = _property_path(request)
    value = await read_json(request)
    cmd = CommandRequest(
        id=uuid.uuid4().hex,
        device=rec.id,
        component=component,
        capability=capability,
        command=SET_COMMAND,
        params={prop: value},
    )
    return await _run(request, cmd)


async def post_command(request: web.Request) -> web.Response:
    rec = _device(request)
    cmd = await read_model(request, CommandRequest)
    if cmd.device is not None and cmd.device != rec.id:
        raise InvalidParams(
            f"the body names device {cmd.device!r} but the URL {rec.id!r}",
            field="body.device",
            expected=rec.id,
        )
    return await _run(request, cmd.model_copy(update={"device": rec.id}))


async def post_action(request: web.Request) -> web.Response:
    """Invoke a command (WoT ``invokeaction``): the body is the parameter object (or empty)."""
    rec = _device(request)
    params: Any = await read_json(request, default={})
    if not isinstance(params, dict):
        raise InvalidParams(
            "the action input must be a JSON object of parameters", field="body", expected="object"
        )
    component, capability, command = (request.match_info[k] for k in ("component", "capability", "command"))
    try:
        cmd = CommandRequest(
            id=uuid.uuid4().hex,
            device=rec.id,
            component=component,
            capability=capability,
            command=command,
            params=params,
        )
    except ValidationError:  # a malformed name in the URL: no such action
        raise NotFound(
            f"{rec.id} has no action {component}/{capability}/{command}", field="command"
        ) from None
    return await _run(request, cmd)


async def _run(request: web.Request, cmd: CommandRequest) -> web.Response:
    result: CommandResult = await api(request).hub.execute(cmd)
    if result.status is CommandStatus.OK:
        return json_response(result)
    assert result.error is not None  # guaranteed by CommandResult's validator
    return from_error_info(result.error, request, result=result.to_json())


async def get_td(request: web.Request) -> web.Response:
    rec = _device(request)
    ctx = api(request)
    td = thing_description(rec.description, ctx.hub.catalog, _api_base(request))
    return web.Response(body=orjson.dumps(td), content_type=TD_JSON)


def _api_base(request: web.Request) -> str:
    """The API root for the TD's forms (``api.base_url``, else the address this connection reached)."""
    return api(request).public_base(request) + "/api/v1/"


async def get_history(request: web.Request) -> web.Response:
    """Stored values of one device, oldest first, filtered by time and member; ``cursor`` pages."""
    rec = _device(request)
    since = q_time(request, "since")
    until = q_time(request, "until")
    limit = q_int(request, "limit", 100, 1, 1000)
    component = q_str(request, "component", ComponentIdValue)
    capability = q_str(request, "capability", CapabilityIdValue)
    prop = q_str(request, "property", MemberNameValue)
    after = q_int(request, "cursor", 0, 0)
    sql = "SELECT seq, component, capability, property, value, time FROM history WHERE device = ? AND seq > ?"
    params: list[Any] = [rec.id, after]
    for column, value in (("component", component), ("capability", capability), ("property", prop)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    if since is not None:
        sql += " AND time >= ?"
        params.append(since.isoformat())
    if until is not None:
        sql += " AND time < ?"
        params.append(until.isoformat())
    sql += " ORDER BY seq LIMIT ?"
    params.append(limit + 1)
    storage = api(request).hub.storage
    await storage.flush()
    rows = await storage.fetchall(sql, params)
    items = [
        HistoryEntry(seq=seq, component=c, capability=cap, property=p, value=orjson.loads(v), time=t)
        for seq, c, cap, p, v, t in rows[:limit]
    ]
    cursor = items[-1].seq if len(rows) > limit else None
    return json_response(HistoryPage(items=items, next=cursor))
