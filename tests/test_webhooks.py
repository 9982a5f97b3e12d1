"""Webhook events: queued with each change, signed (verified by a real receiver), never lost."""

import base64
import time
from collections import Counter
from datetime import timedelta
from email.utils import format_datetime

import pytest
import time_machine
from sqlalchemy import select, update

from app import ConfigError, create_app
from app.extensions import db
from app.models import OutboxEmail, User
from app.timeutil import isoformat, utcnow
from tests.support.accounts import NEW_PASSWORD, PASSWORD, access_token, bearer
from tests.support.celery_worker import CeleryProcess
from tests.support.outbox import outbox_rows
from tests.support.receiver import HANG, WebhookReceiver
from tests.support.server import TEST_SECRET_KEY
from tests.support.smtp import code_in, token_in
from tests.support.waiting import wait_until

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
ANN, NEW, BOB = "ann@example.com", "ann@example.org", "bob@example.com"


@pytest.fixture
def receiver():
    server = WebhookReceiver(SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def webhook_app(app_factory, receiver):
    """Make apps that send their events to the test's receiver."""

    def make(**overrides):
        return app_factory(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET, **overrides)

    return make


def event_rows(app) -> list[OutboxEmail]:
    return [row for row in outbox_rows(app) if row.kind.startswith("webhook:")]


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def send(app) -> str:
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def register(client, email: str) -> None:
    response = client.post("/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 202


def event(event_type: str, user: int, email: str, **more) -> tuple:
    return event_type, tuple(sorted({"user_id": user, "email": email, **more}.items()))


# --- settings ---

URL = "https://hooks.example.com/accounts"


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"WEBHOOK_URL": URL}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": URL, "WEBHOOK_SECRET": SECRET[6:]}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "whsec_" + "A" * 31 + "!"}, "WEBHOOK_SECRET"),
        (
            {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"x" * 23).decode()},
            "WEBHOOK_SECRET",
        ),
        ({"WEBHOOK_URL": "ftp://hooks.example.com/x", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "/accounts/hooks", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": URL, "WEBHOOK_SECRET": SECRET, "WEBHOOK_TIMEOUT": 60}, "OUTBOX_LEASE"),
        ({"WEBHOOK_TIMEOUT": 0}, "WEBHOOK_TIMEOUT"),
        ({"WEBHOOK_TIMEOUT": -5}, "WEBHOOK_TIMEOUT"),
    ],
)
def test_webhook_settings_are_checked_at_start(overrides, named):
    with pytest.raises(ConfigError, match=named) as refused:
        create_app("testing", overrides)
    secret = overrides.get("WEBHOOK_SECRET")
    if secret:
        assert secret not in str(refused.value)


def test_a_good_secret_of_24_bytes_starts(app_factory):
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    app = app_factory(WEBHOOK_URL="http://127.0.0.1:9/hooks", WEBHOOK_SECRET=secret)
    assert app.config["WEBHOOK_TIMEOUT"] == 10


# --- what is sent, and when ---


