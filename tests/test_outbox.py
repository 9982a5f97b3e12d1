"""Mail is queued with the change that caused it, delivered after commit, off the request path."""

import json
import time

from app.extensions import db
from app.models import OutboxEmail
from tests.support.accounts import PASSWORD
from tests.support.outbox import outbox_rows
from tests.support.smtp import token_in


def test_slow_smtp_server_does_not_slow_registration(client, smtp_server):
    smtp_server.delay_seconds = 1.0
    started = time.monotonic()
    response = client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    answered = time.monotonic() - started
    assert response.status_code == 202
    assert not smtp_server.messages  # the server has not accepted it yet

    smtp_server.wait_for(1, timeout=10)
    delivered = time.monotonic() - started
    assert answered < 0.5 < 1.0 <= delivered


def test_smtp_down_keeps_the_row_pending_and_outbox_send_delivers_it(app_factory, smtp_server):
    app = app_factory()
    smtp_server.stop()
    client = app.test_client()
    response = client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 202

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not outbox_rows(app)[0].attempts:
        time.sleep(0.05)
    [row] = outbox_rows(app)
    assert row.status == "pending"
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error

    smtp_server.start()
    # The retry is not due yet; an operator forces it by making it due and running the command.
    with app.app_context():
        db.session.execute(db.update(OutboxEmail).values(next_attempt_at=row.created_at))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output
    [message] = smtp_server.wait_for(1)
    assert message["Message-ID"] == row.message_id
    assert outbox_rows(app)[0].status == "sent"

    listing = app.test_cli_runner().invoke(args=["outbox", "list"])
    assert "sent" in listing.output and "ann@example.com" in listing.output


def test_outbox_row_holds_no_token(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    app.test_client().post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    [row] = outbox_rows(app)
    assert row.kind == "confirm" and row.status == "pending"
    stored = json.dumps([row.kind, row.recipient, row.payload, row.message_id])

    app.test_cli_runner().invoke(args=["outbox", "send"])
    token = token_in(smtp_server.wait_for(1)[0])
    assert token not in stored
    assert token.split(".")[0] not in stored


def test_a_failed_transaction_queues_no_mail(app_factory, smtp_server, monkeypatch):
    from app import outbox as outbox_module

    app = app_factory()
    client = app.test_client()

    original = outbox_module.enqueue

    def enqueue_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the change failed after the mail was queued")

    monkeypatch.setattr(outbox_module, "enqueue", enqueue_then_fail)
    response = client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 500
    assert outbox_rows(app) == []
    with app.app_context():
        assert db.session.scalar(db.text("SELECT count(*) FROM users")) == 0


def test_console_backend_logs_the_whole_message(app_factory, caplog):
    import logging

    app = app_factory(MAIL_BACKEND="console", MAIL_SERVER=None, OUTBOX_AUTODISPATCH=False)
    app.test_client().post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    with caplog.at_level(logging.INFO, logger="app.emails"):
        app.test_cli_runner().invoke(args=["outbox", "send"])
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "app.emails")
    assert "http://testserver.example/confirm?token=" in logged
    assert "To: ann@example.com" in logged


def test_a_second_server_gets_nothing_twice(app_factory, smtp_server):
    """Rows already sent are not sent again by a later pass."""
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    client = app.test_client()
    for n in range(3):
        client.post("/register", json={"email": f"user{n}@example.com", "password": PASSWORD})
    runner = app.test_cli_runner()
    assert "sent=3" in runner.invoke(args=["outbox", "send"]).output
    assert "sent=0" in runner.invoke(args=["outbox", "send"]).output
    smtp_server.wait_for(3)
    assert len(smtp_server.messages) == 3
