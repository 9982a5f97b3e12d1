"""`flask users purge-unconfirmed`: stale unconfirmed accounts go, everything else stays."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEmail, User
from app.timeutil import utcnow
from tests.support.accounts import PASSWORD


@pytest.fixture
def app(app_factory):
    # Mails stay queued, so the test can see the stale account's rows go with it.
    return app_factory(OUTBOX_AUTODISPATCH=False)


def register_at(client, email, when):
    with time_machine.travel(when):
        response = client.post("/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 202


def make_user_at(make_user, email, when, confirmed):
    with time_machine.travel(when):
        make_user(email, confirmed=confirmed)


def addresses(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.email)))


def outbox_recipients(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(OutboxEmail.recipient)))


@pytest.fixture
def accounts(app, client, make_user):
    now = utcnow()
    register_at(client, "stale@example.com", now - timedelta(days=8))
    make_user_at(make_user, "stale2@example.com", now - timedelta(days=30), confirmed=False)
    make_user_at(make_user, "old-confirmed@example.com", now - timedelta(days=90), confirmed=True)
    register_at(client, "recent@example.com", now - timedelta(days=6))
    make_user_at(make_user, "hours-old@example.com", now - timedelta(hours=3), confirmed=False)


def test_purge_deletes_only_old_unconfirmed_accounts_and_their_mails(app, runner, accounts):
    result = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", "7d"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 unconfirmed accounts" in result.output
    assert addresses(app) == {
        "old-confirmed@example.com",
        "recent@example.com",
        "hours-old@example.com",
    }
    assert outbox_recipients(app) == ["recent@example.com"]

    again = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", "7d"])
    assert "deleted 0 unconfirmed accounts" in again.output


def test_dry_run_counts_and_deletes_nothing(app, runner, accounts):
    before = addresses(app)
    result = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", "7d", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete 2 unconfirmed accounts" in result.output
    assert addresses(app) == before
    assert len(outbox_recipients(app)) == 2


@pytest.mark.parametrize(
    "age, left",
    [
        ("2h", {"old-confirmed@example.com"}),
        ("240m", {"old-confirmed@example.com", "hours-old@example.com"}),
        (
            "10d",
            {
                "old-confirmed@example.com",
                "recent@example.com",
                "hours-old@example.com",
                "stale@example.com",
            },
        ),
    ],
)
def test_hours_and_minutes_are_understood(app, runner, accounts, age, left):
    result = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", age])
    assert result.exit_code == 0, result.output
    assert addresses(app) == left


@pytest.mark.parametrize("age", ["7", "7w", "0d", "-1d", "d", "7 days"])
def test_an_unreadable_age_is_refused(app, runner, accounts, age):
    before = addresses(app)
    result = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", age])
    assert result.exit_code == 2
    assert "not an age" in result.output or "Error" in result.output
    assert addresses(app) == before


def test_the_age_is_required(runner):
    assert runner.invoke(args=["users", "purge-unconfirmed"]).exit_code == 2


# --- batches ---


def commits_during(app, action) -> int:
    """How many transactions were committed while `action` ran."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    commits = []

    def count(session):
        commits.append(1)

    event.listen(Session, "after_commit", count)
    try:
        action()
    finally:
        event.remove(Session, "after_commit", count)
    return len(commits)


def test_purge_deletes_in_batches_of_one_transaction_each(app, runner, make_user, monkeypatch):
    from app.services import cleanup

    monkeypatch.setattr(cleanup, "BATCH_SIZE", 2)
    then = utcnow() - timedelta(days=8)
    for n in range(5):
        make_user_at(make_user, f"stale{n}@example.com", then, confirmed=False)
    make_user_at(make_user, "kept@example.com", then, confirmed=True)

    def purge():
        result = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", "7d"])
        assert "deleted 5 unconfirmed accounts" in result.output, result.output

    assert commits_during(app, purge) == 4  # 2 + 2 + 1 accounts, then orphaned codes
    assert addresses(app) == {"kept@example.com"}


# --- flask outbox prune ---


