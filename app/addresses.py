"""Email address validation and normalization (email-validator, syntax only)."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale
from flask_babel import gettext as _

MAX_EMAIL_LENGTH = 254


class AddressError(ValueError):
    """The address is not one we can store and send to; the message says why."""


def normalize_email(raw: str) -> str:
    """The normalized form to store: domain lowercased and IDNA-checked, local part as typed."""
    if len(raw) > MAX_EMAIL_LENGTH:
        raise AddressError(_("Must be at most %(count)d characters long.", count=MAX_EMAIL_LENGTH))
    try:
        # No DNS (fast, works offline); ASCII local parts only, since our SMTP path cannot send
        # SMTPUTF8 and an unsendable address must not be stored.
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise AddressError(_invalid_reason(error)) from None
    return result.normalized


def _invalid_reason(error: EmailNotValidError) -> str:
    """email-validator explains precisely, in English only: its words where we answer in
    English, our own translated sentence in any other language."""
    locale = get_locale()
    if locale is None or locale.language == "en":
        return str(error)
    return _("Is not a valid email address.")


def email_key(email: str) -> str:
    """The case-insensitive lookup key: Ann@Example.COM and ann@example.com are one account."""
    return email.lower()
