"""Signed tokens and keyed code hashes: the only module that imports itsdangerous."""

import dataclasses
import functools
import hashlib
import hmac
from typing import Any, Self

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from .errors import TokenExpired, TokenInvalid

# Our tokens are a few hundred characters; anything far longer is not one of ours.
MAX_TOKEN_LENGTH = 1024


def signing_keys() -> list[str]:
    """The keys in itsdangerous order: fallbacks first, the current key last (it signs)."""
    config = current_app.config
    # itsdangerous signs with the last key and verifies with all of them (CVE-2025-47278).
    return [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _serializer_for(tuple(signing_keys()), purpose)


@functools.lru_cache(maxsize=64)
def _serializer_for(keys: tuple[str, ...], purpose: str) -> URLSafeTimedSerializer:
    # Built once per key set and purpose: the keys are part of the cache key, so a rotated
    # SECRET_KEY or fallback list gets a serializer of its own, never a stale one.
    return URLSafeTimedSerializer(list(keys), salt=purpose)


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


def code_hashes(purpose: str, address_key: str, code: str) -> list[str]:
    """The keyed hash of a code under each key, the current (signing) key first.

    HMAC with the secret key: a database dump alone does not let anyone test the million
    candidates. Purpose and address are inside the hash, so a stored hash matches only the
    code for that purpose and that address. The fallback keys keep codes working across a
    key rotation, as they do for tokens.
    """
    message = f"verification-code|{purpose}|{address_key}|{code}".encode()
    return [
        hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
        for key in reversed(signing_keys())
    ]


@dataclasses.dataclass(frozen=True)
class Payload:
    """A token payload with named fields; on the wire it stays a compact list, in field order.

    Subclasses are frozen dataclasses whose fields are int or str. `purpose` (a class
    attribute, not a field) is the token's salt, so a token of one purpose never reads as
    another's.
    """

    purpose = ""

    def sign(self) -> str:
        return issue(self.purpose, [getattr(self, f.name) for f in dataclasses.fields(self)])

    @classmethod
    def read(cls, token: Any, max_age: int) -> Self:
        """The payload of a valid token of this purpose; TokenInvalid for any other shape."""
        payload = verify(cls.purpose, token, max_age)
        fields = dataclasses.fields(cls)
        if not isinstance(payload, list) or len(payload) != len(fields):
            raise TokenInvalid()
        for field, value in zip(fields, payload, strict=True):
            # bool is an int to Python, never to us.
            if isinstance(value, bool) or not isinstance(value, field.type):
                raise TokenInvalid()
        return cls(*payload)
