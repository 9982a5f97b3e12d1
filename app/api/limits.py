"""Rate-limit decorators for Resources: per client IP and per target address, from config."""

import hashlib
import json

from flask import current_app, g, request

from ..addresses import AddressError, email_key, normalize_email
from ..extensions import limiter

# Endpoints that send mail to the address in the body share one per-address budget, so
# alternating /register and /confirm/resend cannot double the mail sent to a victim.
MAIL_SCOPE = "mail"


def _target_address() -> str | None:
    """The address the body names (email or new_email), as its account key; None without one."""
    if "rate_limit_address" not in g:
        try:
            data = json.loads(request.get_data(cache=True))
            address = data.get("email") or data.get("new_email")
        except (ValueError, RecursionError, AttributeError):
            address = None
        if isinstance(address, str) and address.strip():
            try:
                # The account key, so Ann@Example.COM and ann@example.com share one bucket.
                address = email_key(normalize_email(address))
            except AddressError:
                address = address.strip().lower()
        else:
            address = None
        g.rate_limit_address = address
    return g.rate_limit_address


def _address_key() -> str:
    """A hash of the address: the same bucket whether or not the address has an account."""
    address = _target_address() or ""
    return "addr:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _has_no_address() -> bool:
    # A body without an address is refused before anything is sent; the per-IP limit covers it.
    return _target_address() is None


def per_ip(setting: str):
    """Limit POSTs per client address with the limit string in config[setting]."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        override_defaults=False,
        scope=setting.lower(),
    )


def per_address(scope: str, setting: str = "RATELIMIT_PER_ADDRESS", *, failures_only=False):
    """Limit POSTs per target address with config[setting], one bucket per scope.

    failures_only counts only 401 answers (failed sign-ins), as NIST SP 800-63B asks: the
    owner's own successful sign-ins never use up the budget an attacker is throttled by.
    """
    return limiter.shared_limit(
        lambda: current_app.config[setting],
        scope=f"address-{scope}",
        key_func=_address_key,
        methods=["POST"],
        override_defaults=False,
        exempt_when=_has_no_address,
        deduct_when=(lambda response: response.status_code == 401) if failures_only else None,
    )
