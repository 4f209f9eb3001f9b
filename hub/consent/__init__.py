"""Consent: the resident's subscriptions, the filter that runs before anything is queued, and
the audit log of every grant, share and refusal (DESIGN §6)."""

from hub.consent.service import ConsentService

__all__ = ["ConsentService"]
