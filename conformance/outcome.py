"""How a case says what it found: return evidence to pass, raise an outcome otherwise."""

from __future__ import annotations

from typing import Any

from dhi.models.conformance import Evidence, ResultStatus


class Outcome(Exception):
    status: ResultStatus = ResultStatus.FAIL

    def __init__(self, message: str, *, sent: Any = None, expected: Any = None, got: Any = None) -> None:
        super().__init__(message)
        self.evidence = Evidence(message=message, sent=sent, expected=expected, got=got)


class Failed(Outcome):
    status = ResultStatus.FAIL


class Warned(Outcome):
    """The target works but deviates from a SHOULD, or the check could not be completed."""

    status = ResultStatus.WARNING


class Errored(Outcome):
    """A prerequisite is missing (e.g. no readable description): the case cannot be judged."""

    status = ResultStatus.ERROR


class NotApplicable(Outcome):
    """Nothing on the target this case could check (no such member, not claimed)."""

    status = ResultStatus.NOT_APPLICABLE


def require(
    condition: bool, message: str, *, sent: Any = None, expected: Any = None, got: Any = None
) -> None:
    if not condition:
        raise Failed(message, sent=sent, expected=expected, got=got)


def passed(message: str, *, sent: Any = None, expected: Any = None, got: Any = None) -> Evidence:
    return Evidence(message=message, sent=sent, expected=expected, got=got)
