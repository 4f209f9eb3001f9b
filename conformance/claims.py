"""Loading a claims file (YAML or JSON) with errors that name the JSON path of each problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dhi.models.conformance import Claims, TargetKind
from dhi.validate import DocumentError, load_document, validate


class ClaimsError(Exception):
    """The claims file is missing, unreadable or invalid; ``problems`` are ``path: reason`` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: invalid claims file:\n" + "\n".join(f"  {p}" for p in problems))
        self.source = source
        self.problems = problems


def parse_claims(doc: Any, source: str = "<claims>", target: TargetKind | None = None) -> Claims:
    _, problems = validate(doc, "claims")
    if problems:
        raise ClaimsError(source, [str(p) for p in problems])
    claims = Claims.model_validate(doc)
    if target is not None and claims.target is not target:
        raise ClaimsError(
            source, [f"$.target: the claims are for a {claims.target.value}, this run tests a {target.value}"]
        )
    return claims


def load_claims(path: Path, target: TargetKind | None = None) -> Claims:
    try:
        doc = load_document(path)
    except DocumentError as exc:
        raise ClaimsError(str(path), [str(exc)]) from None
    return parse_claims(doc, str(path), target)
