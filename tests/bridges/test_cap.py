"""CAP 1.2 output validates against the OASIS XSD (xmlschema), for every kind and message type
and for any alert content; the area carries the division code, and the address only when
granted; CAP posted over HTTP arrives signed."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from dhi.models.alert import Alert, AlertKind, AlertState, Severity, Urgency
from dhi.models.envelope import AlertClearedMessage, AlertData, AlertRaisedMessage, AlertUpdatedMessage
from dhi.models.subscription import Consent, Receiver, Subscription, SubscriptionRequest, Transport
from hub.bridges.cap import CAP_KIND, CAP_NS, CapContext, CapValidator, render
from hub.config import HomeConfig
from hub.consent.filter import project
from hub.delivery import OutboxEntry, PermanentDeliveryError
from tests.alerts.support import SMOKE, running_home
from tests.bridges.receiver import SECRET
from tests.bridges.receiver import Receiver as HttpReceiver

NS = {"cap": CAP_NS}
HOME = HomeConfig(
    id="flat-12",
    name="Mrs Chen's flat",
    address="北京市朝阳区望京街道 12 号楼 3 单元 501",
    division_code="110105",
    latitude=39.99,
    longitude=116.47,
)
CTX = CapContext(HOME, "dhome.flat-12@dhome.local")
MESSAGES = (AlertRaisedMessage, AlertUpdatedMessage, AlertClearedMessage)


XSD = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "cap" / "CAP-v1.2.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    assert XSD.is_file(), f"the OASIS CAP 1.2 XSD is missing at {XSD}"
    return xmlschema.XMLSchema(str(XSD))


def subscription(fields: list[str] | None = None) -> Subscription:
    return Subscription(
        id="sub-1",
        receiver=Receiver(name="120 急救中心", kind="emergency"),
        transport=Transport.CAP_HTTP,
        endpoint="http://127.0.0.1:9/cap",
        alert_kinds=list(AlertKind),
        fields=fields,
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )


def entry_for(
    alert: Alert, message_cls: type = AlertRaisedMessage, fields: list[str] | None = None
) -> OutboxEntry:
    suffix = {"AlertRaisedMessage": "raised", "AlertUpdatedMessage": "u1", "AlertClearedMessage": "cleared"}[
        message_cls.__name__
    ]
    msg = message_cls(
        id=f"{alert.id}.{suffix}", source="dhome://flat-12", subject=alert.id, time=alert.last_seen,
        data=AlertData(alert=alert),
    )  # fmt: skip
    payload = project(msg.model_dump(mode="json", exclude_none=True), fields)
    return OutboxEntry(1, subscription(fields), None, msg.id, payload)


def sample_alert(kind: AlertKind = AlertKind.SMOKE, **kw: object) -> Alert:
    t = datetime(2026, 1, 15, 9, 28, 0, 123456, tzinfo=UTC)
    base: dict[str, object] = {
        "id": f"{kind.value}-0123456789abcdef", "kind": kind, "severity": Severity.EXTREME, "home": "flat-12",
        "room": "kitchen", "devices": ["virtual:kitchen-smoke"], "summary": "Smoke detected in the kitchen",
        "summary_zh": "厨房检测到烟雾", "first_seen": t, "last_seen": t + timedelta(minutes=3),
    }  # fmt: skip
    return Alert.model_validate(base | kw)


def test_the_reference_examples_validate(schema: xmlschema.XMLSchema, shared_fixtures: Path) -> None:
    """The validator set-up accepts real CAP. The IPAWS message carries an XML-DSig
    ``<Signature>`` that xmlschema checks against its bundled xmldsig schema (stricter than the
    CAP XSD's lax wildcard), so only the CAP part of that one is compared: without it, it validates."""
    files = sorted((shared_fixtures / "cap").glob("*.xml"))
    assert len(files) == 7
    for f in files:
        root = ET.parse(f).getroot()
        for sig in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
            root.remove(sig)
        schema.validate(ET.tostring(root, encoding="unicode"))


@pytest.mark.parametrize("kind", list(AlertKind))
@pytest.mark.parametrize("message_cls", MESSAGES)
def test_every_kind_and_message_type_is_valid_cap(
    schema: xmlschema.XMLSchema, kind: AlertKind, message_cls: type
) -> None:
    document = render(entry_for(sample_alert(kind), message_cls), CTX)
    schema.validate(document.decode())
    root = ET.fromstring(document)
    assert root.findtext("cap:msgType", namespaces=NS) == (
        "Alert" if message_cls is AlertRaisedMessage else "Update"
    )
    assert root.findtext("cap:sent", namespaces=NS) == "2026-01-15T17:31:00+08:00"  # local, no fraction
    infos = root.findall("cap:info", NS)
    assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["zh-CN", "en-US"]
    assert {i.findtext("cap:category", namespaces=NS) for i in infos} == {CAP_KIND[kind].category}
    if message_cls is not AlertRaisedMessage:
        refs = root.findtext("cap:references", namespaces=NS) or ""
        assert refs == f"{CTX.sender},{kind.value}-0123456789abcdef.raised,2026-01-15T17:28:00+08:00"
    if message_cls is AlertClearedMessage:
        assert infos[0].findtext("cap:responseType", namespaces=NS) == "AllClear"


@pytest.mark.parametrize("fields", [None, ["room"]])
def test_a_drill_is_an_exercise_and_nothing_else_is(
    schema: xmlschema.XMLSchema, fields: list[str] | None
) -> None:
    """The alert's ``drill`` survives any field grant, and only a drill is ever an Exercise."""
    for drill, status in ((True, "Exercise"), (None, "Actual")):
        document = render(entry_for(sample_alert(drill=drill), fields=fields), CTX)
        schema.validate(document.decode())
        root = ET.fromstring(document)
        assert root.findtext("cap:status", namespaces=NS) == status
        assert (root.find("cap:note", NS) is not None) is bool(drill)


def test_area_has_the_division_code_and_the_address_only_when_granted(schema: xmlschema.XMLSchema) -> None:
    full = ET.fromstring(render(entry_for(sample_alert()), CTX))
    area = full.find("cap:info/cap:area", NS)
    assert area is not None
    assert area.findtext("cap:areaDesc", namespaces=NS) == HOME.address
    assert area.findtext("cap:geocode/cap:valueName", namespaces=NS) == "GB/T 2260"
    assert area.findtext("cap:geocode/cap:value", namespaces=NS) == "110105"
    assert area.findtext("cap:circle", namespaces=NS) == "39.99,116.47 0"
    narrow_doc = render(entry_for(sample_alert(), fields=["summary"]), CTX)
    schema.validate(narrow_doc.decode())
    narrow = ET.fromstring(narrow_doc)
    area = narrow.find("cap:info/cap:area", NS)
    assert area is not None
    assert area.findtext("cap:geocode/cap:value", namespaces=NS) == "110105"  # coarse: always
    assert area.find("cap:circle", NS) is None
    assert HOME.address is not None and HOME.address not in narrow_doc.decode()
    assert "kitchen-smoke" not in narrow_doc.decode()  # devices not granted


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(list(AlertKind)),
    severity=st.sampled_from(list(Severity)),
    urgency=st.sampled_from(list(Urgency)),
    state=st.sampled_from(list(AlertState)),
    summary=st.none() | text,
    summary_zh=st.none() | text,
    room=st.none() | st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True),
    count=st.integers(1, 10**6),
    escalation=st.integers(0, 20),
    message_cls=st.sampled_from(MESSAGES),
    fields=st.none()
    | st.lists(st.sampled_from(["room", "devices", "summary", "summary_zh", "address", "count"])),
)
def test_any_alert_renders_valid_cap(
    schema: xmlschema.XMLSchema,
    kind: AlertKind,
    severity: Severity,
    urgency: Urgency,
    state: AlertState,
    summary: str | None,
    summary_zh: str | None,
    room: str | None,
    count: int,
    escalation: int,
    message_cls: type,
    fields: list[str] | None,
) -> None:
    alert = sample_alert(
        kind, severity=severity, urgency=urgency, state=state, summary=summary, summary_zh=summary_zh,
        room=room, count=count, escalation=escalation,
    )  # fmt: skip
    document = render(entry_for(alert, message_cls, fields), CTX)
    schema.validate(document.decode())


