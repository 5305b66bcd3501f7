"""Errors: `BotApiError` with constructors for Telegram's usual ones, and `ControlError`."""

from __future__ import annotations

from http import HTTPStatus

from service.sandbox.objects import JSON


class BotApiError(Exception):
    """A Bot API failure, answered as `{"ok": false, "error_code": N, "description": ...}`."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_api(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> BotApiError:
    return BotApiError(403, f"Forbidden: {detail}")


def conflict(detail: str) -> BotApiError:
    return BotApiError(409, f"Conflict: {detail}")


def too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def injected_error(status: int, retry_after: int | None, description: str | None) -> BotApiError:
    """The error a fault injected through the control API answers with."""
    if status == 429:
        retry_after = retry_after or 1
        return BotApiError(
            429, description or f"Too Many Requests: retry after {retry_after}", retry_after
        )
    default_descriptions = {
        400: "Bad Request: injected failure",
        403: "Forbidden: bot was blocked by the user",
        409: "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    }
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected failure"
    return BotApiError(status, description or default_descriptions.get(status, phrase), retry_after)


class ControlError(Exception):
    """The control API was asked for something impossible (unknown chat, no such button)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
