"""Finding users by address."""

from sqlalchemy import select

from ..addresses import email_key
from ..extensions import db
from ..models import User


def find_user_by_email(email: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.email_key == email_key(email))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)
