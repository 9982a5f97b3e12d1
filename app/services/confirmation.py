"""Confirming an address from an emailed token or code: a new account's, or an email change's."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from .. import codes, metrics, outbox
from ..addresses import email_key
from ..errors import CodeInvalid, TokenInvalid
from ..extensions import db
from ..models import User, VerificationCode
from ..purposes import change_email as change_email_token
from ..purposes import confirm_email as confirm_email_token
from ..purposes.change_email import ChangeEmail
from ..purposes.confirm_email import ConfirmEmail
from ..timeutil import utcnow
from .users import user_of, user_row_for_update, user_row_of
from .verification import redeem_code

CONFIRM_PURPOSES = (ConfirmEmail.purpose, ChangeEmail.purpose)


@dataclass(frozen=True)
class _Confirmation:
    user: User  # or, for a check that changes nothing, a read-only row (users.user_row_of)
    change: bool  # True for an email change, False for a new account
    new_email: str | None = None
    version: int | None = None


def _resolve(token: str, load=user_of) -> _Confirmation:
    """Read a token from a /confirm link: first as a sign-up token, then as an email-change one."""
    try:
        signup = confirm_email_token.read_token(token)
    except TokenInvalid:
        return _for_change(change_email_token.read_token(token), load)
    return _for_signup(signup, load)


def _resolve_code(row: VerificationCode) -> _Confirmation | None:
    """A matching code stands for the same payload as its mail's token: the same checks follow."""
    try:
        if row.purpose == ConfirmEmail.purpose:
            return _for_signup(confirm_email_token.read_code(row))
        return _for_change(change_email_token.read_code(row))
    except TokenInvalid:
        return None


def _for_signup(signup: ConfirmEmail, load=user_of) -> _Confirmation:
    user = load(signup)
    if not signup.is_for(user):
        raise TokenInvalid()
    return _Confirmation(user, change=False)


def _for_change(change: ChangeEmail, load=user_of) -> _Confirmation:
    user = load(change)
    if change.is_applied(user):
        return _Confirmation(user, change=True)
    if not change.is_pending(user):
        # A newer change request, or a revert, made this link obsolete.
        raise TokenInvalid()
    return _Confirmation(user, change=True, new_email=user.pending_email, version=change.version)


def check_confirmation_token(token: str) -> str:
    """What confirming would do, without doing it: 'pending_confirmation' or 'already_confirmed'."""
    # Nothing is written: the user's row is enough, no ORM object needs building.
    found = _resolve(token, load=user_row_of)
    if found.change:
        status = "pending_confirmation" if found.new_email else "already_confirmed"
    else:
        confirmed = found.user.confirmed_at is not None
        status = "already_confirmed" if confirmed else "pending_confirmation"
    return status


def confirm_email(token: str) -> dict:
    """Confirm the address a token was issued for; confirming twice answers already_confirmed."""
    # The user as a row of the session's transaction: what follows is Core updates only.
    return _confirm(_resolve(token, load=user_row_for_update), via="link")


def confirm_email_by_code(email: str, code: str) -> dict:
    """Confirm with the code of a confirmation mail sent to email: as confirm_email does."""
    found = redeem_code(CONFIRM_PURPOSES, email, code, _resolve_code)
    try:
        return _confirm(found, via="code")
    except TokenInvalid as error:  # the new address was taken meanwhile: the code is dead too
        raise CodeInvalid(error.message) from None


def _confirm(found: _Confirmation, via: str) -> dict:
    if found.change:
        return _apply_email_change(found)
    return mark_confirmed(found.user, via)


# Built once: a statement made per request costs more than running it. RETURNING reads the
# flag from the row as this UPDATE locked it, so a re-registration racing the confirmation
# cannot slip past the check below.
_CONFIRM = (
    update(User.__table__)
    .where(User.__table__.c.id == bindparam("user_id"), User.__table__.c.confirmed_at.is_(None))
    .values(confirmed_at=bindparam("now", type_=User.__table__.c.confirmed_at.type))
    .returning(User.__table__.c.registration_conflict)
)


def mark_confirmed(user: User | Row, via: str) -> dict:
    """Confirm a new account's address, however the inbox was proven, and queue user.confirmed.

    Confirming twice answers already_confirmed and queues nothing.
    """
    # A conditional update: of concurrent confirmations exactly one sees a row change.
    changed = (
        db.session.connection().execute(_CONFIRM, {"user_id": user.id, "now": utcnow()}).first()
    )
    if changed is None:
        db.session.rollback()
        return {"status": "already_confirmed"}
    # Confirmed by link or by code: no other code of the sign-up mails works any more.
    codes.end(user.id, ConfirmEmail.purpose)
    outbox.enqueue_event("user.confirmed", user)
    answer = {"status": "confirmed"}
    if changed.registration_conflict:
        # Pre-hijacking defence: the address was registered with several passwords, and
        # only the inbox owner is known to be here, so none of those passwords is kept.
        account = db.session.get(User, user.id, populate_existing=True)
        account.password_hash = None
        account.registration_conflict = False
        account.token_version += 1
        outbox.enqueue("password_set", account.email, account)
        answer["password_reset_required"] = True
    db.session.commit()
    metrics.count_confirmation(via)
    return answer


def _apply_email_change(found: _Confirmation) -> dict:
    if found.new_email is None:
        db.session.rollback()
        return {"status": "already_confirmed"}
    previous_email = found.user.email
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
        raise TokenInvalid(_("This address now belongs to another account.")) from None
    if result.rowcount == 0:
        db.session.rollback()
        return {"status": "already_confirmed"}
    codes.end(found.user.id, ChangeEmail.purpose)
    outbox.enqueue_event("user.email_changed", found.user, previous_email=previous_email)
    db.session.commit()
    return {"status": "email_changed"}
