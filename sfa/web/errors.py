"""Errors a handler raises to answer a client in the contract's envelope.

A client's mistake is data, not a crash: handlers raise :class:`APIError` (or one of its named forms) and
the envelope middleware renders ``{"error": ..., "code": ...}`` with the right status.
"""

from __future__ import annotations

from http import HTTPStatus

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def code_for(status: int) -> str:
    return CODES.get(status) or HTTPStatus(status).name


class APIError(Exception):
    """An answer in the error envelope: ``status``, a human ``message``, an UPPER_SNAKE ``code``."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code or code_for(self.status)
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        body = {"error": self.message, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(APIError):
    status = 400


class NotFound(APIError):
    status = 404

    def __init__(self, message: str = "not found") -> None:
        super().__init__(message)


class ValidationFailed(APIError):
    """422 with per-field messages, as the contract shapes it."""

    status = 422

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("validation failed", details=details)
