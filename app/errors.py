"""Error classes with a code, the one JSON envelope, and the app's error handlers."""

import logging
import uuid
from collections.abc import Callable

from flask import Flask, Response, g, jsonify
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be understood."

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields
        self.headers: dict[str, str] = {}


class ValidationError(ApiError):
    code = "validation_error"
    message = "Some fields are missing or invalid."


class InvalidJson(ApiError):
    code = "invalid_json"
    message = "The body must be a JSON object."


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    message = "Send the body as application/json."


class TokenInvalid(ApiError):
    code = "token_invalid"
    message = "The link is not valid: it may be mistyped, cut short or already used."


class TokenExpired(ApiError):
    code = "token_expired"
    message = "The link has expired: ask for a new one."


class CodeInvalid(ApiError):
    code = "code_invalid"
    message = "The code is not valid: it may be mistyped, expired or already used."


class TooManyGuesses(ApiError):
    status = 429
    code = "rate_limited"
    message = "Too many wrong codes for this address: wait and try again later."

    def __init__(self, retry_after: int):
        super().__init__()
        self.headers = {"Retry-After": str(max(1, retry_after))}


class EmailTaken(ApiError):
    status = 409
    code = "email_taken"
    message = "An account with this email address already exists."


class InvalidCredentials(ApiError):
    status = 401
    code = "invalid_credentials"
    message = "The email address or password is incorrect."


class EmailNotConfirmed(ApiError):
    status = 403
    code = "email_not_confirmed"
    message = "Confirm your email address before signing in."


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    message = "A valid bearer token is required."


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    message = "The service is temporarily unavailable; try again shortly."


# werkzeug's own errors, renamed to the contract's codes.
HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "A valid bearer token is required."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The body is larger than 64 KiB."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    429: ("rate_limited", "Too many requests: slow down and try again later."),
}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(status: int, code: str, message: str, fields=None, headers=None):
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(
    app: Flask, page_for: Callable[[ApiError], Response | None] | None = None
) -> None:
    """Every error leaves as the JSON envelope: ours, werkzeug's, the database's, the unexpected.

    `page_for` may answer an ApiError with an HTML page instead (a browser on an emailed-link
    flow); it returns None for every other request. Resources only raise: this decides.
    """

    @app.errorhandler(ApiError)
    def handle_api_error(e: ApiError):
        page = page_for(e) if page_for is not None else None
        if page is not None:
            return page
        return error_response(e.status, e.code, e.message, e.fields, headers=e.headers)

    @app.errorhandler(HTTPException)
    def handle_http_error(e: HTTPException):
        status = e.code or 500
        code, message = HTTP_CODES.get(status, ("http_error", e.description or "HTTP error."))
        headers = {}
        if status == 405 and e.response is None:
            allowed = getattr(e, "valid_methods", None)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        if status == 429:
            message = f"Too many requests ({e.description}): slow down and try again later."
        return error_response(status, code, message, headers=headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def handle_database_down(e: Exception):
        log.error("database unavailable: %s", type(e).__name__)
        err = ServiceUnavailable()
        return error_response(err.status, err.code, err.message, headers={"Retry-After": "5"})

    @app.errorhandler(Exception)
    def handle_unexpected(e: Exception):
        if isinstance(e, HTTPException):  # routed here by some extensions
            return handle_http_error(e)
        request_id = getattr(g, "request_id", None) or uuid.uuid4().hex
        log.exception("unhandled error, request_id=%s", request_id)
        response = error_response(
            500,
            "internal_error",
            f"Something went wrong on our side. Quote request id {request_id} when reporting it.",
        )
        response.headers["X-Request-ID"] = request_id
        return response
