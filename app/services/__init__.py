"""Use cases: the only place that commits. No request objects, no HTTP status codes."""

from .cleanup import prune_outbox, purge_unconfirmed
from .confirmation import check_confirmation_token, confirm_email, confirm_email_by_code
from .email_change import check_revert_token, request_email_change, revert_email_change
from .recovery import (
    check_reset_token,
    request_password_reset,
    reset_password,
    reset_password_by_code,
)
from .registration import register, resend_confirmation
from .sessions import authenticate, login, logout_all
from .users import set_locale

__all__ = [
    "authenticate",
    "check_confirmation_token",
    "check_reset_token",
    "check_revert_token",
    "confirm_email",
    "confirm_email_by_code",
    "login",
    "logout_all",
    "prune_outbox",
    "purge_unconfirmed",
    "register",
    "request_email_change",
    "request_password_reset",
    "resend_confirmation",
    "reset_password",
    "reset_password_by_code",
    "revert_email_change",
    "set_locale",
]
