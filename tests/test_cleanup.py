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
