"""Deleting what is no longer needed: accounts never confirmed, and old outbox rows."""

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import delete, exists, func, select

from .. import codes, outbox
from ..extensions import db
from ..models import OutboxEmail, User
from ..timeutil import utcnow

# Rows deleted per transaction: each batch holds its locks (SQLite: the whole database) for a
# few milliseconds, so sign-ups and deliveries running meanwhile are never stalled for long.
BATCH_SIZE = 1000


def purge_unconfirmed(older_than: timedelta, *, dry_run: bool = False) -> int:
    """Delete unconfirmed accounts older than older_than (and what they queued, their codes).

    An abandoned sign-up holds its address: nobody else can register it, and whoever made it
    may have pre-registered someone else's address. Confirmed accounts are never touched.
    """
    stale = (User.confirmed_at.is_(None), User.created_at < utcnow() - older_than)
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(User).where(*stale)) or 0
    count = 0
    for ids in _batches_of(User.id, *stale):
        # The WHERE is evaluated row by row at delete time: an account confirmed meanwhile stays.
        deleted = db.session.execute(
            delete(User)
            .where(User.id.in_(ids), *stale)
            .returning(User.id, User.email)
            .execution_options(synchronize_session=False)
        ).all()
        # PostgreSQL cascades to the outbox; SQLite enforces no foreign keys unless told to, so
        # the rows left pointing nowhere are removed here, in the same transaction.
        # (NOT EXISTS, row by row through the primary key: NOT IN would read every user.)
        db.session.execute(
            delete(OutboxEmail)
            .where(OutboxEmail.user_id.in_(ids), ~exists().where(User.id == OutboxEmail.user_id))
            .execution_options(synchronize_session=False)
        )
        # The accounts actually deleted (RETURNING), announced in the same transaction.
        outbox.enqueue_deleted(deleted)
        db.session.commit()
        count += len(deleted)
    if count:
        # Once, not per batch: it looks for codes of any user that is gone (SQLite only has
        # such orphans; PostgreSQL cascades).
        codes.remove_orphans()
        db.session.commit()
    db.session.rollback()
    return count


def _batches_of(id_column, *where) -> Iterator[list]:
    """The ids of the rows that match, BATCH_SIZE at a time, each batch after the last one.

    Keyset pagination on the primary key: the caller deletes a batch (and commits) before
    asking for the next, so no transaction holds more than one batch's locks.
    """
    last_id = 0
    while ids := db.session.scalars(
        select(id_column).where(id_column > last_id, *where).order_by(id_column).limit(BATCH_SIZE)
    ).all():
        yield ids
        last_id = ids[-1]


# Rows in these states are done with: nothing will send them again.
PRUNABLE_STATUSES = ("sent", "skipped")


def prune_outbox(older_than: timedelta, *, dry_run: bool = False) -> int:
    """Delete sent and skipped outbox rows created more than older_than ago; the count.

    Pending and failed rows stay, whatever their age: they still need a delivery or a person.
    """
    done = (
        OutboxEmail.status.in_(PRUNABLE_STATUSES),
        OutboxEmail.created_at < utcnow() - older_than,
    )
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(OutboxEmail).where(*done)) or 0
    deleted = 0
    for ids in _batches_of(OutboxEmail.id, *done):
        result = db.session.execute(
            delete(OutboxEmail)
            .where(OutboxEmail.id.in_(ids), *done)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        deleted += result.rowcount
    db.session.rollback()
    return deleted