def run_lifecycle(app, smtp_server, receiver) -> list[tuple]:
    """Register, confirm, register again, change the address, revert it, reset the password,
    and have a stale sign-up purged; each event is awaited before the next step, so the
    account it is built from is as the step left it. Returns the events expected."""
    client = app.test_client()
    mails = 0

    def next_mails(count: int) -> list:
        nonlocal mails
        mails += count
        return smtp_server.wait_for(mails, timeout=30)[mails - count :]

    register(client, ANN)
    ann = user_id(app, ANN)
    receiver.wait_for(1, 30)
    [confirm] = next_mails(1)
    assert client.post("/confirm", json={"token": token_in(confirm)}).json == {
        "status": "confirmed"
    }
    receiver.wait_for(2, 30)

    register(client, ANN)  # the owner is mailed; no user.registered for an existing address
    next_mails(1)

    session = access_token(client, ANN)
    response = client.post(
        "/me/email", json={"new_email": NEW, "password": PASSWORD}, headers=bearer(session)
    )
    assert response.status_code == 202
    messages = next_mails(2)
    [change] = [m for m in messages if m["To"] == NEW]
    [notice] = [m for m in messages if m["To"] == ANN]
    assert client.post("/confirm", json={"token": token_in(change)}).json == {
        "status": "email_changed"
    }
    receiver.wait_for(3, 30)
    revert = token_in(notice, "/email/revert")
    assert client.post("/email/revert", json={"token": revert}).json == {"status": "email_restored"}
    receiver.wait_for(4, 30)

    assert client.post("/password/forgot", json={"email": ANN}).status_code == 202
    [reset] = next_mails(1)
    response = client.post(
        "/password/reset",
        json={"token": token_in(reset, "/password/reset"), "password": NEW_PASSWORD},
    )
    assert response.json == {"status": "password_reset"}
    receiver.wait_for(5, 30)

    register(client, BOB)
    bob = user_id(app, BOB)
    receiver.wait_for(6, 30)
    next_mails(1)
    with app.app_context():  # bob never confirms: his sign-up goes stale
        db.session.execute(
            update(User).where(User.id == bob).values(created_at=utcnow() - timedelta(days=8))
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "purge-unconfirmed", "--older-than", "7d"])
    assert "deleted 1 unconfirmed account" in result.output
    receiver.wait_for(7, 30)

    return sorted(
        [
            event("user.registered", ann, ANN),
            event("user.confirmed", ann, ANN),
            event("user.email_changed", ann, NEW, previous_email=ANN),
            event("user.email_reverted", ann, ANN, previous_email=NEW),
            event("user.password_reset", ann, ANN),
            event("user.registered", bob, BOB),
            event("user.deleted", bob, BOB),
        ]
    )


def assert_each_delivered_once_and_clean(app, receiver, expected: list[tuple]) -> None:
    # The receiver answers before the sender records the row as sent.
    wait_until(lambda: all(r.status == "sent" for r in event_rows(app)), 10, "rows marked sent")
    assert receiver.events() == expected
    requests = list(receiver.requests)
    assert all(r.verified for r in requests), [r.problem for r in requests if not r.verified]
    assert len(requests) == len(expected)  # no retry was needed, none was sent twice
    ids = [r.webhook_id for r in requests]
    assert len(set(ids)) == len(ids)
    rows = {row.message_id: row for row in event_rows(app)}
    for request in requests:
        body = request.event
        assert set(body) == {"type", "timestamp", "data"}
        assert set(body["data"]) <= {"user_id", "email", "previous_email"}
        row = rows.get(request.webhook_id)
        if row is None:  # a purged account's rows went with it, once sent
            assert (body["type"], body["data"]["email"]) == ("user.registered", BOB)
            continue
        assert body["timestamp"] == isoformat(row.created_at)  # when it happened, not sent
        assert row.kind == f"webhook:{body['type']}" and row.status == "sent"
        # Never a password, hash, token or code: only ids and addresses travel.
        text = request.body.decode()
        assert PASSWORD not in text and NEW_PASSWORD not in text
        assert "argon2" not in text and "token" not in text
        assert request.headers["content-type"] == "application/json"


def test_the_lifecycle_sends_exactly_its_events_each_verified(webhook_app, smtp_server, receiver):
    app = webhook_app()
    expected = run_lifecycle(app, smtp_server, receiver)
    assert "sent=0 retry=0 failed=0" in send(app)  # nothing left behind
    assert_each_delivered_once_and_clean(app, receiver, expected)
    # The deletion event outlives the account and the rows the purge removed with it.
    [deleted] = [r for r in event_rows(app) if r.kind == "webhook:user.deleted"]
    assert deleted.user_id is None
    assert set(deleted.payload) == {"user_id", "email"} and deleted.payload["email"] == BOB


