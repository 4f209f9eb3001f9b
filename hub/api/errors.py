"""Error codes only the HTTP layer produces (the domain codes live in ``hub.errors``)."""

from __future__ import annotations

from hub.errors import HubError


class BadRequest(HubError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class MethodNotAllowed(HubError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class PayloadTooLarge(HubError):
    code = "payload_too_large"
    status = 413
    title = "Request body too large"


class UnsupportedMediaType(HubError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class ServiceUnavailable(HubError):
    code = "service_unavailable"
    status = 503
    title = "Service not running"


class UpgradeRequired(HubError):
    code = "upgrade_required"
    status = 426
    title = "WebSocket upgrade required"
