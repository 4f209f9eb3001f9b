"""The dhome → Home Assistant bridge service: MQTT discovery of the devices the resident shares.

Consent first: the settings block becomes the subscription ``home-assistant`` (transport
``home_assistant``, the devices in scope, state / event / availability messages and alert
kinds), seeded through the consent service like a config-file subscription, so it is audited,
listed and can be withdrawn like any other share. What HA sees of a device's state, events
and alerts then goes through the consent filter and the outbox (``HomeAssistantBridge.send``
below); this service keeps the discovery configs (retained, emptied when a device leaves the
scope), the availability and the snapshot HA reads after a restart, and turns HA's commands
into hub commands on the normal validated path, each audited (``command.executed`` /
``command.failed`` / ``command.refused``, actor ``home-assistant``, the subscription). Locks, valves, sirens and alarms are exported
read-only unless the resident names them under ``control``. Devices that came from Home
Assistant (an adapter of type ``home_assistant``) are never exported back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from adapters.sdk.mqtt.connection import MqttConnection, MqttMessage
from adapters.sdk.mqtt.errors import MqttConnectError, MqttError, MqttRefused
from dhi.alertkinds import default_alert_kinds
from dhi.errors import ConfigError
from dhi.models.alert import AlertKind
from dhi.models.command import CommandRequest, CommandStatus
from dhi.models.device import DeviceDescription
from dhi.models.envelope import MessageType
from dhi.models.subscription import Consent, Receiver, ReceiverKind, SubscriptionRequest
from hub import meta
from hub.alerts.config import ConfiguredSubscription
from hub.bridges.home_assistant import topics
from hub.bridges.home_assistant.entities import Entity, PayloadError, Values, plan_device
from hub.bridges.home_assistant.settings import HomeAssistantSettings
from hub.bus import Filter
from hub.consent import ConsentService
from hub.consent.audit import AuditAction, command_entry, entry
from hub.consent.filter import sharing_problem
from hub.context import RateLimitedLog
from hub.delivery import DeliveryError

if TYPE_CHECKING:
    from hub.core import Hub
    from hub.registry import DeviceRecord

log = logging.getLogger("dhome.home_assistant")

SUBSCRIPTION_ID = "home-assistant"
#: the audit log's actor of what the bridge does for HA (snapshots, HA's commands)
ACTOR = "home-assistant"
TRANSPORT = "home_assistant"
#: the adapter whose devices came from Home Assistant: never exported back (loop safety)
HA_ADAPTER = "home_assistant"
#: exported read-only unless the resident lets HA operate the device (``control``)
GUARDED = frozenset(
    {"dhi.lock", "dhi.valve", "dhi.siren", "dhi.security_keypad", "dhi.smoke_alarm", "dhi.co_alarm"}
)
MESSAGE_TYPES = [MessageType.STATE_CHANGED.value, MessageType.EVENT_OCCURRED.value]
HA_STATUS = "status"  # <prefix>/status: HA's birth message ("online") asks for configs again
META_GRANTED = "home_assistant:granted:"
#: how long (s) a newly shared device's states are re-read, and how often
FRESH_FOR, FRESH_TICK = 10.0, 0.5


@dataclass
class Exported:
    """A device as HA sees it: its entities and the topics they use."""

    record_id: str
    node: str
    entities: list[Entity]
    configs: dict[str, str]  # discovery topic -> config JSON as last published
    available: bool


class HomeAssistantExport:
    name = "home-assistant"

    def __init__(self, settings: HomeAssistantSettings) -> None:
        self.settings = settings
        self._hub: Hub | None = None
        self._consent: ConsentService | None = None
        self._conn: MqttConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._exported: dict[str, Exported] = {}
        self._routes: dict[str, tuple[str, Entity, int]] = {}  # command topic -> (device, entity, field)
        self._ratelog = RateLimitedLog(log)
        self._ready = asyncio.Event()
        self._kick = asyncio.Event()
        self._checked = False
        self._hub_configs: list[str] = []
        self._granted_at: datetime | None = None
        self._fresh: dict[str, float] = {}  # device -> loop time it was first published
        self._last_state: dict[str, str] = {}  # state topic -> body last published
        #: why the bridge does not run (e.g. an anonymous broker found after start)
        self.problem: str | None = None
        self.commands_ok = 0
        self.commands_failed = 0
        self.bad_payloads = 0

    def __repr__(self) -> str:
        return f"HomeAssistantExport(broker={self.settings.broker.safe_url()}, devices={len(self._exported)})"

    # ------------------------------------------------------------------ names
    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the Home Assistant bridge is not started")
        return self._hub

    @property
    def home(self) -> str:
        return self.hub.config.home.id

    @property
    def base(self) -> str:
        return self.settings.base_topic or f"dhome/{self.home}"

    @property
    def bridge_availability(self) -> str:
        return f"{self.base}/bridge/availability"

    def device_availability(self, node: str) -> str:
        return f"{self.base}/{node}/availability"

    # ------------------------------------------------------------------ lifecycle
    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self._consent = next((s for s in hub.services if isinstance(s, ConsentService)), None)
        if self._consent is None:
            raise ConfigError("bridges.home_assistant: the consent service is not running")
        self._checked = await refuse_anonymous(self.settings)
        await self._seed_subscription()
        self._consent.on_change(self._consent_changed)
        self._task = asyncio.create_task(self._run(), name="home-assistant-bridge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(MqttError, OSError):
                if conn.connected:
                    await conn.publish(self.bridge_availability, "offline", retain=True, timeout=2)
            await conn.close()

    async def ready(self, timeout: float = 30.0) -> None:
        """Return once connected and the snapshot of every shared device is published."""
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    # ------------------------------------------------------------------ consent
    def _in_scope(self, rec: DeviceRecord) -> bool:
        if self._adapter_type(rec.adapter) == HA_ADAPTER:
            return False  # came from Home Assistant: never back (loop safety)
        desc = rec.description
        return desc.id in self.settings.devices or (
            desc.room is not None and desc.room in self.settings.rooms
        )

    def _adapter_type(self, instance: str) -> str:
        for entry_ in self.hub.config.adapters:
            if entry_.instance == instance:
                return entry_.type
        return instance

    def _scope(self) -> list[str]:
        return sorted(rec.id for rec in self.hub.registry.all() if self._in_scope(rec))

    def _request(self, devices: list[str], granted_at: datetime) -> ConfiguredSubscription:
        kinds = self.settings.alert_kinds
        return ConfiguredSubscription(
            id=SUBSCRIPTION_ID,
            receiver=Receiver(name=self.settings.receiver, kind=ReceiverKind.FAMILY),
            transport=TRANSPORT,
            endpoint=f"{self.settings.broker.safe_url()}/{self.settings.discovery_prefix}",
            alert_kinds=list(kinds)
            if kinds is not None
            else [AlertKind(k) for k in default_alert_kinds() if k in {a.value for a in AlertKind}],
            message_types=MESSAGE_TYPES,
            devices=devices,
            consent=Consent(granted_by="config", granted_at=granted_at),
        )

    def _settings_digest(self) -> str:
        block = self.settings.model_dump(mode="json", exclude={"broker": {"password"}})
        return hashlib.sha256(orjson.dumps(block, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    async def _seed_subscription(self) -> None:
        """The settings block is the resident's grant: seeded like a config-file subscription.
        A withdrawal (API, web app) stands until the block itself changes."""
        consent, storage = self._consent, self.hub.storage
        assert consent is not None
        digest = self._settings_digest()
        granted = await meta.read(storage, META_GRANTED + digest)
        granted_at = datetime.fromisoformat(granted) if granted else self.hub.clock.now()
        self._granted_at = granted_at
        if granted is None:
            await storage.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (META_GRANTED + digest, granted_at.isoformat()),
            )
        deleted = await storage.fetchone("SELECT deleted FROM subscriptions WHERE id = ?", (SUBSCRIPTION_ID,))
        if deleted is not None and deleted[0] is not None and granted is not None:
            log.warning(
                "Home Assistant 共享已被撤回，配置未变：不发布任何设备 / sharing with Home Assistant was "  # noqa: RUF001 - Chinese punctuation
                "withdrawn and the config block is unchanged: nothing is published"
            )
            return
        await consent.apply_configured(
            self._request(self._scope(), granted_at), section="bridges.home_assistant"
        )

    def sharing(self) -> bool:
        """Does the resident's consent let HA see anything now?"""
        active = self._consent.active(SUBSCRIPTION_ID) if self._consent else None
        return active is not None and sharing_problem(active.subscription, self.hub.clock.now()) is None

    def _shared_devices(self) -> set[str]:
        active = self._consent.active(SUBSCRIPTION_ID) if self._consent else None
        if active is None or not self.sharing():
            return set()
        return set(active.subscription.devices or ())

    def _consent_changed(self, sub_id: str) -> None:
        if sub_id == SUBSCRIPTION_ID:
            self._kick.set()

    async def _rescope(self) -> None:
        """A device joined or left the shared rooms: the grant names devices, so its list follows
        (audited ``subscription.updated``); whatever else the resident changed stays."""
        consent = self._consent
        active = consent.active(SUBSCRIPTION_ID) if consent else None
        if active is None or consent is None:
            return
        wanted = self._scope()
        sub = active.subscription
        if sorted(sub.devices or []) == wanted:
            return
        fields = set(SubscriptionRequest.model_fields) - {"secret"}
        request = SubscriptionRequest.model_validate({**sub.model_dump(include=fields), "devices": wanted})
        await consent.update(SUBSCRIPTION_ID, request, actor="config")
        await consent.note_configured(self._request(wanted, self._granted_at or self.hub.clock.now()))

    # ------------------------------------------------------------------ the connection
    async def _run(self) -> None:
        hub = self.hub
        changes = hub.bus.subscribe(
            "home-assistant",
            Filter.of(types=[MessageType.DEVICE_ADDED, MessageType.DEVICE_UPDATED, MessageType.DEVICE_REMOVED,
                             MessageType.DEVICE_AVAILABILITY]),
        )  # fmt: skip
        delay = 1.0
        try:
            while self._conn is None:
                try:
                    if not self._checked:
                        self._checked = await refuse_anonymous(self.settings)
                        if not self._checked:
                            raise MqttConnectError("not reachable")
                    # a hub that dies: the broker marks every entity unavailable
                    conn = MqttConnection(
                        self.settings.broker, logger=log, will=(self.bridge_availability, "offline")
                    )
                    await conn.open()
                    self._conn = conn
                except ConfigError as exc:  # the broker turned out to let anyone in
                    self.problem = str(exc)
                    log.error("%s", exc)
                    return
                except MqttError as exc:
                    log.warning("Home Assistant broker: %s; again in %.0f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 60.0)
            conn = self._conn
            conn.on_connection_change(lambda up: self._kick.set() if up else None)
            for pattern in ("+/+/set", "+/+/+/set", "+/+/press"):  # command topics only, not our states
                await conn.subscribe(f"{self.base}/{pattern}", self._on_command)
            await conn.subscribe(f"{self.settings.discovery_prefix}/{HA_STATUS}", self._on_ha_status)
            await self._sync(full=True)
            self._ready.set()
            loop = asyncio.get_running_loop()
            while True:
                waiter = asyncio.create_task(changes.get())
                kicked = asyncio.create_task(self._kick.wait())
                done, _ = await asyncio.wait(
                    {waiter, kicked},
                    timeout=FRESH_TICK if self._fresh else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                full = kicked in done
                for task in (waiter, kicked):
                    task.cancel()
                self._kick.clear()
                while changes.get_nowait() is not None:
                    pass  # one sync covers every change so far
                try:
                    if done:
                        await self._rescope()
                        await self._sync(full=full)
                    await self._refresh_fresh(loop.time())
                except (MqttError, OSError) as exc:
                    log.warning("Home Assistant discovery: %s (again on reconnect)", exc)
        finally:
            changes.close()

    async def _on_ha_status(self, msg: MqttMessage) -> None:
        if msg.payload.strip() == b"online":  # HA (re)started: it reads the configs again
            self._kick.set()

    # ------------------------------------------------------------------ discovery
    async def _sync(self, *, full: bool) -> None:
        """Publish what changed: configs of shared devices, empty configs of devices that left
        the scope (or the home), availability and — on a full sync — every current state."""
        conn, hub = self._conn, self.hub
        if conn is None or not conn.connected:
            return
        shared = self._shared_devices()
        await conn.publish(self.bridge_availability, "online", retain=True)
        await self._publish_hub_device(full=full)
        for device_id in list(self._exported):
            if device_id not in shared or hub.registry.get(device_id) is None:
                await self._unpublish(device_id)
        published = 0
        for device_id in sorted(shared):
            rec = hub.registry.get(device_id)
            if rec is None or not self._in_scope(rec):
                continue
            changed = await self._publish_device(rec, full=full)
            published += changed
        if published:
            self._audit_snapshot(published)

    def _values(self, device_id: str) -> Any:
        state = self.hub.state.of_device(device_id)

        def of(component: str) -> Values:
            return {
                (cap, prop): sv.value
                for cap, props in state.get(component, {}).items()
                for prop, sv in props.items()
            }

        return of

    def _control(self, device_id: str) -> Any:
        allowed = device_id in self.settings.control
        return lambda cap: allowed or cap not in GUARDED

    def _device_block(self, desc: DeviceDescription) -> dict[str, Any]:
        block: dict[str, Any] = {
            "identifiers": [topics.device_identifier(self.home, desc.id)],
            "name": desc.name,
            "via_device": topics.hub_identifier(self.home),
        }
        for key, value in (
            ("manufacturer", desc.manufacturer), ("model", desc.model), ("serial_number", desc.serial),
            ("sw_version", desc.firmware), ("hw_version", desc.hardware), ("suggested_area", desc.room),
        ):  # fmt: skip
            if value:
                block[key] = value
        return block

    async def _publish_device(self, rec: DeviceRecord, *, full: bool) -> int:
        """Publish the device's configs (when they changed) and, on a full sync or when new,
        its availability and states. Returns 1 when anything of it was published."""
        conn = self._conn
        assert conn is not None
        desc = rec.description
        node = topics.node_id(desc.id)
        values = self._values(desc.id)
        entities = plan_device(desc, self.hub.catalog, values, control=self._control(desc.id))
        before = self._exported.get(desc.id)
        configs: dict[str, str] = {}
        device_block = self._device_block(desc)
        for entity in entities:
            topic, config = self._config(node, desc.id, entity, device_block)
            configs[topic] = json.dumps(config, ensure_ascii=False, sort_keys=True)
        for topic in set(before.configs if before else ()) - set(configs):
            await conn.publish(topic, b"", retain=True)  # an entity that is gone: HA removes it
        fresh = before is None
        if fresh:
            self._fresh[desc.id] = asyncio.get_running_loop().time()
        for topic, body in configs.items():
            if full or before is None or before.configs.get(topic) != body:
                await conn.publish(topic, body, retain=True)
        self._exported[desc.id] = Exported(desc.id, node, entities, configs, rec.available)
        self._route(desc.id, node, entities)
        if before is None or full or before.available != rec.available:
            await conn.publish(
                self.device_availability(node), "online" if rec.available else "offline", retain=True
            )
        if full or fresh:
            for entity in entities:
                for i, _ in enumerate(entity.states):
                    await self._publish_state(desc.id, node, entity, i, values(entity.component))
        return 1 if (full or fresh) else 0

    def _config(
        self, node: str, device_id: str, entity: Entity, device_block: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        obj = topics.object_id(entity.key)
        base = f"{self.base}/{node}/{obj}"
        config: dict[str, Any] = {
            **entity.config,
            "unique_id": topics.unique_id(self.home, device_id, entity.key),
            "object_id": f"dhome_{node}_{obj}".lower(),
            "device": device_block,
            "availability": [
                {"topic": self.bridge_availability},
                {"topic": self.device_availability(node)},
            ],
            "availability_mode": "all",
            "origin": {"name": "dhome", "support_url": "https://github.com/dhome"},
            "qos": 1,
        }
        for state in entity.states:
            config[state.topic_key] = f"{base}/{state.suffix}"
        for command in entity.commands:
            config[command.topic_key] = f"{base}/{command.suffix}"
        if entity.domain == "event":
            config["state_topic"] = f"{base}/event"
        config = {k: v for k, v in config.items() if v is not None or k == "name"}
        return topics.discovery_topic(self.settings.discovery_prefix, entity.domain, node, obj), config

    def _route(self, device_id: str, node: str, entities: list[Entity]) -> None:
        self._routes = {t: r for t, r in self._routes.items() if r[0] != device_id}
        for entity in entities:
            base = f"{self.base}/{node}/{topics.object_id(entity.key)}"
            for i, command in enumerate(entity.commands):
                self._routes[f"{base}/{command.suffix}"] = (device_id, entity, i)

    async def _unpublish(self, device_id: str) -> None:
        """The device left the home or the scope: empty retained configs remove its entities."""
        conn = self._conn
        gone = self._exported.pop(device_id, None)
        self._routes = {t: r for t, r in self._routes.items() if r[0] != device_id}
        if gone is None or conn is None:
            return
        for topic in gone.configs:
            await conn.publish(topic, b"", retain=True)
        await conn.publish(self.device_availability(gone.node), b"", retain=True)
        log.info("Home Assistant: %s removed (它的实体已从 HA 移除)", device_id)

    async def _publish_state(
        self,
        device_id: str,
        node: str,
        entity: Entity,
        index: int,
        values: Values,
        *,
        only_changed: bool = False,
    ) -> None:
        assert self._conn is not None
        state = entity.states[index]
        body = state.encode(values)
        if body is None:
            return
        topic = f"{self.base}/{node}/{topics.object_id(entity.key)}/{state.suffix}"
        if only_changed and self._last_state.get(topic) == body:
            return
        self._last_state[topic] = body
        await self._conn.publish(topic, body, retain=True)

    async def _refresh_fresh(self, now: float) -> None:
        """A device just shared may still be reporting its first values, which reached the
        consent filter before the grant named it: for a few seconds its states are read again
        from the hub's store and what changed is published."""
        for device_id, since in list(self._fresh.items()):
            exported = self._exported.get(device_id)
            if exported is None or now - since > FRESH_FOR:
                del self._fresh[device_id]
                continue
            values = self._values(device_id)
            for entity in exported.entities:
                for i, _ in enumerate(entity.states):
                    await self._publish_state(
                        device_id, exported.node, entity, i, values(entity.component), only_changed=True
                    )

    def _audit_snapshot(self, devices: int) -> None:
        hub = self.hub
        hub.storage.write(
            *entry(
                hub.clock.now(), ACTOR, AuditAction.SHARE_DELIVERED, subscription=SUBSCRIPTION_ID,
                detail={"receiver": self.settings.receiver, "snapshot": True, "devices": devices},
            )
        )  # fmt: skip

    # ------------------------------------------------------------------ the hub device: alerts
    async def _publish_hub_device(self, *, full: bool) -> None:
        """The hub itself is an HA device: one binary sensor per alert kind (on while an alert of
        that kind is active) and an event entity firing on every alert change, so automations
        in HA can react to dhome's alerts."""
        conn = self._conn
        if conn is None or not full:
            return
        if not self.sharing():  # consent ended: the alert entities go too
            for topic in self._hub_configs:
                await conn.publish(topic, b"", retain=True)
            self._hub_configs = []
            return
        node = "hub"
        device = {
            "identifiers": [topics.hub_identifier(self.home)],
            "name": f"dhome {self.hub.config.home.name}",
            "manufacturer": "dhome",
            "model": "DHI hub",
        }
        avail = [{"topic": self.bridge_availability}]
        kinds = default_alert_kinds()
        wanted = self.settings.alert_kinds
        published: list[str] = []
        active = {
            a.kind
            for a in (self.hub.alerts.list_alerts() if self.hub.alerts else [])
            if a.state.value == "active"
        }
        for kind_id, kind in kinds.items():
            if wanted is not None and kind_id not in wanted:
                continue
            obj = f"alert_{kind_id}"
            state_topic = f"{self.base}/{node}/{obj}/state"
            config: dict[str, Any] = {
                "name": f"{kind.label.zh_cn} {kind.label.en}",
                "unique_id": topics.unique_id(self.home, "hub", obj),
                "object_id": f"dhome_{self.home}_{obj}",
                "device_class": "safety" if kind.class_.value == "safety" else "problem",
                "state_topic": state_topic,
                "json_attributes_topic": f"{self.base}/{node}/{obj}/attributes",
                "payload_on": "ON",
                "payload_off": "OFF",
                "device": device,
                "availability": avail,
                "origin": {"name": "dhome"},
            }
            topic = topics.discovery_topic(
                self.settings.discovery_prefix, "binary_sensor", f"dhome_{self.home}", obj
            )
            await conn.publish(topic, json.dumps(config, ensure_ascii=False), retain=True)
            published.append(topic)
            await conn.publish(state_topic, "ON" if kind_id in active else "OFF", retain=True)
        config = {
            "name": "告警 Alerts",
            "unique_id": topics.unique_id(self.home, "hub", "alerts"),
            "object_id": f"dhome_{self.home}_alerts",
            "event_types": ["raised", "updated", "cleared"],
            "state_topic": f"{self.base}/{node}/alerts/event",
            "device": device,
            "availability": avail,
            "origin": {"name": "dhome"},
        }
        topic = topics.discovery_topic(
            self.settings.discovery_prefix, "event", f"dhome_{self.home}", "alerts"
        )
        await conn.publish(topic, json.dumps(config, ensure_ascii=False), retain=True)
        self._hub_configs = [*published, topic]

    # ------------------------------------------------------------------ what the outbox delivers
    async def deliver(self, payload: dict[str, Any]) -> None:
        """One consented message (the outbox's entry) → HA's topics."""
        conn = self._conn
        if conn is None or not conn.connected:
            raise DeliveryError("the Home Assistant broker is not connected")
        msg_type = payload.get("type")
        data = payload.get("data") or {}
        try:
            if msg_type == MessageType.STATE_CHANGED.value:
                await self._deliver_state(data)
            elif msg_type == MessageType.EVENT_OCCURRED.value:
                await self._deliver_event(data)
            elif "alert" in data:
                await self._deliver_alert(msg_type or "", data["alert"])
        except MqttError as exc:
            raise DeliveryError(f"Home Assistant broker: {exc}") from exc

    async def _deliver_state(self, data: dict[str, Any]) -> None:
        device_id = data.get("device")
        exported = self._exported.get(device_id or "")
        if exported is None:
            return  # not (yet) discovered: the snapshot after discovery carries it
        key = (data.get("capability"), data.get("property"))
        component = data.get("component", "main")
        values = self._values(exported.record_id)(component)
        for entity in exported.entities:
            if entity.component != component:
                continue
            for i, state in enumerate(entity.states):
                if key in state.inputs:
                    await self._publish_state(exported.record_id, exported.node, entity, i, values)
        if key[1] in (
            "modes",
            "sounds",
            "presets",
            "effects",
            "min_color_temperature",
            "max_color_temperature",
        ):
            self._kick.set()  # what a config lists (options, limits) changed: republish configs

    async def _deliver_event(self, data: dict[str, Any]) -> None:
        exported = self._exported.get(data.get("device") or "")
        if exported is None or self._conn is None:
            return
        for entity in exported.entities:
            if entity.events_of == data.get("capability") and entity.component == data.get(
                "component", "main"
            ):
                body = {"event_type": data.get("event"), **(data.get("payload") or {})}
                topic = f"{self.base}/{exported.node}/{topics.object_id(entity.key)}/event"
                await self._conn.publish(topic, json.dumps(body, ensure_ascii=False))

    async def _deliver_alert(self, msg_type: str, alert: dict[str, Any]) -> None:
        assert self._conn is not None
        kind = alert.get("kind", "")
        active = alert.get("state") == "active"
        base = f"{self.base}/hub/alert_{kind}"
        attributes = {k: alert.get(k) for k in ("id", "kind", "severity", "state", "room", "devices", "summary",
                                                  "summary_zh", "first_seen", "last_seen", "drill") if k in alert}  # fmt: skip
        await self._conn.publish(
            f"{base}/attributes", json.dumps(attributes, ensure_ascii=False), retain=True
        )
        await self._conn.publish(f"{base}/state", "ON" if active else "OFF", retain=True)
        action = msg_type.rsplit(".", 1)[-1]
        await self._conn.publish(
            f"{self.base}/hub/alerts/event",
            json.dumps({"event_type": action, **attributes}, ensure_ascii=False),
        )

    # ------------------------------------------------------------------ commands from HA
    async def _on_command(self, msg: MqttMessage) -> None:
        route = self._routes.get(msg.topic)
        if route is None:
            return  # our own state topics echo back here; only command topics route
        device_id, entity, index = route
        if device_id not in self._shared_devices():
            return
        payload = msg.payload.decode("utf-8", errors="replace").strip()
        values = self._values(device_id)(entity.component)
        try:
            cmds = entity.commands[index].decode(payload, values)
        except (PayloadError, ValueError, TypeError) as exc:
            self.bad_payloads += 1
            self._count("bad_payload")
            self._ratelog.warning(f"payload:{msg.topic}", f"Home Assistant command on {msg.topic}: {exc}")
            return
        control = self._control(device_id)
        for cmd in cmds:
            request = CommandRequest(
                id=f"ha-{secrets.token_hex(6)}", device=device_id, component=entity.component,
                capability=cmd.capability, command=cmd.command, params=cmd.params,
            )  # fmt: skip
            if not control(cmd.capability):
                self.commands_failed += 1
                self._count("read_only")
                self.hub.storage.write(
                    *command_entry(self.hub.clock.now(), ACTOR, request, None, subscription=SUBSCRIPTION_ID,
                                   refused="read_only")
                )  # fmt: skip
                self._ratelog.warning(
                    f"guarded:{device_id}",
                    f"Home Assistant may not operate {cmd.capability} of {device_id} (只读：住户未授权控制 / "  # noqa: RUF001 - Chinese punctuation
                    "read-only: the resident did not enable control)",
                )
                return
            # the hub's one command path, audited as the Home Assistant share's act
            result = await self.hub.execute(request, actor=ACTOR, subscription=SUBSCRIPTION_ID)
            if result.status is not CommandStatus.OK:
                self.commands_failed += 1
                self._count("failed")
                self._ratelog.warning(
                    f"cmd:{device_id}",
                    f"Home Assistant command {cmd.capability}.{cmd.command} for {device_id} failed: {result.error}",
                )
                return
            self.commands_ok += 1
            self._count("ok")

    def _count(self, result: str) -> None:
        self.hub.metrics.bridge_commands.labels("home_assistant", result).inc()


async def refuse_anonymous(settings: HomeAssistantSettings) -> bool:
    """Connect once without a login: a broker that accepts it would hand the home's devices
    to any client on the network, so the bridge refuses to start against it. False: the
    broker cannot be reached now (ask again before the first connection)."""
    probe = settings.broker.model_copy(
        update={"username": None, "password": None, "client_id": f"dhome-probe-{secrets.token_hex(4)}",
                "connect_timeout": min(settings.broker.connect_timeout, 5.0)}
    )  # fmt: skip
    conn = MqttConnection(probe, logger=log)
    try:
        await conn.open()
    except MqttRefused:
        return True  # a login is required: as it must be
    except (MqttConnectError, OSError) as exc:
        log.warning("Home Assistant broker not reachable yet (%s): will check its login on connect", exc)
        return False
    await conn.close()
    raise ConfigError(
        f"代理服务器 {settings.broker.safe_url()} 允许匿名连接：Home Assistant 桥接拒绝启动。请在代理上关闭匿名访问"  # noqa: RUF001 - Chinese punctuation
        f"（Mosquitto: allow_anonymous false 并配置 password_file）。 / The broker {settings.broker.safe_url()} "  # noqa: RUF001 - Chinese punctuation
        "accepts anonymous clients: the Home Assistant bridge refuses to start. Require a login on the broker "
        "(Mosquitto: allow_anonymous false with a password_file)."
    )
