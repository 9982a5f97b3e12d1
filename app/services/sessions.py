"""Signing in, bearer-token authentication and signing out everywhere."""

from flask import current_app

from .. import metrics, passwords
from ..errors import EmailNotConfirmed, InvalidCredentials, TokenExpired, TokenInvalid, Unauthorized
from ..extensions import db
from ..models import User
from ..purposes import access
from .users import find_user_by_email, user_of


def login(email: str, password: str) -> tuple[str, int]:
    """Check the credentials of a confirmed user; return an access token and its lifetime."""
    user = find_user_by_email(email)
    if user is None:
        passwords.spend_hashing_time(password)
        metrics.count_login("invalid_credentials")
        raise InvalidCredentials()
    if not passwords.verify_password(user.password_hash, password):
        metrics.count_login("invalid_credentials")
        raise InvalidCredentials()
    # Only someone who knows the password learns that the address is unconfirmed.
    if not user.is_confirmed:
        metrics.count_login("email_not_confirmed")
        raise EmailNotConfirmed()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    token = access.make_token(user)
    db.session.commit()
    metrics.count_login("success")
    return token, current_app.config["ACCESS_TOKEN_MAX_AGE"]


def authenticate(access_token: str | None) -> User:
    """The user a bearer token belongs to, if it is valid and not revoked."""
    if not access_token:
        raise Unauthorized()
    try:
        grant = access.read_token(access_token)
        user = user_of(grant)
    except (TokenInvalid, TokenExpired):
        raise Unauthorized() from None
    if not grant.is_current(user) or not user.is_confirmed:
        raise Unauthorized()
    return user


def logout_all(user: User) -> None:
    """Revoke every access token issued to this user so far."""
    user.token_version += 1
    db.session.commit()
