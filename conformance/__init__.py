"""The DHI v1 conformance suite (DESIGN §8, spec §10).

Test cases with stable ids ``DHI-<AREA>-<n>.<m>`` for three kinds of targets — a DHI-MQTT
device on a broker, an adapter plugin run in-process, a hub API at a URL — selected by a
vendor's claims file, reported as JSON, JUnit XML and one HTML page.

Entry points: ``dhome conformance device|adapter|hub`` (``conformance.cli``), the pytest
plugin ``conformance.plugin`` and, for programs and benchmarks, ``run_device_target``,
``run_adapter_target`` and ``run_hub_target``.
"""

from conformance.api import run_adapter_target, run_device_target, run_hub_target
from conformance.claims import ClaimsError, load_claims
from conformance.registry import REGISTRY, Case, cases_for

__all__ = [
    "REGISTRY",
    "Case",
    "ClaimsError",
    "cases_for",
    "load_claims",
    "run_adapter_target",
    "run_device_target",
    "run_hub_target",
]
