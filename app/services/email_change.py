"""Changing the sign-in address (confirmed from the new inbox) and reverting it from the old one."""

from sqlalchemy.exc import IntegrityError

from .. import codes, outbox, passwords
from ..addresses import email_key
from ..errors import InvalidCredentials, TokenInvalid, ValidationError
from ..extensions import db
from ..models import User
from ..purposes import revert_email
from ..purposes.change_email import ChangeEmail
from .users import find_user_by_email, user_of


def request_email_change(user: User, new_email: str, password: str) -> None:
    """Ask to move the account to new_email; the old address stays the login until confirmed.

    The new address gets a confirmation link (answered by confirm_email), the old one a
    notice with a link that reverts the change. When another account owns the new address,
    its owner is told instead and nothing changes, with the same answer to the requester.
    """
    if not passwords.verify_password(user.password_hash, password):
        raise InvalidCredentials()
    if email_key(new_email) == user.email_key:
        raise ValidationError(fields={"new_email": "This is already your email address."})
    owner = find_user_by_email(new_email)
    if owner is not None:
        outbox.enqueue("email_taken_notice", owner.email, owner)
        db.session.commit()
        return
    user.pending_email = new_email
    # Every request gets a new version: the links of earlier requests stop working.
    user.email_change_version += 1
    outbox.enqueue(
        "email_change_confirm",
        new_email,
        user,
        {"new_email": new_email, "version": user.email_change_version},
    )
    outbox.enqueue(
        "email_change_notice", user.email, user, {"old_email": user.email, "new_email": new_email}
    )
    db.session.commit()


def _revert_target(token: str) -> tuple[User, str]:
    revert = revert_email.read_token(token)
    user, old_email = user_of(revert), revert.old_email
    owner = find_user_by_email(old_email)
    if owner is not None and owner.id != user.id:
        raise TokenInvalid("The previous address now belongs to another account.")
    return user, old_email


def check_revert_token(token: str) -> None:
    """Raise TokenInvalid / TokenExpired unless the revert link still works; change nothing."""
    _revert_target(token)
    db.session.rollback()


def revert_email_change(token: str) -> None:
    """Put back the address the revert link was mailed to, cancel any pending change, sign out.

    It works whatever happened since (the change confirmed, another change asked for): the
    link is the old inbox owner's way back in case someone else holds the account, so a
    further change must not be able to disarm it. Pressing it twice restores nothing new.
    """
    user, old_email = _revert_target(token)
    previous_email = user.email
    user.email = old_email
    user.email_key = email_key(old_email)
    user.pending_email = None
    user.email_change_version += 1  # outstanding confirmation links of changes die
    user.token_version += 1  # every access token is revoked
    codes.end(user.id, ChangeEmail.purpose)
    try:
        if previous_email != old_email:  # not when only a pending change was cancelled
            # Inside the try: queueing flushes the UPDATE, where the unique index may object.
            outbox.enqueue_event("user.email_reverted", user, previous_email=previous_email)
        db.session.commit()
    except IntegrityError:
        # Someone registered the old address between the check and the update.
        db.session.rollback()
        raise TokenInvalid("The previous address now belongs to another account.") from None
