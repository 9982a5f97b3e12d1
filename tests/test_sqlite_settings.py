"""SQLite under a web server: WAL, so readers and the writer do not wait on each other."""

import sqlite3

import pytest

from app import create_app
from app.extensions import db
from tests.support.accounts import PASSWORD


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}",
            "OUTBOX_AUTODISPATCH": False,
        },
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_file_database_runs_in_wal_mode_with_normal_sync(sqlite_app):
    with sqlite_app.app_context():
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(db.text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_an_open_read_does_not_hold_up_a_registration(sqlite_app, tmp_path):
    # Another process in the middle of a read: in rollback-journal mode the registration's
    # commit would wait for it (up to the busy timeout) and then fail with "database is locked".
    reader = sqlite3.connect(tmp_path / "app.db", timeout=0.1, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM users").fetchall()
        response = sqlite_app.test_client().post(
            "/register", json={"email": "ann@example.com", "password": PASSWORD}
        )
        assert response.status_code == 202
        # The reader keeps its snapshot; a new read sees the account.
        assert reader.execute("SELECT count(*) FROM users").fetchone() == (0,)
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM users").fetchone() == (1,)
    finally:
        reader.close()
