"""Engine settings that depend on the database: SQLite's journal and sync mode, PostgreSQL's
check that a pooled connection is still alive."""

import select

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from .extensions import db


def configure(app: Flask) -> None:
    """Engine options decided by the database URL; called before the engine is made.

    PostgreSQL: no pool_pre_ping. Its SELECT 1 is a round trip on every checkout, one of
    the four a read-only request makes. A connection the server closed (pg_terminate_backend,
    a restart) has the server's goodbye, or its end of file, waiting on the socket: one
    non-blocking poll of the socket sees it, and the pool replaces that connection before
    a request gets it (see init_app).
    """
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["pool_pre_ping"] = False
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", _replace_if_closed_by_server)
        return
    if engine.url.database in (None, "", ":memory:"):
        return
    event.listen(engine, "connect", _set_sqlite_pragmas)


def _replace_if_closed_by_server(dbapi_connection, connection_record, connection_proxy) -> None:
    """Refuse a pooled PostgreSQL connection with anything to read while idle.

    An idle connection in the pool has nothing to read unless the server closed it (it sends
    an error, then closes the socket). DisconnectionError makes the pool open a new one.
    """
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        raise DisconnectionError("the server closed this pooled connection")


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _set_sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Put a file SQLite database in WAL mode with synchronous=NORMAL on every connection.

    In the default rollback-journal mode a reader blocks a writer's commit, so gunicorn
    workers and their outbox threads wait on each other (busy sleeps of up to 100 ms), and
    every commit syncs the disk several times. In WAL mode readers never block the writer
    and the writer never blocks readers. synchronous=NORMAL syncs at checkpoints instead of
    every commit: the database can never be corrupted by a crash, and a crash of the
    process loses nothing; only a power loss or OS crash may undo the last commits before
    the next checkpoint, which for sign-ups means the person registers again.
    """
    cursor = dbapi_connection.cursor()
    try:
        # WAL is a property of the file (it persists); synchronous is per connection.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
