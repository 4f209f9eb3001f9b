"""DHI v1 wire models, shared by the hub, adapters, bridges, conformance suite and clients.

``SCHEMAS`` names every document type; ``spec/interface/schemas/<name>.schema.json`` is
generated from it (``make schemas``) and a test keeps the two in agreement.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from dhi.models.alert import Alert, AlertKind, AlertState, Severity, Urgency
from dhi.models.alertkinds import AlertClass, AlertKindDef, AlertKindsFile
from dhi.models.catalog import CapabilityDef, CatalogFile, PropertyDef, UnitDef
from dhi.models.command import CommandRequest, CommandResult, CommandStatus, ErrorInfo
from dhi.models.common import DHI_VERSION, SCHEMA_BASE, DhiModel, utcnow
from dhi.models.conformance import Claims, Report
from dhi.models.device import CapabilityInstance, Component, DeviceDescription
from dhi.models.envelope import (
    MESSAGE_CLASSES,
    Message,
    MessageType,
    StateChangedData,
)
from dhi.models.problem import Problem
from dhi.models.state import EventReport, StateReport
from dhi.models.subscription import Subscription, SubscriptionRequest

#: schema name -> model (or TypeAdapter for unions)
SCHEMAS: dict[str, Any] = {
    "device": DeviceDescription,
    "component": Component,
    "capability-instance": CapabilityInstance,
    "capability": CapabilityDef,
    "catalog-file": CatalogFile,
    "unit": UnitDef,
    "state": StateReport,
    "event": EventReport,
    "command": CommandRequest,
    "command-result": CommandResult,
    "error": ErrorInfo,
    "problem": Problem,
    "message": TypeAdapter(Message),
    "alert": Alert,
    "alert-kinds-file": AlertKindsFile,
    "subscription": Subscription,
    "subscription-request": SubscriptionRequest,
    "claims": Claims,
    "report": Report,
}
for _type, _cls in MESSAGE_CLASSES.items():
    SCHEMAS["message-" + _type.value.removeprefix("org.dhi.v1.").replace(".", "-")] = _cls


def adapter_for(name: str) -> TypeAdapter[Any]:
    model = SCHEMAS[name]
    return model if isinstance(model, TypeAdapter) else TypeAdapter(model)


__all__ = [
    "DHI_VERSION",
    "SCHEMAS",
    "SCHEMA_BASE",
    "Alert",
    "AlertClass",
    "AlertKind",
    "AlertKindDef",
    "AlertKindsFile",
    "AlertState",
    "CapabilityDef",
    "CapabilityInstance",
    "CatalogFile",
    "Claims",
    "CommandRequest",
    "CommandResult",
    "CommandStatus",
    "Component",
    "DeviceDescription",
    "DhiModel",
    "ErrorInfo",
    "EventReport",
    "Message",
    "MessageType",
    "Problem",
    "PropertyDef",
    "Report",
    "Severity",
    "StateChangedData",
    "StateReport",
    "Subscription",
    "SubscriptionRequest",
    "UnitDef",
    "Urgency",
    "adapter_for",
    "utcnow",
]
