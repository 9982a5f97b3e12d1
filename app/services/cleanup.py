"""Deleting accounts whose address was never confirmed."""

from datetime import timedelta

from sqlalchemy import delete, func, select

from .. import codes, outbox
from ..extensions import db
from ..models import OutboxEmail, User
from ..timeutil import utcnow


def purge_unconfirmed(older_than: timedelta, *, dry_run: bool = False) -> int:
    """Delete unconfirmed accounts older than older_than (and what they queued, their codes).

    An abandoned sign-up holds its address: nobody else can register it, and whoever made it
    may have pre-registered someone else's address. Confirmed accounts are never touched.
    """
    stale = (User.confirmed_at.is_(None), User.created_at < utcnow() - older_than)
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(User).where(*stale)) or 0
    # The WHERE is evaluated row by row at delete time: an account confirmed meanwhile stays.
    deleted = db.session.execute(
        delete(User)
        .where(*stale)
        .returning(User.id, User.email)
        .execution_options(synchronize_session=False)
    ).all()
    # PostgreSQL cascades to the outbox; SQLite enforces no foreign keys unless told to, so
    # the rows left pointing nowhere are removed here, in the same transaction.
    db.session.execute(
        delete(OutboxEmail)
        .where(OutboxEmail.user_id.is_not(None), OutboxEmail.user_id.not_in(select(User.id)))
        .execution_options(synchronize_session=False)
    )
    # The accounts actually deleted (RETURNING), announced in the same transaction.
    outbox.enqueue_deleted(deleted)
    codes.remove_orphans()
    db.session.commit()
    return len(deleted)
