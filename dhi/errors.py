"""Domain errors as data (DHI v1 §6.4): each class has a stable ``code`` and HTTP status.

The codes are part of the interface — command results, problem+json bodies and the
conformance suite all carry them — so a class registers itself under its code.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dhi.models.command import ErrorInfo

ERRORS: dict[str, type[HubError]] = {}


class HubError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code in ERRORS:
            raise TypeError(f"error code {cls.code!r} registered twice")
        ERRORS[cls.code] = cls

    def __init__(self, message: str, *, field: str | None = None, expected: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.expected = expected

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, field=self.field, expected=self.expected)


ERRORS[HubError.code] = HubError


class NotFound(HubError):
    code = "not_found"
    status = 404
    title = "Not found"


class UnknownDevice(HubError):
    code = "unknown_device"
    status = 404
    title = "Unknown device"


class UnknownComponent(HubError):
    code = "unknown_component"
    status = 422
    title = "Unknown component"


class UnknownCapability(HubError):
    code = "unknown_capability"
    status = 422
    title = "Capability not on this device"


class UnknownCommand(HubError):
    code = "unknown_command"
    status = 422
    title = "Unknown command"


class UnknownProperty(HubError):
    code = "unknown_property"
    status = 422
    title = "Unknown property"


class NotWritable(HubError):
    code = "not_writable"
    status = 422
    title = "Property is not writable"


class InvalidParams(HubError):
    code = "invalid_params"
    status = 422
    title = "Invalid command parameters"


class OutOfRange(HubError):
    code = "out_of_range"
    status = 422
    title = "Value out of range"


class InvalidDocument(HubError):
    code = "invalid_document"
    status = 400
    title = "Invalid document"


class DeviceUnavailable(HubError):
    code = "device_unavailable"
    status = 409
    title = "Device unavailable"


class CommandTimeout(HubError):
    code = "timeout"
    status = 504
    title = "Device did not answer in time"


class AdapterError(HubError):
    code = "adapter_error"
    status = 502
    title = "Adapter or device reported an error"


class Unsupported(HubError):
    code = "unsupported"
    status = 422
    title = "Not supported by this device"


class Unauthorized(HubError):
    code = "unauthorized"
    status = 401
    title = "Missing or invalid token"


class Forbidden(HubError):
    code = "forbidden"
    status = 403
    title = "Token lacks the required scope"


class RateLimited(HubError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class Conflict(HubError):
    code = "conflict"
    status = 409
    title = "Conflict"


class ConfigError(HubError):
    code = "config_error"
    status = 400
    title = "Invalid configuration"


# ---- codes only the HTTP layer produces


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


class PlatformError(HubError):
    code = "platform_error"
    status = 502
    title = "The platform refused or did not answer"
