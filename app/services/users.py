"""Finding users: by address, or by the user id a signed token carries."""

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row

from ..addresses import email_key
from ..database import single_read
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


# One statement, compiled once: a Core row costs about a third of loading an ORM object.
_USER_ROW = select(User.__table__).where(User.__table__.c.id == bindparam("user_id"))


def user_row_of(payload) -> Row:
    """The same user as user_of, as a read-only row of its columns, for checks that change
    nothing (opening a link): it has the columns' attributes, no properties, no ORM state.
    """
    with single_read() as connection:
        return _user_row(connection, payload)


def user_row_for_update(payload) -> Row:
    """user_row_of, read in the request's transaction, for a change that follows in it."""
    return _user_row(db.session.connection(), payload)


def _user_row(connection, payload) -> Row:
    row = connection.execute(_USER_ROW, {"user_id": payload.user_id}).first()
    if row is None:
        raise TokenInvalid()
    return row


def set_locale(user: User, locale: str) -> None:
    """Make `locale` (already one we support) the language of the account's mails."""
    user.locale = locale
    db.session.commit()