def test_non_alert_messages_are_refused() -> None:
    entry = OutboxEntry(1, subscription(), None, "m1", {"type": "org.dhi.v1.state.changed", "data": {}})
    with pytest.raises(PermanentDeliveryError):
        render(entry, CTX)


def test_runtime_validator_catches_an_invalid_document(shared_fixtures: Path) -> None:
    validator = CapValidator(shared_fixtures / "cap" / "CAP-v1.2.xsd")
    good = render(entry_for(sample_alert()), CTX)
    validator.check(good)
    bad = good.replace(b"<msgType>Alert</msgType>", b"<msgType>Panic</msgType>")
    assert bad != good
    with pytest.raises(PermanentDeliveryError, match="not valid"):
        validator.check(bad)


async def test_cap_over_http_through_the_outbox(
    tmp_path: Path, receiver: HttpReceiver, schema: xmlschema.XMLSchema, shared_fixtures: Path
) -> None:
    alerts = {"cap": {"xsd": str(shared_fixtures / "cap" / "CAP-v1.2.xsd")}}
    home_cfg = {"id": "flat-12", "division_code": "110105", "address": "望京街道 12-3-501"}
    async with running_home(tmp_path, alerts=alerts, home=home_cfg) as home:
        await home.consent.create(
            SubscriptionRequest(
                receiver=Receiver(name="119 指挥中心", kind="emergency"),
                transport=Transport.CAP_HTTP,
                endpoint=receiver.url,
                secret=SECRET,
                alert_kinds=[AlertKind.SMOKE],
                fields=["room", "summary", "summary_zh"],
                consent=Consent(granted_by="resident", granted_at=home.clock.now()),
            ),
            actor="admin",
        )
        home.add(SMOKE)
        home.set(SMOKE, "dhi.smoke_alarm", smoke=True)
        await home.settle()
        await asyncio.wait_for(receiver.wait_for(1), 20)
    [got] = receiver.received
    assert got.content_type == "application/cap+xml"
    schema.validate(got.body.decode())
    root = ET.fromstring(got.body)
    assert root.findtext("cap:status", namespaces=NS) == "Actual"
    assert root.findtext("cap:info/cap:area/cap:geocode/cap:value", namespaces=NS) == "110105"
    assert "望京" not in got.body.decode()  # address not granted
