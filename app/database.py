"""Engine settings that depend on the database: SQLite's journal and sync mode; reads alone."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Connection, event

from .extensions import db


def init_app(app: Flask) -> None:
    """Put a file SQLite database in WAL mode with synchronous=NORMAL on every connection.

    In the default rollback-journal mode a reader blocks a writer's commit, so gunicorn
    workers and their outbox threads wait on each other (busy sleeps of up to 100 ms), and
    every commit syncs the disk several times. In WAL mode readers never block the writer
    and the writer never blocks readers. synchronous=NORMAL syncs at checkpoints instead of
    every commit: the database can never be corrupted by a crash, and a crash of the
    process loses nothing; only a power loss or OS crash may undo the last commits before
    the next checkpoint, which for sign-ups means the person registers again.
    """
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return

    @event.listens_for(engine, "connect")
    def _set_sqlite_pragmas(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # WAL is a property of the file (it persists); synchronous is per connection.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


@contextmanager
def single_read() -> Iterator[Connection]:
    """A connection for one read-only statement, outside the request's session.

    On PostgreSQL in autocommit mode: one statement needs no transaction, and that saves the
    BEGIN and ROLLBACK round trips. SQLite's driver begins no transaction for a SELECT, and
    switching its mode would cost a PRAGMA each way, so its connection is used as it is.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
