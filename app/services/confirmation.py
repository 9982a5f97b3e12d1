"""Confirming an address from an emailed token: a new account's, or an email change's."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from .. import outbox, tokens
from ..addresses import email_key
from ..errors import TokenInvalid
from ..extensions import db
from ..models import User
from ..timeutil import utcnow
from .users import user_from_token


@dataclass(frozen=True)
class _Confirmation:
    user: User
    change: bool  # True for an email change, False for a new account
    new_email: str | None = None
    version: int | None = None


def _resolve(token: str) -> _Confirmation:
    """Read a token from a /confirm link: first as a sign-up token, then as an email-change one."""
    max_age = current_app.config["CONFIRM_TOKEN_MAX_AGE"]
    try:
        user, (address_digest,) = user_from_token(tokens.CONFIRM_EMAIL, token, max_age, 2)
        change, version = False, None
    except TokenInvalid:
        user, (address_digest, version) = user_from_token(tokens.CHANGE_EMAIL, token, max_age, 3)
        change = True
    if not change:
        # Bound to the address: a token issued for one address never confirms another.
        if address_digest != tokens.digest(user.email_key):
            raise TokenInvalid()
        return _Confirmation(user, change=False)
    if address_digest == tokens.digest(user.email_key) and user.pending_email is None:
        return _Confirmation(user, change=True)  # already applied
    if (
        user.pending_email is None
        or address_digest != tokens.digest(email_key(user.pending_email))
        or version != user.email_change_version
    ):
        # A newer change request, or a revert, made this link obsolete.
        raise TokenInvalid()
    return _Confirmation(user, change=True, new_email=user.pending_email, version=version)


def check_confirmation_token(token: str) -> str:
    """What confirming would do, without doing it: 'pending_confirmation' or 'already_confirmed'."""
    found = _resolve(token)
    if found.change:
        status = "pending_confirmation" if found.new_email else "already_confirmed"
    else:
        status = "already_confirmed" if found.user.is_confirmed else "pending_confirmation"
    # Decided before the rollback, which expires the user: reading it after costs a query.
    db.session.rollback()
    return status


def confirm_email(token: str) -> dict:
    """Confirm the address a token was issued for; confirming twice answers already_confirmed."""
    found = _resolve(token)
    if found.change:
        return _apply_email_change(found)
    user = found.user
    # A conditional update: of concurrent confirmations exactly one sees a row change.
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, User.confirmed_at.is_(None))
        .values(confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        db.session.rollback()
        return {"status": "already_confirmed"}
    db.session.refresh(user)
    answer = {"status": "confirmed"}
    if user.registration_conflict:
        # Pre-hijacking defence: the address was registered with several passwords, and
        # only the inbox owner is known to be here, so none of those passwords is kept.
        user.password_hash = None
        user.registration_conflict = False
        user.token_version += 1
        outbox.enqueue("password_set", user.email, user)
        answer["password_reset_required"] = True
    db.session.commit()
    return answer


def _apply_email_change(found: _Confirmation) -> dict:
    if found.new_email is None:
        db.session.rollback()
        return {"status": "already_confirmed"}
    # The unique index on email_key is checked by the UPDATE itself, not at commit.
    try:
        result = db.session.execute(
            update(User)
            .where(
                User.id == found.user.id,
                User.pending_email == found.new_email,
                User.email_change_version == found.version,
            )
            .values(email=found.new_email, email_key=email_key(found.new_email), pending_email=None)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:
        # Someone registered the new address while the change waited for confirmation.
        db.session.rollback()
        raise TokenInvalid("This address now belongs to another account.") from None
    if result.rowcount == 0:
        db.session.rollback()
        return {"status": "already_confirmed"}
    db.session.commit()
    return {"status": "email_changed"}
