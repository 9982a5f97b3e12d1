"""Password reset: asking for a link, checking it, and setting a new password with it."""

from sqlalchemy import update

from .. import outbox, passwords
from ..errors import TokenInvalid, ValidationError
from ..extensions import db
from ..models import User
from ..purposes import reset_password as reset_password_token
from ..timeutil import utcnow
from .users import user_of


def request_password_reset(email: str) -> None:
    """Queue a reset link for the address; it is sent only if an account uses the address.

    The account is looked up when the mail is composed, not here: the request does the
    same work for every address, so neither its answer nor its timing tells who has one.
    """
    outbox.enqueue("password_reset", email, None)
    db.session.commit()


def _user_for_reset_token(token: str) -> User:
    reset = reset_password_token.read_token(token)
    user = user_of(reset)
    if not reset.is_current(user):
        raise TokenInvalid()
    return user


def check_reset_token(token: str) -> None:
    """Raise TokenInvalid / TokenExpired unless the reset link can still be used; change nothing."""
    _user_for_reset_token(token)
    db.session.rollback()


def reset_password(token: str, password: str) -> None:
    """Set a new password with a reset link; every access token issued before is revoked.

    An unconfirmed account is confirmed too: the link was mailed to the address, so using
    it proves the same inbox ownership a confirmation link does. That also ends any
    pre-registration by someone else, whose password is replaced here.
    """
    user = _user_for_reset_token(token)
    problem = passwords.password_problem(password, user.email)
    if problem:
        db.session.rollback()
        raise ValidationError(fields={"password": problem})
    issued_for = user.password_hash
    new_hash = passwords.hash_password(password)
    # A conditional update: of two concurrent uses of one link exactly one changes the row.
    same_hash = (
        User.password_hash.is_(None) if issued_for is None else User.password_hash == issued_for
    )
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, same_hash)
        .values(
            password_hash=new_hash,
            token_version=User.token_version + 1,
            registration_conflict=False,
            confirmed_at=user.confirmed_at or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        db.session.rollback()
        raise TokenInvalid()
    if user.confirmed_at is None:
        outbox.enqueue_event("user.confirmed", user)  # the reset link proved the inbox
    outbox.enqueue_event("user.password_reset", user)
    db.session.commit()
