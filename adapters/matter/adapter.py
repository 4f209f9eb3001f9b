"""``MatterAdapter``: Matter devices through a Matter Server (python-matter-server / matterjs-server).

Node data from the server is mapped by :mod:`adapters.matter.mapping`; attribute updates
and node events become DHI state and events; DHI commands go out as ``device_command``
(cluster commands) or ``write_attribute`` (writable properties set with ``set``), with
the mapping's reverse converters. Device ids are ``<instance>:<node_id>`` and, for
devices behind a bridge, ``<instance>:<node_id>-<endpoint>`` (see the mapping module).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from adapters.matter import clusters as cl
from adapters.matter.connection import Backoff, ConnectionLost, MatterClient, NotConnected
from adapters.matter.mapping import CapBinding, NodeMapping, catalog_lookup, map_node
from adapters.matter.node import Node, NodeFormatError, attribute_path, normalize_node, parse_node, parse_path
from adapters.matter.offline import map_dump
from adapters.matter.protocol import Command, CommandFailed, Event, EventMessage, ProtocolError
from adapters.matter.schema import Cmd, Via, ViaBool, Write
from adapters.sdk.adapter import AdapterContext
from adapters.sdk.convert import ConversionError
from adapters.sdk.report import DeviceMapping
from dhi.errors import (
    AdapterError,
    CommandTimeout,
    DeviceUnavailable,
    HubError,
    InvalidParams,
    NotWritable,
    UnknownCapability,
    UnknownCommand,
    UnknownDevice,
    UnknownProperty,
)
from dhi.models import CommandRequest, CommandResult, DeviceDescription
from dhi.models.command import SET_COMMAND, CommandStatus


class MatterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(default="ws://127.0.0.1:5580/ws", description="WebSocket URL of the Matter Server")
    reconnect_initial: Annotated[float, Field(gt=0, le=60)] = 0.5
    reconnect_max: Annotated[float, Field(gt=0, le=3600)] = 30.0
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    command_timeout: Annotated[float, Field(gt=0, le=300)] = 15.0


class MatterAdapter:
    name: ClassVar[str] = "matter"
    config_model: ClassVar[type[BaseModel]] = MatterConfig

    def __init__(self, config: MatterConfig | None = None) -> None:
        self.config = config or MatterConfig()
        self._ctx: AdapterContext | None = None
        self._client: MatterClient | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._raw: dict[int, dict[str, Any]] = {}  # node id -> flat node data
        self._nodes: dict[int, Node] = {}
        self._maps: dict[int, NodeMapping] = {}
        self._device_node: dict[str, int] = {}
        self._published: dict[str, DeviceDescription] = {}
        self._last_state: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._available: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"MatterAdapter(url={self.config.url!r}, nodes={len(self._nodes)}, devices={len(self._published)})"

    # ------------------------------------------------------------ lifecycle
    @property
    def ctx(self) -> AdapterContext:
        if self._ctx is None:
            raise RuntimeError("the Matter adapter is not started")
        return self._ctx

    @property
    def client(self) -> MatterClient:
        if self._client is None:
            raise RuntimeError("the Matter adapter is not started")
        return self._client

    async def start(self, ctx: AdapterContext) -> None:
        self._ctx = ctx
        self._client = MatterClient(
            self.config.url,
            on_nodes=self._on_nodes,
            on_event=self._on_event,
            on_lost=self._on_lost,
            backoff=Backoff(initial=self.config.reconnect_initial, maximum=self.config.reconnect_max),
            connect_timeout=self.config.connect_timeout,
            logger=ctx.logger,
        )
        ctx.spawn(self._run(), "matter-connection")

    async def _run(self) -> None:
        self._run_task = asyncio.current_task()
        await self.client.run()

    async def stop(self) -> None:
        task, self._run_task = self._run_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @classmethod
    def map_offline(cls, data: Any) -> list[DeviceMapping]:
        from dhi.catalog import CatalogLoadError, default_catalog

        try:
            catalog = default_catalog()
        except (CatalogLoadError, OSError):
            catalog = None  # the report still works; nullability then defaults to "allowed"
        return map_dump(data, prefix=cls.name, catalog=catalog)

    # ------------------------------------------------------------ server -> hub
    async def _on_nodes(self, nodes: list[dict[str, Any]]) -> None:
        seen = set()
        for raw in nodes:
            node_id = self._apply(raw)
            if node_id is not None:
                seen.add(node_id)
        for gone in set(self._nodes) - seen:
            self._forget(gone)  # removed while we were disconnected

    async def _on_lost(self, reason: str) -> None:
        for device_id in list(self._published):
            self._set_available(device_id, False, f"Matter server unreachable: {reason}")

    async def _on_event(self, msg: EventMessage) -> None:
        try:
            self._dispatch(msg)
        except (NodeFormatError, KeyError, TypeError, ValueError) as exc:
            self.ctx.report_invalid(
                f"Matter {msg.event} event: {exc}", source="matter-server", payload=msg.data
            )

    def _dispatch(self, msg: EventMessage) -> None:
        data = msg.data
        if msg.event in (Event.NODE_ADDED, Event.NODE_UPDATED):
            self._apply(data)
        elif msg.event == Event.NODE_REMOVED:
            self._forget(int(data))
        elif msg.event == Event.ATTRIBUTE_UPDATED:
            node_id, path, value = data
            self._attribute_updated(int(node_id), str(path), value)
        elif msg.event == Event.NODE_EVENT:
            self._node_event(data)
        elif msg.event == Event.ENDPOINT_REMOVED:
            node_id, endpoint = int(data["node_id"]), int(data["endpoint_id"])
            raw = self._raw.get(node_id)
            if raw is not None:
                prefix = f"{endpoint}/"
                raw["attributes"] = {k: v for k, v in raw["attributes"].items() if not k.startswith(prefix)}
                self._apply(raw)
        # endpoint_added is followed by a node_updated with the new interview; server_* events
        # need nothing here (a shutdown shows up as the connection closing)

    def _apply(self, raw: Any) -> int | None:
        """A full node from the server: (re)map it and publish what changed."""
        if not isinstance(raw, dict):
            self.ctx.report_invalid("node data is not an object", source="matter-server", payload=raw)
            return None
        try:
            flat = normalize_node(raw)
            node = parse_node(flat)
        except NodeFormatError as exc:
            self.ctx.report_invalid(f"bad node data: {exc}", source="matter-server", payload=raw)
            return None
        for problem in node.problems:
            self.ctx.report_invalid(problem, source=f"matter node {node.node_id}")
        mapping = map_node(node, self.ctx.adapter, self.ctx.catalog)
        old = self._maps.get(node.node_id)
        self._raw[node.node_id] = flat
        self._nodes[node.node_id] = node
        self._maps[node.node_id] = mapping
        if old is not None:
            for device_id in set(old.endpoints) - set(mapping.devices):
                self._remove_device(device_id)
        for device_id, desc in mapping.devices.items():
            self._device_node[device_id] = node.node_id
            if self._published.get(device_id) != desc and self.ctx.publish_device(desc):
                self._published[device_id] = desc
                # a new description may drop capabilities: resend every state
                self._last_state = {k: v for k, v in self._last_state.items() if k[0] != device_id}
        self._publish_states(node, mapping, mapping.caps.values())
        self._update_availability(node, mapping)
        return node.node_id

    def _attribute_updated(self, node_id: int, path: str, value: Any) -> None:
        raw = self._raw.get(node_id)
        mapping = self._maps.get(node_id)
        if raw is None or mapping is None:
            self.ctx.report_invalid(f"attribute update for unknown node {node_id}", source="matter-server")
            return
        ep, cluster, attr = parse_path(path)
        raw["attributes"][path] = value
        bound = mapping.by_attribute.get((ep, cluster, attr))
        if not bound and (cluster == cl.DESCRIPTOR or cl.kind(cluster) is not cl.Kind.INFRASTRUCTURE):
            # a new attribute, a feature map, a descriptor change: rows may now (not) apply
            self._apply(raw)
            return
        node = parse_node(raw)
        self._nodes[node_id] = node
        if bound:
            self._publish_states(node, mapping, bound)
            self._update_availability(node, mapping)

    def _node_event(self, data: Any) -> None:
        node_id, ep, cluster, event_id = (
            int(data[k]) for k in ("node_id", "endpoint_id", "cluster_id", "event_id")
        )
        mapping = self._maps.get(node_id)
        if mapping is None:
            self.ctx.report_invalid(f"event for unknown node {node_id}", source="matter-server", payload=data)
            return
        payload = data.get("data") or {}
        if not isinstance(payload, dict):
            payload = {}
        for binding, evt in mapping.by_event.get((ep, cluster, event_id), []):
            translated = evt.translate(payload)
            if translated is None:
                continue
            name, body = translated
            self.ctx.publish_event(
                binding.device_id, binding.capability, name, body, component=binding.component
            )

    def _publish_states(self, node: Node, mapping: NodeMapping, bindings: Any) -> None:
        lookup = catalog_lookup(self.ctx.catalog)
        for binding in bindings:
            values, errors = binding.read_state(node.endpoints[binding.endpoint], lookup)
            for err in errors:
                self.ctx.report_invalid(f"node {node.node_id}: {err}", source=f"matter node {node.node_id}")
            key = (binding.device_id, binding.component, binding.capability)
            changed = {k: v for k, v in values.items() if self._last_state.get(key, {}).get(k, _UNSET) != v}
            if not changed or binding.device_id not in self._published:
                continue
            if self.ctx.publish_state(
                binding.device_id, binding.capability, changed, component=binding.component
            ):
                self._last_state.setdefault(key, {}).update(changed)

    def _update_availability(self, node: Node, mapping: NodeMapping) -> None:
        for device_id in mapping.devices:
            available, reason = node.available, None if node.available else "Matter node is not reachable"
            path = mapping.reachable.get(device_id)
            if available and path is not None and node.endpoints[path[0]].value(path[1], path[2]) is False:
                available, reason = False, "the bridge reports this device unreachable"
            self._set_available(device_id, available, reason)

    def _set_available(self, device_id: str, available: bool, reason: str | None) -> None:
        known = device_id in self._published and self._available.get(device_id) != available
        if known and self.ctx.set_available(device_id, available, reason):
            self._available[device_id] = available

    def _forget(self, node_id: int) -> None:
        mapping = self._maps.pop(node_id, None)
        self._nodes.pop(node_id, None)
        self._raw.pop(node_id, None)
        if mapping is not None:
            for device_id in mapping.endpoints:
                self._remove_device(device_id)

    def _remove_device(self, device_id: str) -> None:
        self._device_node.pop(device_id, None)
        self._available.pop(device_id, None)
        self._last_state = {k: v for k, v in self._last_state.items() if k[0] != device_id}
        if self._published.pop(device_id, None) is not None:
            self.ctx.remove_device(device_id)

    # ------------------------------------------------------------ hub -> server
    async def execute(self, cmd: CommandRequest) -> CommandResult:
        try:
            result = await self._execute(cmd)
        except HubError as exc:
            return CommandResult(id=cmd.id, device=cmd.device, status=CommandStatus.ERROR, error=exc.info())
        return CommandResult(
            id=cmd.id,
            device=cmd.device,
            status=CommandStatus.OK,
            result=None if result is None else {"response": result},
            time=self.ctx.now(),
        )

    def _binding(self, cmd: CommandRequest) -> tuple[int, CapBinding]:
        device_id = cmd.device or ""
        node_id = self._device_node.get(device_id)
        mapping = self._maps.get(node_id) if node_id is not None else None
        if node_id is None or mapping is None:
            raise UnknownDevice(f"no Matter device {device_id!r}", field="device")
        binding = mapping.caps.get((device_id, cmd.component, cmd.capability))
        if binding is None:
            raise UnknownCapability(
                f"{device_id} has no capability {cmd.capability!r} on component {cmd.component!r}",
                field="capability",
            )
        return node_id, binding

    async def _execute(self, cmd: CommandRequest) -> Any:
        node_id, binding = self._binding(cmd)
        timeout = cmd.timeout or self.config.command_timeout
        if cmd.command == SET_COMMAND:
            result = None
            for prop_name, value in cmd.params.items():
                result = await self._set(node_id, binding, prop_name, value, timeout)
            return result
        return await self._command(node_id, binding, cmd.command, cmd.params, timeout)

    async def _set(
        self, node_id: int, binding: CapBinding, prop_name: str, value: Any, timeout: float
    ) -> Any:
        prop = next((p for p in binding.props if p.name == prop_name), None)
        if prop is None:
            raise UnknownProperty(
                f"{binding.capability} on {binding.component} has no property {prop_name!r}",
                field=f"params.{prop_name}",
            )
        if prop.set is None:
            raise NotWritable(
                f"{binding.capability}.{prop_name} cannot be set on a Matter device",
                field=f"params.{prop_name}",
            )
        if isinstance(prop.set, ViaBool):
            if not isinstance(value, bool):
                raise InvalidParams(
                    f"params.{prop_name} must be a boolean", field=f"params.{prop_name}", expected="boolean"
                )
            return await self._command(
                node_id, binding, prop.set.true if value else prop.set.false, {}, timeout
            )
        if isinstance(prop.set, Via):
            return await self._command(node_id, binding, prop.set.command, {prop.set.param: value}, timeout)
        assert isinstance(prop.set, Write)
        try:
            encoded = binding.converter(prop).back(value)
        except (ConversionError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidParams(f"params.{prop_name}: {exc}", field=f"params.{prop_name}") from None
        path = attribute_path(binding.endpoint, binding.cluster, prop.attribute)
        return await self._send(
            Command.WRITE_ATTRIBUTE, timeout, node_id=node_id, attribute_path=path, value=encoded
        )

    async def _command(
        self, node_id: int, binding: CapBinding, name: str, params: dict[str, Any], timeout: float
    ) -> Any:
        spec: Cmd | None = binding.row.command(name, params) if name in binding.commands else None
        if spec is None:
            raise UnknownCommand(
                f"{binding.capability} on {binding.device_id}/{binding.component} does not support {name!r}"
                f" (supported: {', '.join(binding.commands) or 'none'})",
                field="command",
            )
        try:
            payload = spec.payload(params, binding.converters)
        except KeyError as exc:
            raise InvalidParams(f"params.{exc.args[0]} is required", field=f"params.{exc.args[0]}") from None
        except (ConversionError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidParams(f"{name}: {exc}", field="params") from None
        args: dict[str, Any] = {
            "node_id": node_id,
            "endpoint_id": binding.endpoint,
            "cluster_id": binding.cluster,
            "command_name": spec.matter,
            "payload": payload,
        }
        if spec.timed_ms is not None:
            args["timed_request_timeout_ms"] = spec.timed_ms
        return await self._send(Command.DEVICE_COMMAND, timeout, **args)

    async def _send(self, command: str, timeout: float, **args: Any) -> Any:
        try:
            return await self.client.command(command, timeout=timeout, **args)
        except CommandFailed as exc:
            raise AdapterError(
                f"Matter server rejected {command}: {exc.name} (code {exc.code}): {exc.details or 'no details'}"
            ) from None
        except (NotConnected, ConnectionLost) as exc:
            raise DeviceUnavailable(str(exc)) from None
        except TimeoutError:
            raise CommandTimeout(f"Matter server did not answer {command} within {timeout:g} s") from None
        except ProtocolError as exc:
            raise AdapterError(f"Matter server sent an invalid answer to {command}: {exc}") from None


_UNSET = object()