def add_outbox_row(app, status, created_at, recipient="ann@example.com") -> None:
    with app.app_context():
        db.session.add(
            OutboxEmail(
                kind="confirm",
                recipient=recipient,
                message_id=f"<{status}.{created_at.timestamp()}.{recipient}@example.com>",
                status=status,
                attempts=1 if status != "pending" else 0,
                created_at=created_at,
                next_attempt_at=created_at,
                sent_at=created_at if status == "sent" else None,
            )
        )
        db.session.commit()


def outbox_states(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(OutboxEmail.status, OutboxEmail.recipient)).all()
        return sorted((status, recipient) for status, recipient in rows)


@pytest.fixture
def old_and_new_rows(app):
    now = utcnow()
    for status in ("sent", "skipped", "pending", "failed"):
        add_outbox_row(app, status, now - timedelta(days=31), f"old-{status}@example.com")
        add_outbox_row(app, status, now - timedelta(days=29), f"new-{status}@example.com")


def test_prune_deletes_only_old_sent_and_skipped_rows(app, runner, old_and_new_rows):
    result = runner.invoke(args=["outbox", "prune", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 outbox rows" in result.output
    assert outbox_states(app) == [
        ("failed", "new-failed@example.com"),
        ("failed", "old-failed@example.com"),
        ("pending", "new-pending@example.com"),
        ("pending", "old-pending@example.com"),
        ("sent", "new-sent@example.com"),
        ("skipped", "new-skipped@example.com"),
    ]
    again = runner.invoke(args=["outbox", "prune", "--older-than", "30d"])
    assert "deleted 0 outbox rows" in again.output


def test_prune_dry_run_counts_and_deletes_nothing(app, runner, old_and_new_rows):
    result = runner.invoke(args=["outbox", "prune", "--older-than", "28d", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete 4 outbox rows" in result.output
    assert len(outbox_states(app)) == 8


def test_prune_deletes_in_batches_of_one_transaction_each(app, runner, monkeypatch):
    from app.services import cleanup

    monkeypatch.setattr(cleanup, "BATCH_SIZE", 2)
    old = utcnow() - timedelta(days=40)
    for n in range(5):
        add_outbox_row(app, "sent", old, f"user{n}@example.com")
    add_outbox_row(app, "sent", utcnow(), "today@example.com")

    def prune():
        result = runner.invoke(args=["outbox", "prune", "--older-than", "30d"])
        assert "deleted 5 outbox rows" in result.output, result.output

    assert commits_during(app, prune) == 3  # 2 + 2 + 1 rows
    assert outbox_states(app) == [("sent", "today@example.com")]


@pytest.mark.parametrize("age", ["30", "0d", "30x"])
def test_prune_refuses_an_unreadable_age(app, runner, old_and_new_rows, age):
    result = runner.invoke(args=["outbox", "prune", "--older-than", age])
    assert result.exit_code == 2
    assert len(outbox_states(app)) == 8


def test_purge_removes_the_codes_of_deleted_accounts_and_keeps_the_others(app, runner, make_user):
    from app import codes
    from app.models import VerificationCode

    then = utcnow() - timedelta(days=8)
    make_user_at(make_user, "stale@example.com", then, confirmed=False)
    make_user_at(make_user, "kept@example.com", then, confirmed=False)
    with app.app_context():
        for user in db.session.scalars(select(User)):
            codes.issue("confirm-email", user, user.email)
        db.session.commit()
        kept_id = db.session.scalar(select(User.id).where(User.email == "kept@example.com"))
        # Only the stale account is old enough for the purge; the kept one is confirmed later.
        db.session.execute(
            User.__table__.update().where(User.id == kept_id).values(confirmed_at=utcnow())
        )
        db.session.commit()

    result = runner.invoke(args=["users", "purge-unconfirmed", "--older-than", "7d"])
    assert "deleted 1 unconfirmed account\n" in result.output, result.output

    with app.app_context():
        assert list(db.session.scalars(select(VerificationCode.user_id))) == [kept_id]
