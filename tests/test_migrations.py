"""Migrations round-trip on both engines, match the models, and give email lookups an index."""

import logging

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from app.addresses import email_key
from app.extensions import db
from app.models import User


@pytest.fixture
def migrated_app(database):
    """An app on the test's empty database; the test runs the migrations itself."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    # migrations/env.py loads alembic.ini's logging setup: give pytest its root logger back.
    root.handlers[:] = handlers
    root.setLevel(level)


def _tables() -> set[str]:
    db.session.remove()  # a pooled connection holding a lock would block DROP TABLE
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def _drift() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_downgrade_upgrade_round_trips(migrated_app):
    with migrated_app.app_context():
        assert _tables() == set()
        upgrade()
        assert _tables() == {"users", "outbox_emails", "verification_codes", "verification_guesses"}
        downgrade(revision="base")
        assert _tables() == set()
        upgrade()
        assert _tables() == {"users", "outbox_emails", "verification_codes", "verification_guesses"}
        # The re-created schema is usable, constraints included.
        db.session.add(User(email="ann@example.com", email_key="ann@example.com"))
        db.session.commit()
        db.session.add(User(email="Ann@example.com", email_key="ann@example.com"))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_models_and_migrations_agree(migrated_app):
    with migrated_app.app_context():
        upgrade()
        assert _drift() == []
        # The check is live: a column the models do not know about is reported.
        with db.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)"))
        assert [change[0] for change in _drift()] == ["remove_column"]


def _email_key_index(engine_name: str) -> str:
    """The index that enforces users.email_key's uniqueness, as this engine names it."""
    if engine_name == "postgresql":
        return "uq_users_email_key"
    # SQLite backs a UNIQUE constraint with an automatic index of its own name.
    with db.engine.connect() as connection:
        for row in connection.execute(sa.text("PRAGMA index_list(users)")):
            columns = connection.execute(sa.text(f"PRAGMA index_info('{row.name}')")).all()
            if row.unique and [c.name for c in columns] == ["email_key"]:
                return row.name
    raise AssertionError("no unique index on users.email_key")


def test_email_lookup_uses_the_unique_index(migrated_app, database):
    with migrated_app.app_context():
        upgrade()
        db.session.execute(
            sa.insert(User),
            [{"email": f"u{i}@example.com", "email_key": f"u{i}@example.com"} for i in range(500)],
        )
        db.session.commit()
        # The statement find_user_by_email runs, with its parameter inlined for EXPLAIN.
        query = sa.select(User).where(User.email_key == email_key("U250@example.com"))
        lookup = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with db.engine.connect() as connection:
            if database.engine == "postgresql":
                connection.execute(sa.text("ANALYZE users"))
                plan = "\n".join(connection.execute(sa.text(f"EXPLAIN {lookup}")).scalars())
            else:
                rows = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {lookup}")).all()
                plan = "\n".join(row[-1] for row in rows)
        index = _email_key_index(database.engine)
    assert index in plan, plan
    if database.engine == "postgresql":
        assert "Index Scan" in plan or "Index Only Scan" in plan, plan
    else:
        assert "SEARCH users USING INDEX" in plan, plan
