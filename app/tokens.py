"""Signed, timestamped tokens, one salt per purpose: the only module that imports itsdangerous."""

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from .errors import TokenExpired, TokenInvalid

CONFIRM_EMAIL = "confirm-email"
CHANGE_EMAIL = "change-email"
REVERT_EMAIL = "revert-email"
RESET_PASSWORD = "reset-password"
ACCESS = "access"

# Our tokens are a few hundred characters; anything far longer is not one of ours.
MAX_TOKEN_LENGTH = 1024


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and verifies with all of them (CVE-2025-47278).
    keys = [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=purpose)


def issue(purpose: str, payload: Any) -> str:
    """Sign payload for one purpose; the signature also dates it."""
    return _serializer(purpose).dumps(payload)


def verify(purpose: str, token: Any, max_age: int) -> Any:
    """Return the payload of a token made for this purpose, or raise TokenExpired / TokenInvalid."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid()
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired() from None
    except (BadData, UnicodeError, ValueError, TypeError):
        raise TokenInvalid() from None


def digest(value: str | None) -> str:
    """A short fingerprint that binds a token to a value without putting the value in it."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:24]
