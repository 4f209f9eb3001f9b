"""``Tally``: a lock-free counter exposed like any Prometheus counter."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hub.metrics import Tally


def test_counts_per_label_set_and_exposes_them_as_a_counter() -> None:
    registry = CollectorRegistry(auto_describe=True)
    tally = Tally("dhome_things", "Things seen", ("adapter", "kind"), registry=registry)
    tally.labels("z2m", "state").inc()
    tally.labels("z2m", "state").inc(4)
    tally.labels("matter", "event").inc()
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert families["dhome_things"].type == "counter"
    samples = {tuple(sorted(s.labels.items())): s.value for s in families["dhome_things"].samples}
    assert samples == {
        (("adapter", "z2m"), ("kind", "state")): 5,
        (("adapter", "matter"), ("kind", "event")): 1,
    }
    with pytest.raises(ValueError, match="takes labels"):
        tally.labels("only-one")
    with pytest.raises(ValueError):  # the registry refuses a second metric of the same name
        Tally("dhome_things", "again", (), registry=registry)
