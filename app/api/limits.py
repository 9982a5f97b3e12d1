"""Rate-limit decorators for Resources: per client IP and per target address, from config."""

import hashlib
import json

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def _address_key() -> str:
    """Bucket by the address in the body, hashed; the same whether or not it has an account."""
    try:
        data = json.loads(request.get_data(cache=True))
        address = data.get("email") or data.get("new_email")
    except (ValueError, RecursionError, AttributeError):
        address = None
    if not isinstance(address, str) or not address.strip():
        return f"ip:{get_remote_address()}"
    return "addr:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]


def per_ip(setting: str):
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        override_defaults=False,
        scope=setting.lower(),
    )


def per_address(scope: str):
    return limiter.limit(
        lambda: current_app.config["RATELIMIT_PER_ADDRESS"],
        key_func=_address_key,
        methods=["POST"],
        override_defaults=False,
        scope=f"address-{scope}",
    )
