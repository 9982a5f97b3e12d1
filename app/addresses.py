"""Email address validation and normalization (email-validator, syntax only)."""

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


class AddressError(ValueError):
    """The address is not one we can store and send to; the message says why."""


def normalize_email(raw: str) -> str:
    """The normalized form to store: domain lowercased and IDNA-checked, local part as typed."""
    if len(raw) > MAX_EMAIL_LENGTH:
        raise AddressError(f"Must be at most {MAX_EMAIL_LENGTH} characters long.")
    try:
        # No DNS (fast, works offline); ASCII local parts only, since our SMTP path cannot send
        # SMTPUTF8 and an unsendable address must not be stored.
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise AddressError(str(error)) from None
    return result.normalized


def email_key(email: str) -> str:
    """The case-insensitive lookup key: Ann@Example.COM and ann@example.com are one account."""
    return email.lower()
