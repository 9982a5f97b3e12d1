"""Password reset: asking for a link, checking it, setting a new password with it or its code."""

from sqlalchemy import update

from .. import codes, outbox, passwords, tokens
from ..errors import ApiError, CodeInvalid, TokenInvalid, ValidationError
from ..extensions import db
from ..models import User, VerificationCode
from ..purposes import reset_password as reset_password_token
from ..purposes.reset_password import ResetPassword
from ..timeutil import utcnow
from .users import user_of
from .verification import redeem_code


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
    _set_password(_user_for_reset_token(token), password, TokenInvalid)


def reset_password_by_code(email: str, code: str, password: str) -> None:
    """Set a new password with the code of a reset mail sent to email: as reset_password does."""
    # The policy first: a weak password must not cost the person one of their guesses.
    _check_policy(password, email)
    user = redeem_code((ResetPassword.purpose,), email, code, _user_for_reset_code)
    _set_password(user, password, CodeInvalid)


def _user_for_reset_code(row: VerificationCode) -> User | None:
    reset = reset_password_token.read_code(row)
    user = db.session.get(User, reset.user_id)
    # Bound like the link to the hash it was issued against, and to the account's address.
    if (
        user is None
        or not reset.is_current(user)
        or row.address_hash != tokens.digest(user.email_key)
    ):
        return None
    return user


def _check_policy(password: str, email: str) -> None:
    problem = passwords.password_problem(password, email)
    if problem:
        db.session.rollback()
        raise ValidationError(fields={"password": problem})


def _set_password(user: User, password: str, used_up: type[ApiError]) -> None:
    _check_policy(password, user.email)
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
        raise used_up()
    # Reset by link or by code: no other reset code of this account works any more.
    codes.end(user.id, ResetPassword.purpose)
    if user.confirmed_at is None:
        outbox.enqueue_event("user.confirmed", user)  # the reset link proved the inbox
    outbox.enqueue_event("user.password_reset", user)
    db.session.commit()
