"""Use cases: the only place that commits. No request objects, no HTTP status codes."""

from .confirmation import check_confirmation_token, confirm_email
from .registration import register, resend_confirmation
from .sessions import authenticate, login, logout_all

__all__ = [
    "authenticate",
    "check_confirmation_token",
    "confirm_email",
    "login",
    "logout_all",
    "register",
    "resend_confirmation",
]
