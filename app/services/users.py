"""Finding users: by address, or by the user id a signed token carries."""

from typing import Any

from sqlalchemy import select

from .. import tokens
from ..addresses import email_key
from ..errors import TokenInvalid
from ..extensions import db
from ..models import User


def find_user_by_email(email: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.email_key == email_key(email))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def user_from_token(purpose: str, token: Any, max_age: int, size: int) -> tuple[User, list]:
    """The user of a token whose payload is [user_id, ...] with `size` items, and the rest.

    TokenExpired passes through; any other shape, or a user that no longer exists, is
    TokenInvalid.
    """
    payload = tokens.verify(purpose, token, max_age)
    if not isinstance(payload, list) or len(payload) != size or not isinstance(payload[0], int):
        raise TokenInvalid()
    user = db.session.get(User, payload[0])
    if user is None:
        raise TokenInvalid()
    return user, payload[1:]


def set_locale(user: User, locale: str) -> None:
    """Make `locale` (already one we support) the language of the account's mails."""
    user.locale = locale
    db.session.commit()
