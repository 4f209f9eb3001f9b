"""A real PostgreSQL server for tests (pytest plugin, loaded from tests/conftest.py): the
throw-away server of ``bench.postgres`` (Debian's binaries; as the ``postgres`` user under root).

``postgres_server`` (session) starts it; ``postgres_url`` (function) is a fresh, empty database
per test. A missing binary is a failure with a message, never a skip: ``make install`` installs it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.postgres import PostgresMissing, PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new empty database on the session's server (tests never see each other's rows)."""
    return postgres_server.create_database()
