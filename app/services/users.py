"""Finding users: by address, or by the user id a signed token carries."""

from sqlalchemy import select

from ..addresses import email_key
from ..errors import TokenInvalid
from ..extensions import db
from ..models import User


def find_user_by_email(email: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.email_key == email_key(email))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def user_of(payload) -> User:
    """The user a token's payload names (its user_id); TokenInvalid if it no longer exists."""
    user = db.session.get(User, payload.user_id)
    if user is None:
        raise TokenInvalid()
    return user
