"""Property-based conformance of the live API to its OpenAPI document (schemathesis).

A real hub (alert engine, consent service, probe devices) serves on loopback; schemathesis
sends generated valid and invalid requests to every operation with an admin token, checking:
no 5xx, every status, header and content type documented, every body valid against its
schema, invalid input rejected, auth enforced, undeclared methods refused.

The document is the bundled ``openapi.yaml`` — exactly what the hub serves at
``/api/v1/openapi.json`` (asserted below); it is loaded at collection time because the
schemathesis pytest plugin parametrizes tests then. The WebSocket upgrade (``/ws``) is left
out: its protocol is asyncapi.yaml, tested in test_ws.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import schemathesis

from hub.alerts.engine import AlertEngine
from hub.api.models import Scope
from hub.api.openapi import bundle, load_spec
from hub.consent import ConsentService
from tests.api.support import Harness, hub_thread

DOCUMENT = bundle(load_spec())
CONFIG = schemathesis.Config.from_dict(
    {
        "request-timeout": 30,
        # the token is the test's, not generated: negative cases must not strip it (auth has its own check)
        "generation": {"max-examples": 50, "database": "none", "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                # consent rules beyond JSON Schema (a webhook needs a secret, a topic prefix needs an
                # uplink broker) answer schema-valid bodies with the documented 422 + invalid-params
                "include-path-regex": "^/subscriptions",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                    }
                },
            },
            {
                # enrolment needs a platform to talk to: this hub runs no enrolment service, so a
                # valid form gets the documented 503 (a 5xx by design, like the 502 of a platform
                # that is away); tests/e2e/test_community.py enrols real hubs with a real platform
                "include-path-regex": "^/enrolments$",
                "checks": {
                    "not_a_server_error": {"enabled": False},
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "422", "429", "502", "503"]
                    },
                },
            },
        ],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(path="/ws")


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with hub_thread(
        tmp_path_factory.mktemp("schemathesis"), extra_services=[AlertEngine(), ConsentService()]
    ) as h:
        yield h


@pytest.mark.slow
def test_the_hub_serves_the_document_under_test(live_hub: Harness) -> None:
    served = requests.get(live_hub.url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))


@pytest.mark.slow
@schema.parametrize()
def test_live_api_conforms_to_its_openapi_document(case: schemathesis.Case, live_hub: Harness) -> None:
    case.call_and_validate(base_url=live_hub.url, headers=live_hub.auth(Scope.ADMIN))
