"""Signing in, bearer-token authentication and signing out everywhere."""

from flask import current_app

from .. import metrics, passwords, tokens
from ..errors import EmailNotConfirmed, InvalidCredentials, TokenExpired, TokenInvalid, Unauthorized
from ..extensions import db
from ..models import User
from .users import find_user_by_email, user_from_token


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
    token = tokens.issue(tokens.ACCESS, [user.id, user.token_version])
    db.session.commit()
    metrics.count_login("success")
    return token, current_app.config["ACCESS_TOKEN_MAX_AGE"]


def authenticate(access_token: str | None) -> User:
    """The user a bearer token belongs to, if it is valid and not revoked."""
    if not access_token:
        raise Unauthorized()
    try:
        user, (version,) = user_from_token(
            tokens.ACCESS, access_token, current_app.config["ACCESS_TOKEN_MAX_AGE"], 2
        )
    except (TokenInvalid, TokenExpired):
        raise Unauthorized() from None
    if user.token_version != version or not user.is_confirmed:
        raise Unauthorized()
    return user


def logout_all(user: User) -> None:
    """Revoke every access token issued to this user so far."""
    user.token_version += 1
    db.session.commit()
