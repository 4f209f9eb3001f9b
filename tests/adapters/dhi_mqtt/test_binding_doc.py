"""The literal JSON examples in BINDING.md are valid DHI documents (the doc cannot drift)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dhi.catalog import default_catalog
from dhi.checks import check_description, check_event_report, check_state_report
from dhi.models import CommandRequest, CommandResult, DeviceDescription, EventReport, StateReport

BINDING = Path(__file__).resolve().parents[3] / "adapters" / "dhi_mqtt" / "BINDING.md"


def examples() -> list[dict[str, object]]:
    blocks = re.findall(r"```json\n(.*?)```", BINDING.read_text(encoding="utf-8"), re.S)
    return [json.loads(b) for b in blocks]


def test_every_example_is_a_valid_document() -> None:
    docs = examples()
    assert len(docs) == 7
    catalog = default_catalog()
    desc = DeviceDescription.model_validate(docs[0])
    check_description(desc, catalog)
    state = StateReport.model_validate(docs[1])
    check_state_report(desc, state.component, state.capability, state.properties, catalog)
    event = EventReport.model_validate(docs[2])
    check_event_report(desc, event.component, event.capability, event.event, event.payload, catalog=catalog)
    for doc in docs[3:5]:
        req = CommandRequest.model_validate(doc)
        assert desc.components[0].capability(req.capability) is not None
    for doc in docs[5:]:
        CommandResult.model_validate(doc)