def test_a_reset_that_confirms_an_account_also_sends_user_confirmed(
    webhook_app, smtp_server, receiver
):
    app = webhook_app()
    client = app.test_client()
    register(client, ANN)
    smtp_server.wait_for(1)
    assert client.post("/password/forgot", json={"email": ANN}).status_code == 202
    reset = smtp_server.wait_for(2)[1]
    response = client.post(
        "/password/reset",
        json={"token": token_in(reset, "/password/reset"), "password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    receiver.wait_for(3)
    ann = user_id(app, ANN)
    assert receiver.events() == sorted(
        [
            event("user.registered", ann, ANN),
            event("user.confirmed", ann, ANN),
            event("user.password_reset", ann, ANN),
        ]
    )


def test_codes_send_the_same_events_as_links(webhook_app, smtp_server, receiver):
    app = webhook_app()
    client = app.test_client()
    register(client, ANN)
    confirmation = code_in(smtp_server.wait_for(1)[0])
    response = client.post("/confirm/code", json={"email": ANN, "code": confirmation})
    assert response.json == {"status": "confirmed"}
    assert client.post("/password/forgot", json={"email": ANN}).status_code == 202
    reset = code_in(smtp_server.wait_for(2)[1])
    body = {"email": ANN, "code": reset, "password": NEW_PASSWORD}
    assert client.post("/password/reset", json=body).status_code == 200
    receiver.wait_for(3)
    ann = user_id(app, ANN)
    assert receiver.events() == sorted(
        [
            event("user.registered", ann, ANN),
            event("user.confirmed", ann, ANN),
            event("user.password_reset", ann, ANN),
        ]
    )
    # Never a code in an event.
    for request in receiver.requests:
        assert confirmation.encode() not in request.body and reset.encode() not in request.body


def test_re_registering_an_address_sends_no_user_registered(webhook_app, smtp_server, receiver):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    client = app.test_client()
    register(client, ANN)
    register(client, ANN)  # unconfirmed, same password
    client.post("/register", json={"email": ANN, "password": "another long passphrase"})
    assert "sent=4" in send(app)  # three confirmation mails and one event
    confirm = smtp_server.wait_for(3)[-1]
    client.post("/confirm", json={"token": token_in(confirm)})
    register(client, ANN)  # confirmed now: the owner is mailed
    register(client, "ANN@EXAMPLE.COM")
    send(app)
    kinds = [row.kind for row in event_rows(app)]
    assert kinds == ["webhook:user.registered", "webhook:user.confirmed"]
    # The operator's listing shows events beside mails, and counts both.
    listing = app.test_cli_runner().invoke(args=["outbox", "list"]).output
    assert "webhook:user.confirmed" in listing and "to=webhook" in listing
    assert "already_registered" in listing and f"to={ANN}" in listing
    assert "pending=0 sent=8 failed=0" in listing  # 6 mails (one password_set), 2 events
    assert "webhook events: pending=0 sent=2 failed=0" in listing
    assert [r.event["type"] for r in receiver.delivered()] == ["user.registered", "user.confirmed"]


@pytest.mark.parametrize("step", ["register", "confirm"])
def test_a_change_that_rolls_back_sends_no_event(
    webhook_app, smtp_server, receiver, monkeypatch, step
):
    from app import outbox

    app = webhook_app(OUTBOX_AUTODISPATCH=False, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    if step == "confirm":
        register(client, ANN)
        send(app)
        token = token_in(smtp_server.wait_for(1)[0])
    original = outbox.enqueue_event

    def enqueue_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the change failed after its event was queued")

    monkeypatch.setattr(outbox, "enqueue_event", enqueue_then_fail)
    if step == "register":
        response = client.post("/register", json={"email": BOB, "password": PASSWORD})
    else:
        response = client.post("/confirm", json={"token": token})
    assert response.status_code == 500
    monkeypatch.undo()

    kinds = [row.kind for row in event_rows(app)]
    assert kinds == ([] if step == "register" else ["webhook:user.registered"])
    send(app)
    with app.app_context():
        assert db.session.scalar(select(User.confirmed_at)) is None
    assert [r.event["type"] for r in receiver.delivered()] == (
        [] if step == "register" else ["user.registered"]
    )


def test_an_email_change_lost_to_a_race_sends_no_event(webhook_app, smtp_server, receiver):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    client = app.test_client()
    register(client, ANN)
    send(app)
    client.post("/confirm", json={"token": token_in(smtp_server.wait_for(1)[0])})
    session = access_token(client, ANN)
    client.post("/me/email", json={"new_email": NEW, "password": PASSWORD}, headers=bearer(session))
    send(app)
    [change] = [m for m in smtp_server.wait_for(3) if m["To"] == NEW]
    register(client, NEW)  # someone takes the new address before it is confirmed
    response = client.post("/confirm", json={"token": token_in(change)})
    assert response.status_code == 400  # the UPDATE hit the unique index and rolled back
    send(app)
    types = Counter(r.event["type"] for r in receiver.delivered())
    assert types == Counter({"user.registered": 2, "user.confirmed": 1})


def test_without_webhook_settings_no_event_is_queued(app_factory, smtp_server):
    app = app_factory(OUTBOX_AUTODISPATCH=False)
    client = app.test_client()
    register(client, ANN)
    send(app)
    client.post("/confirm", json={"token": token_in(smtp_server.wait_for(1)[0])})
    assert [row.kind for row in outbox_rows(app)] == ["confirm"]


# --- faults: the receiver down, failing, slow, refusing, redirecting ---


@pytest.mark.slow
def test_receiver_down_then_up_delivers_every_event_once(webhook_app, smtp_server, receiver):
    app = webhook_app(OUTBOX_SWEEP_SECONDS=1)
    receiver.stop()
    addresses = [f"user{n}@example.com" for n in range(20)]
    client = app.test_client()
    for address in addresses:
        register(client, address)

    def first_attempts_made():
        return all(row.attempts == 1 for row in event_rows(app))

    wait_until(first_attempts_made, 20, "the first attempts")
    rows = event_rows(app)
    assert len(rows) == 20 and {r.status for r in rows} == {"pending"}
    assert all("ConnectionRefusedError" in r.last_error for r in rows), rows[0].last_error
    assert receiver.requests == []

    receiver.start()
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_RETRY_BASE_SECONDS"] + 1)
    with time_machine.travel(later, tick=True):
        wait_until(lambda: all(r.status == "sent" for r in event_rows(app)), 30, "all sent")
        assert "sent=0" in send(app)
    rows = event_rows(app)
    ids = Counter(r.webhook_id for r in receiver.delivered())
    duplicates = sum(ids.values()) - len(ids)
    print(f"\nreceiver down then up: expected=20 delivered={len(ids)} duplicates={duplicates}")
    assert sorted(ids) == sorted(r.message_id for r in rows)
    assert duplicates == 0
    assert sorted(r.event["data"]["email"] for r in receiver.delivered()) == sorted(addresses)
    assert all(r.verified for r in receiver.requests)
    assert [r.attempts for r in rows] == [2] * 20


def test_500_twice_then_200_is_delivered_after_three_attempts_under_one_id(webhook_app, receiver):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    receiver.replies = [500, 503]
    register(app.test_client(), ANN)
    [row] = event_rows(app)

    now = utcnow()
    for attempt, status in ((1, 500), (2, 503)):
        with time_machine.travel(now, tick=False):
            assert "retry=1" in send(app)
        [row] = event_rows(app)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.last_error.startswith(f"HTTP {status} ")
        with time_machine.travel(row.next_attempt_at - timedelta(seconds=1), tick=False):
            assert "retry=0" in send(app) and len(receiver.requests) == attempt  # not due yet
        now = row.next_attempt_at
    with time_machine.travel(now, tick=False):
        assert "sent=1" in send(app)

    [row] = event_rows(app)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    requests = receiver.requests
    assert [r.answered for r in requests] == [500, 503, 204]
    assert {r.webhook_id for r in requests} == {row.message_id}  # one id on every attempt
    assert all(r.verified for r in requests)
    # A fresh timestamp per attempt: receivers refuse old ones, to stop replays.
    assert len({r.headers["webhook-timestamp"] for r in requests}) == 3
    print(f"\n500, 503, 200: expected=1 delivered={len(receiver.delivered())} duplicates=0")


@pytest.mark.parametrize(
    "header, at_least",
    [
        ("5", 5),  # longer than the 1 s backoff: honoured
        ("http-date", 120),
        ("0", 0.5),  # shorter than the backoff: the backoff stands
    ],
)
def test_429_with_retry_after_is_not_retried_earlier(webhook_app, receiver, header, at_least):
    app = webhook_app(OUTBOX_AUTODISPATCH=False, OUTBOX_RETRY_BASE_SECONDS=1)
    register(app.test_client(), ANN)
    now = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    if header == "http-date":
        header = format_datetime(now + timedelta(seconds=120), usegmt=True)
    receiver.replies = [(429, {"Retry-After": header})]
    with time_machine.travel(now, tick=False):
        assert "retry=1" in send(app)
    [row] = event_rows(app)
    waits = (row.next_attempt_at - now).total_seconds()
    assert at_least <= waits <= max(at_least, 1)
    assert row.last_error == "HTTP 429 Too Many Requests"
    with time_machine.travel(row.next_attempt_at - timedelta(milliseconds=100), tick=False):
        assert "retry=0" in send(app) and len(receiver.requests) == 1
    with time_machine.travel(row.next_attempt_at, tick=False):
        assert "sent=1" in send(app)
    assert [r.answered for r in receiver.requests] == [429, 204]
    assert len({r.webhook_id for r in receiver.requests}) == 1


@pytest.mark.slow
def test_a_hung_receiver_is_given_up_at_the_timeout_and_retried(webhook_app, receiver):
    app = webhook_app(OUTBOX_AUTODISPATCH=False, WEBHOOK_TIMEOUT=1)
    receiver.replies = [HANG]
    register(app.test_client(), ANN)
    started = time.monotonic()
    assert "retry=1" in send(app)
    waited = time.monotonic() - started
    assert 1.0 <= waited < 3.0
    [row] = event_rows(app)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "ReadTimeout: no answer within 1 s"

    with time_machine.travel(row.next_attempt_at, tick=False):
        assert "sent=1" in send(app)
    [row] = event_rows(app)
    assert (row.status, row.attempts) == ("sent", 2)
    hung, answered = receiver.requests
    assert hung.answered is None and answered.answered == 204
    assert hung.webhook_id == answered.webhook_id == row.message_id
    delivered = len(receiver.delivered())
    print(f"\nhung receiver: gave up after {waited:.2f} s; expected=1 delivered={delivered}")


@pytest.mark.parametrize("status", [400, 401, 404, 410, 413, 422])
def test_a_4xx_answer_fails_the_event_for_good(webhook_app, receiver, status):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    receiver.replies = [status]
    register(app.test_client(), ANN)
    assert "failed=1" in send(app)
    with time_machine.travel(utcnow() + timedelta(days=1), tick=False):
        assert "sent=0 retry=0 failed=0" in send(app)
    assert len(receiver.requests) == 1  # never tried again
    [row] = event_rows(app)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith(f"HTTP {status} ")

    listing = app.test_cli_runner().invoke(args=["outbox", "list", "--status", "failed"]).output
    assert f"{row.id:>6}  failed   webhook:user.registered" in listing
    assert f"error=HTTP {status}" in listing
    assert "webhook events: pending=0 sent=0 failed=1" in listing
    health = app.test_client().get("/healthz").json
    assert health["webhooks"]["failed"] == 1 and health["outbox"]["failed"] == 1


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_timeouts_and_server_errors_are_retried(webhook_app, receiver, status):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    receiver.replies = [status]
    register(app.test_client(), ANN)
    assert "retry=1" in send(app)
    [row] = event_rows(app)
    with time_machine.travel(row.next_attempt_at, tick=False):
        assert "sent=1" in send(app)
    assert [r.answered for r in receiver.requests] == [status, 204]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_fails_the_event(webhook_app, receiver, status):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    elsewhere = receiver.url.replace("/hooks", "/elsewhere")
    receiver.replies = [(status, {"Location": elsewhere})]
    register(app.test_client(), ANN)
    assert "failed=1" in send(app)
    [request] = receiver.requests  # the Location was never asked for
    assert request.path == "/hooks" and request.answered == status
    [row] = event_rows(app)
    assert row.status == "failed"
    assert row.last_error.endswith("redirect not followed") and str(status) in row.last_error
    assert "elsewhere" not in row.last_error


def test_a_failed_event_can_be_retried_by_the_operator(webhook_app, receiver):
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    receiver.replies = [410]
    register(app.test_client(), ANN)
    send(app)
    [row] = event_rows(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["outbox", "retry", str(row.id)]).exit_code == 0
    assert "sent=1" in send(app)
    assert [r.answered for r in receiver.requests] == [410, 204]
    assert len({r.webhook_id for r in receiver.requests}) == 1


def test_events_queued_while_webhooks_were_on_wait_when_they_are_off(webhook_app, app_factory):
    on = webhook_app(OUTBOX_AUTODISPATCH=False)
    register(on.test_client(), ANN)
    off = app_factory(OUTBOX_AUTODISPATCH=False)
    assert "retry=1" in send(off)
    [row] = event_rows(off)
    assert row.status == "pending" and "not set" in row.last_error


# --- Celery mode: the same events, through a real worker ---


@pytest.fixture
def celery_worker(database, smtp_server, redis_url, receiver, tmp_path):
    """A real `celery worker` process sending mail to the test's SMTP server, events to its
    receiver, with tasks from the test's own Redis database (emptied by redis_url)."""
    worker = CeleryProcess(
        "worker",
        database_url=database.url,
        smtp_port=smtp_server.port,
        broker_url=redis_url,
        workdir=tmp_path,
        WEBHOOK_URL=receiver.url,
        WEBHOOK_SECRET=SECRET,
    ).start()
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()


@pytest.mark.slow
def test_in_celery_mode_the_lifecycle_events_arrive_through_a_worker(
    webhook_app, smtp_server, receiver, redis_url, celery_worker
):
    # The worker mints the links: this app must read them with the worker's key.
    app = webhook_app(CELERY_BROKER_URL=redis_url, SECRET_KEY=TEST_SECRET_KEY)
    try:
        expected = run_lifecycle(app, smtp_server, receiver)
        assert_each_delivered_once_and_clean(app, receiver, expected)
    finally:
        app.extensions["celery"].close()
    # The worker, not this process, sent them (this app has no dispatcher thread).
    assert "Task app.tasks.deliver_email" in "\n".join(celery_worker.output)


# --- the README's receiver works as printed ---


def readme_receiver(monkeypatch):
    """The Python receiver of the README's Events section, run as printed."""
    from tests.support.server import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Events\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    namespace: dict = {"__name__": "__main__"}  # as `python receiver.py` would run it
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["app"].test_client()


def test_the_readme_receiver_verifies_what_the_service_signs(webhook_app, monkeypatch):
    from app import webhooks

    receiver_client = readme_receiver(monkeypatch)
    app = webhook_app(OUTBOX_AUTODISPATCH=False)
    register(app.test_client(), ANN)
    [row] = event_rows(app)
    with app.app_context():
        event = webhooks.build(db.session.get(OutboxEmail, row.id))
        headers = webhooks.signed_headers(event)
    answer = receiver_client.post("/hooks/accounts", data=event.body, headers=headers)
    assert answer.status_code == 204
    assert (
        receiver_client.post("/hooks/accounts", data=event.body, headers=headers).status_code == 204
    )
    forged = event.body.replace(ANN, "mallory@example.com")
    assert receiver_client.post("/hooks/accounts", data=forged, headers=headers).status_code == 400
