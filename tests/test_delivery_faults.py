"""Delivery faults against a real SMTP server (down, 4xx, 5xx, hung): nothing lost or doubled."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import OutboxEmail
from app.outbox import deliver_due
from app.timeutil import utcnow
from tests.support.blackhole import SilentServer
from tests.support.outbox import delivery_counts, outbox_rows, register_all
from tests.support.waiting import wait_until


def _send(app) -> str:
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_smtp_down_while_50_register_then_back_delivers_each_exactly_once(app_factory, smtp_server):
    app = app_factory(OUTBOX_SWEEP_SECONDS=1)
    smtp_server.stop()
    addresses = [f"user{n}@example.com" for n in range(50)]
    register_all(app, *addresses)

    wait_until(lambda: all(r.attempts == 1 for r in outbox_rows(app)), 20, "the first attempts")
    rows = outbox_rows(app)
    assert len(rows) == 50
    assert {r.status for r in rows} == {"pending"}
    assert all("ConnectionRefusedError" in r.last_error for r in rows)

    smtp_server.start()
    # The retries fall due after the backoff; the dispatcher's sweep (every second) takes them.
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_RETRY_BASE_SECONDS"] + 1)
    with time_machine.travel(later, tick=True):
        wait_until(lambda: all(r.status == "sent" for r in outbox_rows(app)), 20, "all 50 sent")
        assert "sent=0" in _send(app)

    rows = outbox_rows(app)
    deliveries = delivery_counts(smtp_server)
    assert sorted(deliveries) == sorted((r.message_id, r.recipient) for r in rows)
    assert set(deliveries.values()) == {1}, "a mail was delivered twice"
    assert sorted(to for _, to in deliveries) == sorted(addresses)
    assert [r.attempts for r in rows] == [2] * 50


def test_451_twice_then_accepted_is_delivered_once_after_three_attempts(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    reply = "451 4.3.0 Mailbox busy, try again later"
    smtp_server.replies = [reply, reply]
    register_all(app, "ann@example.com")
    base = app.config["OUTBOX_RETRY_BASE_SECONDS"]

    now = utcnow()
    for attempt in (1, 2):
        with time_machine.travel(now, tick=False):
            assert "retry=1" in _send(app)
        [row] = outbox_rows(app)
        assert (row.status, row.attempts, row.last_error) == ("pending", attempt, reply)
        # Exponential backoff with jitter: between half and all of base * 2^(attempt-1).
        ceiling = base * 2 ** (attempt - 1)
        assert timedelta(seconds=ceiling / 2) <= row.next_attempt_at - now
        assert row.next_attempt_at - now <= timedelta(seconds=ceiling)
        with time_machine.travel(row.next_attempt_at - timedelta(seconds=1), tick=False):
            assert "sent=0 retry=0 failed=0" in _send(app)  # not due yet: nothing is tried
        now = row.next_attempt_at

    with time_machine.travel(now, tick=False):
        assert "sent=1" in _send(app)
    [row] = outbox_rows(app)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert smtp_server.attempts == 3
    assert delivery_counts(smtp_server) == Counter({(row.message_id, "ann@example.com"): 1})


def test_transient_failures_stop_at_the_configured_number_of_attempts(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False, OUTBOX_MAX_ATTEMPTS=2)
    smtp_server.replies = ["421 4.7.0 Too many connections"] * 5
    register_all(app, "ann@example.com")
    assert "retry=1" in _send(app)
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        assert "failed=1" in _send(app)
    [row] = outbox_rows(app)
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error == "421 4.7.0 Too many connections"


def test_550_fails_at_once_is_listed_and_can_be_retried(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    reply = "550 5.1.1 <ann@example.com>: Recipient address rejected"
    smtp_server.replies = [reply]
    register_all(app, "ann@example.com", "bob@example.com")
    runner = app.test_cli_runner()

    assert "sent=1 retry=0 failed=1" in _send(app)
    ann, bob = outbox_rows(app)
    assert (ann.status, ann.attempts, ann.last_error) == ("failed", 1, reply)
    assert bob.status == "sent"
    with time_machine.travel(utcnow() + timedelta(days=1), tick=False):
        assert "sent=0 retry=0 failed=0" in _send(app)
    assert smtp_server.attempts == 2  # no further attempt at the refused row

    failed = runner.invoke(args=["outbox", "list", "--status", "failed"]).output
    assert f"{ann.id:>6}  failed" in failed and reply in failed
    assert "bob@example.com" not in failed
    assert "pending=0 sent=1 failed=1 skipped=0 overdue=0" in failed
    assert app.test_client().get("/healthz").json["outbox"]["failed"] == 1

    result = runner.invoke(args=["outbox", "retry", str(ann.id)])
    assert result.exit_code == 0 and f"row {ann.id} queued again" in result.output
    assert runner.invoke(args=["outbox", "retry", str(ann.id)]).exit_code != 0  # not failed now
    assert runner.invoke(args=["outbox", "retry", "999"]).exit_code != 0
    assert "sent=1" in _send(app)
    ann, _ = outbox_rows(app)
    assert (ann.status, ann.attempts) == ("sent", 2)
    assert [to for _, to in delivery_counts(smtp_server)].count("ann@example.com") == 1


@pytest.mark.slow
@pytest.mark.parametrize("hangs_at", ["greeting", "data"])
def test_a_hung_server_times_out_at_mail_timeout_and_is_retried(app_factory, smtp_server, hangs_at):
    silent = SilentServer().start() if hangs_at == "greeting" else None
    try:
        port = silent.port if silent else smtp_server.port
        app = app_factory(OUTBOX_AUTODISPATCH=False, MAIL_TIMEOUT=1, MAIL_PORT=port)
        smtp_server.hang_seconds = 30 if hangs_at == "data" else 0
        register_all(app, "ann@example.com")
        started = time.monotonic()
        assert "retry=1" in _send(app)
        waited = time.monotonic() - started
    finally:
        if silent:
            silent.stop()
    assert 1.0 <= waited < 3.0
    [row] = outbox_rows(app)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "timed out" in row.last_error

    # Flask-Mail freezes MAIL_* at init_app: the retry runs in an app pointed at a live server.
    smtp_server.hang_seconds = 0
    retrying = app_factory(OUTBOX_AUTODISPATCH=False, MAIL_TIMEOUT=1)
    with time_machine.travel(row.next_attempt_at, tick=False):
        assert "sent=1" in _send(retrying)
    [row] = outbox_rows(app)
    assert (row.status, row.attempts) == ("sent", 2)
    assert delivery_counts(smtp_server) == Counter({(row.message_id, "ann@example.com"): 1})


@pytest.mark.slow
def test_rows_whose_lease_lapsed_mid_batch_are_not_sent_twice(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    register_all(app, "ann@example.com", "bob@example.com", "cy@example.com")
    smtp_server.delay_seconds = 1.0
    first_worker: list[dict] = []

    def deliver_in_a_thread():
        with app.app_context():
            first_worker.append(deliver_due())

    thread = threading.Thread(target=deliver_in_a_thread)
    thread.start()
    wait_until(lambda: all(r.claim_id for r in outbox_rows(app)), 5, "the batch to be claimed")
    time.sleep(0.3)  # the first worker is now inside the 1 s SMTP exchange of its first row
    ann_id = outbox_rows(app)[0].id
    with app.app_context():
        # The leases of the rows still waiting in the first worker's batch run out ...
        db.session.execute(
            db.update(OutboxEmail)
            .where(OutboxEmail.id != ann_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        # ... and a second worker takes them over.
        second_worker = deliver_due()
    thread.join(10)

    assert second_worker["sent"] == 2
    assert first_worker == [{"sent": 1, "retry": 0, "failed": 0, "skipped": 0, "lease_lost": 2}]
    deliveries = delivery_counts(smtp_server)
    assert len(deliveries) == 3 and set(deliveries.values()) == {1}


def test_healthz_counts_failed_and_overdue_rows(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    smtp_server.replies = ["550 5.7.1 Delivery not authorized"]
    register_all(app, "ann@example.com", "bob@example.com", "cy@example.com")
    ann, bob, _ = outbox_rows(app)
    with app.app_context():
        assert deliver_due(ids=[ann.id])["failed"] == 1
        db.session.execute(
            db.update(OutboxEmail)
            .where(OutboxEmail.id == bob.id)
            .values(next_attempt_at=utcnow() - timedelta(minutes=6))
        )
        db.session.commit()
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["outbox"] == {"pending": 2, "failed": 1, "overdue": 1}
    with time_machine.travel(utcnow() + timedelta(minutes=10), tick=False):
        assert client.get("/healthz").json["outbox"] == {"pending": 2, "failed": 1, "overdue": 2}
