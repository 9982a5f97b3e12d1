"""Delivery in batches: one SMTP session for many mails, outcomes written together, and
several sessions at once for a slow server; a failure costs only its own mail."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event

from app import ConfigError, create_app
from app.extensions import db
from app.models import OutboxEmail
from app.outbox import deliver_due
from app.timeutil import utcnow
from tests.support.outbox import delivery_counts, outbox_rows, register_all

ADDRESSES = [f"user{n}@example.com" for n in range(5)]


@pytest.fixture
def app(app_factory):
    return app_factory(OUTBOX_AUTODISPATCH=False)


def deliver(app, **options) -> dict:
    with app.app_context():
        try:
            return deliver_due(**options)
        finally:
            db.session.remove()


def outbox_writes_during(app, action) -> int:
    """How many UPDATE statements on the outbox ran while `action` ran."""
    writes = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_EMAILS"):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(writes)


def test_a_batch_goes_over_one_smtp_session_with_two_outbox_writes(app, smtp_server):
    register_all(app, *ADDRESSES)
    counts = {}
    writes = outbox_writes_during(app, lambda: counts.update(deliver(app)))
    assert counts["sent"] == 5
    assert len(set(smtp_server.sessions)) == 1
    # One claim and one write of the five outcomes, not a renewal and a write per mail.
    assert writes == 2
    assert {(r.status, r.attempts, r.claim_id) for r in outbox_rows(app)} == {("sent", 1, None)}
    assert all(r.sent_at is not None for r in outbox_rows(app))


def test_a_refused_recipient_mid_batch_fails_alone(app, smtp_server):
    refusal = "550 5.1.1 <user1@example.com>: Recipient address rejected"
    smtp_server.replies = [None, refusal]
    register_all(app, *ADDRESSES)
    assert deliver(app) == {"sent": 4, "retry": 0, "failed": 1, "skipped": 0, "lease_lost": 0}
    rows = outbox_rows(app)
    assert [(r.status, r.last_error) for r in rows][:2] == [("sent", None), ("failed", refusal)]
    assert {r.status for r in rows[2:]} == {"sent"}
    assert sorted(to for _, to in delivery_counts(smtp_server)) == sorted(
        set(ADDRESSES) - {"user1@example.com"}
    )


def test_a_server_hanging_up_mid_batch_costs_only_that_mail(app, smtp_server):
    # 421: the server closes the session; the rest of the batch goes over a new one.
    smtp_server.replies = [None, "421 4.3.2 Service shutting down"]
    register_all(app, *ADDRESSES)
    assert deliver(app) == {"sent": 4, "retry": 1, "failed": 0, "skipped": 0, "lease_lost": 0}
    rows = outbox_rows(app)
    assert (rows[1].status, rows[1].attempts) == ("pending", 1)
    assert rows[1].next_attempt_at > utcnow()
    assert {r.status for r in rows[:1] + rows[2:]} == {"sent"}
    assert len(set(smtp_server.sessions)) == 2
    assert set(delivery_counts(smtp_server).values()) == {1}


def test_a_lease_half_gone_is_renewed_for_the_whole_batch(app, smtp_server):
    register_all(app, *ADDRESSES)
    with app.app_context():
        # Claimed long ago by this worker: a quarter of the lease is left.
        lease = app.config["OUTBOX_LEASE_SECONDS"]
        db.session.execute(
            db.update(OutboxEmail).values(
                claim_id="x", locked_until=utcnow() + timedelta(seconds=lease / 4)
            )
        )
        db.session.commit()
    from app import outbox

    with app.app_context():
        batch = outbox._Batch("x")
        ids = [r.id for r in outbox_rows(app)]
        held = batch.hold(ids[0])
        assert held is not None and held.id == ids[0]
        db.session.rollback()
        renewed = db.session.scalars(db.select(OutboxEmail.locked_until)).all()
        db.session.remove()
    assert all(until > utcnow() + timedelta(seconds=lease * 0.9) for until in renewed)


@pytest.mark.slow
def test_several_sessions_send_a_slow_servers_mails_at_once(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    smtp_server.delay_seconds = 0.5
    addresses = [f"user{n}@example.com" for n in range(8)]
    register_all(app, *addresses)
    started = time.monotonic()
    assert deliver(app, sessions=4)["sent"] == 8
    elapsed = time.monotonic() - started
    # One session would take 8 x 0.5 s; four take about 2 x 0.5 s.
    assert elapsed < 3.0, elapsed
    assert len(set(smtp_server.sessions)) == 4
    assert Counter(to for _, to in delivery_counts(smtp_server)) == Counter(addresses)
    assert {(r.status, r.attempts) for r in outbox_rows(app)} == {("sent", 1)}


@pytest.mark.parametrize("sessions", [0, 65, "4"])
def test_outbox_smtp_sessions_out_of_range_is_refused_at_start(sessions):
    with pytest.raises(ConfigError, match="OUTBOX_SMTP_SESSIONS"):
        create_app("testing", {"OUTBOX_SMTP_SESSIONS": sessions})
