"""The Home Assistant adapter: what a Home Assistant instance reaches, as DHI devices.

``start`` connects to HA's WebSocket API with a long-lived access token, reads the entity,
device and area registries and every state, publishes the devices (``model.describe``) and
follows ``state_changed``; registry changes re-describe the home. Commands become
``call_service``. A lost connection is a crash the supervisor handles like any other: the
devices go unavailable and a fresh instance reconnects with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.home_assistant.mapping import DEFAULT_TEMPERATURE_UNIT, NO_VALUE, STATE, WRITES, dhi_event
from adapters.home_assistant.model import Bound, Filters, HaDevice, describe, read_state
from adapters.home_assistant.ws import AuthFailed, CommandFailed, ConnectionLost, HaConnection
from adapters.sdk import AdapterContext, DeviceMapping
from adapters.sdk.commands import run_command
from adapters.sdk.convert import ConversionError
from adapters.sdk.mqtt.describe import checked
from dhi.catalog import default_catalog
from dhi.errors import (
    AdapterError,
    CommandTimeout,
    DeviceUnavailable,
    HubError,
    InvalidParams,
    UnknownDevice,
    Unsupported,
)
from dhi.models import CommandRequest, CommandResult
from dhi.models.command import SET_COMMAND

#: entities that are HA's own machinery or helpers, not devices of the home
DEFAULT_SKIP_DOMAINS = (
    "automation", "script", "scene", "zone", "person", "sun", "conversation", "tts", "stt",
    "input_boolean", "input_number", "input_select", "input_text", "input_datetime", "input_button",
    "counter", "timer", "schedule", "tag", "todo", "calendar", "weather", "update",
    "assist_satellite", "wake_word", "ai_task", "notify", "image", "camera", "media_player",
)  # fmt: skip


class HomeAssistantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(pattern=r"^(ws|wss|http|https)://")] = Field(
        description="Home Assistant's address, e.g. http://homeassistant.local:8123 (the WebSocket "
        "path /api/websocket is added when missing)"
    )
    token: SecretStr = Field(description="a long-lived access token (HA profile page → Security)")
    skip_domains: list[Annotated[str, Field(pattern=r"^[a-z_]+$")]] = Field(
        default_factory=lambda: list(DEFAULT_SKIP_DOMAINS),
        description="entity domains not imported (HA's helpers and machinery by default)",
    )
    exclude: list[str] = Field(
        default_factory=list, description="entity id patterns not imported (fnmatch, e.g. 'sensor.*_rssi')"
    )
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    command_timeout: Annotated[float, Field(gt=0, le=300)] = 15.0
    #: registry changes often come in bursts (an integration adding a device): wait this long
    redescribe_delay: Annotated[float, Field(ge=0, le=60)] = 0.5

    @property
    def ws_url(self) -> str:
        url = self.url.rstrip("/")
        url = "ws" + url[4:] if url.startswith("http") else url
        return url if url.endswith("/api/websocket") else f"{url}/api/websocket"


class HomeAssistantAdapter:
    name: ClassVar[str] = "home_assistant"
    config_model: ClassVar[type[BaseModel]] = HomeAssistantConfig

    def __init__(self, config: HomeAssistantConfig) -> None:
        self.config = config
        self._ctx: AdapterContext | None = None
        self._conn: HaConnection | None = None
        self._devices: dict[str, HaDevice] = {}  # DHI device id -> device
        self._by_entity: dict[str, tuple[HaDevice, str]] = {}  # entity_id -> (device, entity_id)
        self._redescribe: asyncio.TimerHandle | None = None
        self._describing: asyncio.Task[None] | None = None
        self._filters = Filters(frozenset(config.skip_domains), tuple(config.exclude))

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        """``dhome adapters check``: a recording of HA's WebSocket answers as one JSON object
        ``{"entities": config/entity_registry/list, "devices": config/device_registry/list,
        "states": get_states, "config": get_config}`` ("config" optional: °C without it), mapped
        with the default filters."""
        if not isinstance(data, Mapping) or not isinstance(data.get("states"), list):
            return [
                DeviceMapping.unreadable(
                    "home_assistant", "recording", "states", "expected an object with a 'states' list"
                )
            ]
        found, _ = describe(
            cls.name,
            [e for e in data.get("entities") or [] if isinstance(e, Mapping)],
            [d for d in data.get("devices") or [] if isinstance(d, Mapping)],
            [s for s in data["states"] if isinstance(s, Mapping)],
            catalog=default_catalog(),
            filters=Filters(frozenset(DEFAULT_SKIP_DOMAINS)),
            temperature_unit=temperature_unit_of(data.get("config")) or DEFAULT_TEMPERATURE_UNIT,
        )
        return [d.features.report(d.description) for d in found]

    def __repr__(self) -> str:
        return f"<HomeAssistantAdapter {self.config.ws_url} devices={len(self._devices)}>"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, ctx: AdapterContext) -> None:
        self._ctx = ctx
        conn = HaConnection(
            self.config.ws_url,
            self.config.token.get_secret_value(),
            connect_timeout=self.config.connect_timeout,
            command_timeout=self.config.command_timeout,
        )
        try:
            await conn.__aenter__()
        except AuthFailed as exc:
            ctx.logger.error("%s", exc)
            raise
        self._conn = conn
        ctx.logger.info("connected to Home Assistant %s at %s", conn.ha_version, self.config.ws_url)
        # subscribe first: a change between the snapshot and the subscription is then not lost
        await conn.subscribe("state_changed", self._on_state_changed)
        for event in ("entity_registry_updated", "device_registry_updated", "area_registry_updated"):
            await conn.subscribe(event, self._on_registry_changed)
        await self._describe_all()
        ctx.spawn(self._watch(conn), name=f"home-assistant watch {ctx.adapter}")

    async def _watch(self, conn: HaConnection) -> None:
        await conn.closed.wait()
        raise ConnectionLost(f"Home Assistant connection lost: {conn.close_reason}")

    async def stop(self) -> None:
        if self._redescribe is not None:
            self._redescribe.cancel()
            self._redescribe = None
        if self._describing is not None:
            self._describing.cancel()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ describing

    async def _describe_all(self) -> None:
        ctx, conn = self._require()
        entities = await conn.command("config/entity_registry/list")
        devices = await conn.command("config/device_registry/list")
        areas = await conn.command("config/area_registry/list")
        states = await conn.command("get_states")
        # HA shows every climate entity's temperatures in its configured unit system (°F in the US)
        config = await conn.command("get_config")
        temperature_unit = temperature_unit_of(config)
        if temperature_unit is None:
            ctx.report_invalid(
                "get_config has no unit_system.temperature (expected °C, °F or K); reading °C",
                source=conn.url, payload=config,
            )  # fmt: skip
        for what, value in (("entity registry", entities), ("device registry", devices), ("states", states)):
            if not isinstance(value, list):
                ctx.report_invalid(f"{what} must be a list, got {type(value).__name__}", source=conn.url)
                return
        area_names = {
            a["area_id"]: a["name"]
            for a in areas or []
            if isinstance(a, Mapping) and isinstance(a.get("area_id"), str) and isinstance(a.get("name"), str)
        }
        found, skipped = describe(
            ctx.adapter,
            entities,
            devices,
            states,
            catalog=ctx.catalog,
            filters=self._filters,
            areas=area_names,
            temperature_unit=temperature_unit or DEFAULT_TEMPERATURE_UNIT,
        )
        for reason in skipped:
            ctx.logger.debug("not imported: %s", reason)
        gone = set(self._devices) - {d.description.id for d in found}
        for dev_id in gone:
            ctx.remove_device(dev_id)
            self._devices.pop(dev_id, None)
        by_state = {s["entity_id"]: s for s in states if isinstance(s, Mapping) and "entity_id" in s}
        self._by_entity = {}
        for device in found:
            if not ctx.publish_device(device.description):
                continue
            self._devices[device.description.id] = device
            for entity_id in device.entities:
                self._by_entity[entity_id] = (device, entity_id)
            for entity_id in device.entities:
                self._publish(device, entity_id, by_state.get(entity_id), source="get_states")
            self._update_availability(device, by_state)

    def _on_registry_changed(self, event: dict[str, Any]) -> None:
        if self._redescribe is not None:
            self._redescribe.cancel()
        loop = asyncio.get_running_loop()
        self._redescribe = loop.call_later(self.config.redescribe_delay, self._start_redescribe)

    def _start_redescribe(self) -> None:
        self._redescribe = None
        if self._describing is not None and not self._describing.done():
            self._on_registry_changed({})  # one at a time: try again after this one
            return
        self._describing = asyncio.get_running_loop().create_task(self._redescribe_safely())

    async def _redescribe_safely(self) -> None:
        ctx, _ = self._require()
        try:
            await self._describe_all()
        except (ConnectionLost, CommandFailed, TimeoutError) as exc:
            ctx.logger.warning("re-reading Home Assistant's registries failed: %s", exc)

    # ------------------------------------------------------------------ states

    def _on_state_changed(self, event: dict[str, Any]) -> None:
        ctx, _ = self._require()
        data = event.get("data")
        if not isinstance(data, Mapping) or not isinstance(data.get("entity_id"), str):
            ctx.report_invalid(
                "state_changed event without data.entity_id", source="state_changed", payload=event
            )
            return
        entity_id = data["entity_id"]
        new = data.get("new_state")
        hit = self._by_entity.get(entity_id)
        if hit is None:
            if data.get("old_state") is None or new is None:
                self._on_registry_changed({})  # an entity came or went: describe again
            return
        device, _ = hit
        if new is None:
            self._on_registry_changed({})
            return
        if not isinstance(new, Mapping):
            ctx.report_invalid("new_state must be an object", source=entity_id, payload=new)
            return
        self._publish(device, entity_id, new, source=entity_id)
        self._fire(device, entity_id, data.get("old_state"), new)
        self._update_availability(device, {entity_id: new})

    def _fire(self, device: HaDevice, entity_id: str, old: Any, new: Mapping[str, Any]) -> None:
        """An HA event entity fired (its state, the time of the last event, moved on): the DHI
        event of its capability. Never on start-up: the state read then is a past event."""
        ctx, _ = self._require()
        part = device.entities[entity_id]
        stamp = new.get("state")
        if (
            part.domain != "event"
            or stamp in NO_VALUE
            or (isinstance(old, Mapping) and old.get("state") == stamp)
        ):
            return
        attrs = new.get("attributes")
        ha_type = attrs.get("event_type") if isinstance(attrs, Mapping) else None
        for cap, bound in part.caps.items():
            if not bound.events:
                continue
            found = dhi_event(ha_type, bound.events) if isinstance(ha_type, str) else None
            if found is None:
                ctx.report_invalid(
                    f"{entity_id}: event type {ha_type!r} is none of {cap}'s events {sorted(bound.events)}",
                    source=entity_id, payload=ha_type,
                )  # fmt: skip
                continue
            event, payload = found
            ctx.publish_event(device.description.id, cap, event, payload, component=part.component)

    def _publish(
        self, device: HaDevice, entity_id: str, state: Mapping[str, Any] | None, *, source: str
    ) -> None:
        ctx, _ = self._require()
        if state is None:
            return
        part = device.entities[entity_id]
        reading = read_state(part, state)
        errors = list(reading.errors)
        for (comp, cap), props in reading.reports.items():
            values = self._drop_unset(device, comp, cap, props)
            good, bad = checked(device.description.components, comp, cap, values, ctx.catalog)
            errors.extend(bad)
            if good:
                ctx.publish_state(device.description.id, cap, good, component=comp)
        for reason in errors:
            ctx.report_invalid(reason, source=source, payload=state.get("state"))

    def _drop_unset(self, device: HaDevice, comp: str, cap: str, props: dict[str, Any]) -> dict[str, Any]:
        """HA's ``unknown``/``unavailable`` is a null value; a property that may not be null
        keeps its last value instead (availability says the rest)."""
        ctx, _ = self._require()
        component = device.description.component(comp)
        inst = component.capability(cap) if component is not None else None
        definition = (inst.definition if inst is not None else None) or ctx.catalog.get(cap)
        if definition is None:
            return props
        out = {}
        for name, value in props.items():
            prop = definition.property(name)
            if value is None and prop is not None and not prop.nullable:
                continue
            out[name] = value
        return out

    def _update_availability(self, device: HaDevice, states: Mapping[str, Any]) -> None:
        """A device is unavailable when every one of its entities says ``unavailable``."""
        ctx, _ = self._require()
        seen = [s.get("state") for e, s in states.items() if e in device.entities and isinstance(s, Mapping)]
        if not seen:
            return
        if len(states) < len(device.entities):  # one entity changed: it alone can only bring it back
            if seen[0] != "unavailable":
                ctx.set_available(device.description.id, True, "entity available")
            return
        available = any(s != "unavailable" for s in seen)
        ctx.set_available(
            device.description.id,
            available,
            "Home Assistant reports it available"
            if available
            else "Home Assistant reports every entity unavailable",
        )

    # ------------------------------------------------------------------ commands

    async def execute(self, cmd: CommandRequest) -> CommandResult:
        return await run_command(cmd, self._execute)

    async def _execute(self, cmd: CommandRequest) -> dict[str, Any] | None:
        device = self._devices.get(cmd.device or "")
        if device is None or self._conn is None:
            raise UnknownDevice(f"no Home Assistant device {cmd.device!r}", field="device")
        part = next((p for p in device.entities.values() if p.component == cmd.component), None)
        bound = part.caps.get(cmd.capability) if part is not None else None
        if part is None or bound is None:
            raise Unsupported(f"{cmd.component}/{cmd.capability} takes no commands", field="capability")
        calls: list[tuple[str, str, dict[str, Any]]] = []
        if cmd.command == SET_COMMAND:
            for prop, value in cmd.params.items():
                row = next((r for r in bound.commands if r.command == f"set:{prop}"), None)
                if row is not None:
                    try:
                        shown = in_entity_units(bound, {prop: value})
                        calls.append((part.domain, row.service_for(shown), row.data(shown)))
                    except (KeyError, ConversionError) as exc:
                        raise InvalidParams(
                            f"{cmd.capability}.{prop}: {exc}", field=f"params.{prop}"
                        ) from None
                elif bound.writable == prop and part.domain in WRITES:
                    service_of, data_of = WRITES[part.domain]
                    shown = to_entity(bound, prop, value)
                    calls.append((part.domain, service_of(shown), data_of(shown)))
                else:
                    raise Unsupported(
                        f"{cmd.capability}.{prop} cannot be set through Home Assistant",
                        field=f"params.{prop}",
                    )
        else:
            row = next((r for r in bound.commands if r.command == cmd.command), None)
            if row is None:
                raise Unsupported(f"{part.entity_id} cannot {cmd.command!r}", field="command")
            try:
                shown = in_entity_units(bound, cmd.params)
                calls.append((part.domain, row.service_for(shown), row.data(shown)))
            except (KeyError, ConversionError) as exc:
                raise InvalidParams(f"{cmd.command}: {exc}", field="params") from None
        for domain, service, data in calls:
            await self._call(domain, service, part.entity_id, data, cmd)
        return None

    async def _call(
        self, domain: str, service: str, entity_id: str, data: dict[str, Any], cmd: CommandRequest
    ) -> None:
        conn = self._conn
        if conn is None:
            raise DeviceUnavailable(f"not connected to Home Assistant for {cmd.device}")
        try:
            await conn.command(
                "call_service",
                domain=domain,
                service=service,
                service_data=data,
                target={"entity_id": entity_id},
            )
        except TimeoutError:
            raise CommandTimeout(
                f"Home Assistant did not answer {domain}.{service} for {entity_id}"
            ) from None
        except ConnectionLost as exc:
            raise DeviceUnavailable(f"Home Assistant connection lost: {exc}") from None
        except CommandFailed as exc:
            raise service_error(exc) from None

    # ------------------------------------------------------------------ helpers

    def _require(self) -> tuple[AdapterContext, HaConnection]:
        if self._ctx is None or self._conn is None:
            raise AdapterError("the Home Assistant adapter is not running")
        return self._ctx, self._conn


def to_entity(bound: Bound, prop: str, value: Any) -> Any:
    """A DHI value as the entity takes it: the way back of the converter that reads the entity
    (a number HA shows in °F, Wh, … is set in that unit, not in the catalog's)."""
    reader = next((v for v in bound.values if v.property == prop and v.source == STATE), None)
    if reader is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value  # only numbers carry a unit; switches and selects take the DHI value as it is
    try:
        return reader.convert.back(value)
    except ConversionError as exc:
        raise InvalidParams(f"{bound.capability}.{prop}: {exc}", field=f"params.{prop}") from None


def in_entity_units(bound: Bound, params: Mapping[str, Any]) -> dict[str, Any]:
    """Command parameters in the units the entity takes: a temperature of a °F thermostat is sent
    in °F (the catalog's, and the caller's, is °C)."""
    out = dict(params)
    for name, row in bound.units.items():
        value = out.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = round(row.from_dhi(float(value)), 6)
    return out


def temperature_unit_of(config: Any) -> str | None:
    """HA's configured temperature unit from a ``get_config`` answer; None: it does not say."""
    units = config.get("unit_system") if isinstance(config, Mapping) else None
    unit = units.get("temperature") if isinstance(units, Mapping) else None
    return unit if isinstance(unit, str) and unit else None


#: HA's WebSocket error codes (websocket_api/const.py) -> DHI errors
SERVICE_ERRORS: dict[str, type[HubError]] = {
    "invalid_format": InvalidParams,
    "service_validation_error": InvalidParams,
    "not_found": Unsupported,
    "not_supported": Unsupported,
    "unauthorized": AdapterError,
    "home_assistant_error": AdapterError,
    "timeout": CommandTimeout,
}


def service_error(exc: CommandFailed) -> HubError:
    cls = SERVICE_ERRORS.get(exc.code, AdapterError)
    return cls(f"Home Assistant refused the service call ({exc.code}): {exc.message}")
