"""Races against a real multi-process server: one account, one confirmation, one email each."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, text

from app import outbox
from app.api.schemas import pending_confirmation
from app.extensions import db
from app.models import OutboxEmail, User
from tests.support.accounts import PASSWORD
from tests.support.server import LiveServer
from tests.support.smtp import token_in

pytestmark = [pytest.mark.slow, pytest.mark.live_server]

# 16 requests in flight at once, spread over two processes.
WORKERS, THREADS = 2, 8


def _all_at_once(count: int, call) -> list:
    """Run call(i) in `count` threads released together by a barrier; return the results."""
    barrier = threading.Barrier(count, timeout=30)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _scalar(app, query):
    with app.app_context():
        try:
            return db.session.scalar(query)
        finally:
            db.session.remove()


def test_concurrent_registrations_of_one_address_make_one_account(
    app_factory, database, smtp_server
):
    app = app_factory()
    with LiveServer(database.url, smtp_server.port, workers=WORKERS, threads=THREADS) as server:
        responses = _all_at_once(
            20,
            lambda _: requests.post(
                f"{server.url}/register",
                json={"email": "ann@example.com", "password": PASSWORD},
                timeout=30,
            ),
        )

    assert [r.status_code for r in responses] == [202] * 20, [r.text for r in responses]
    assert {r.text for r in responses} == {responses[0].text}
    assert responses[0].json() == pending_confirmation()
    assert _scalar(app, select(func.count()).select_from(User)) == 1
    # Every loser took the "already registered" path, which mails the owner again.
    assert _scalar(app, select(func.count()).select_from(OutboxEmail)) == 20


def _count_confirmed_at_writes(app, engine: str) -> None:
    """A trigger logs every committed write of users.confirmed_at into confirm_writes."""
    if engine == "sqlite":
        statements = [
            "CREATE TABLE confirm_writes (user_id INTEGER)",
            "CREATE TRIGGER log_confirm AFTER UPDATE OF confirmed_at ON users "
            "BEGIN INSERT INTO confirm_writes VALUES (NEW.id); END",
        ]
    else:
        statements = [
            "CREATE TABLE confirm_writes (user_id integer)",
            "CREATE FUNCTION log_confirm() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO confirm_writes VALUES (NEW.id); RETURN NEW; END $$",
            "CREATE TRIGGER log_confirm AFTER UPDATE OF confirmed_at ON users "
            "FOR EACH ROW EXECUTE FUNCTION log_confirm()",
        ]
    with app.app_context():
        for statement in statements:
            db.session.execute(text(statement))
        db.session.commit()
        db.session.remove()


def test_concurrent_confirmations_of_one_token_confirm_once(app_factory, database, smtp_server):
    app = app_factory()
    _count_confirmed_at_writes(app, database.engine)
    # Three rounds, each on its own account: a narrow race gets three chances to show.
    addresses = [f"user{i}@example.com" for i in range(3)]
    with LiveServer(database.url, smtp_server.port, workers=WORKERS, threads=THREADS) as server:
        for address in addresses:
            registered = requests.post(
                f"{server.url}/register", json={"email": address, "password": PASSWORD}, timeout=30
            )
            assert registered.status_code == 202
        smtp_server.wait_for(len(addresses))
        tokens = [token_in(smtp_server.messages_to(address)[0]) for address in addresses]
        # Warm every worker thread and pool, so that the confirmations below truly overlap.
        _all_at_once(
            2 * WORKERS * THREADS, lambda _: requests.get(f"{server.url}/healthz", timeout=30)
        )

        for token in tokens:
            responses = _all_at_once(
                10,
                lambda _, token=token: requests.post(
                    f"{server.url}/confirm", json={"token": token}, timeout=30
                ),
            )
            assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
            statuses = Counter(r.json()["status"] for r in responses)
            assert statuses == {"confirmed": 1, "already_confirmed": 9}

        confirmed_at = _scalar(app, select(func.min(User.confirmed_at)))
        assert confirmed_at is not None
        again = requests.post(f"{server.url}/confirm", json={"token": tokens[0]}, timeout=30)
        assert again.json() == {"status": "already_confirmed"}

    assert _scalar(app, select(func.min(User.confirmed_at))) == confirmed_at
    # confirmed_at was written once per account, never overwritten by a later confirmation.
    assert _scalar(app, text("SELECT count(*) FROM confirm_writes")) == len(addresses)
    assert _scalar(app, text("SELECT count(DISTINCT user_id) FROM confirm_writes")) == 3


def test_two_delivery_workers_send_each_email_once(app_factory, smtp_server):
    # Two app instances are two workers: each has its own engine, pool and connections.
    settings = {"OUTBOX_AUTODISPATCH": False, "OUTBOX_SWEEP_SECONDS": 3600}
    first, second = app_factory(**settings), app_factory(**settings)
    client = first.test_client()
    # A slow server keeps both workers busy at once; small batches make them claim in turn.
    smtp_server.delay_seconds = 0.01

    def drain(i):
        with (first, second)[i].app_context():
            try:
                return outbox.deliver_due(limit=3)
            finally:
                db.session.remove()

    # Three rounds of 20 emails: a narrow race gets three synchronised starts to show.
    for round_ in range(3):
        for i in range(20):
            address = f"user{round_}-{i}@example.com"
            response = client.post("/register", json={"email": address, "password": PASSWORD})
            assert response.status_code == 202
        for worker in (first, second):
            # Both pools hold a connection: neither worker's first claim waits for a connect.
            with worker.app_context():
                db.session.execute(text("SELECT 1"))
                db.session.remove()

        sent_counts = [result["sent"] for result in _all_at_once(2, drain)]

        assert sum(sent_counts) == 20 and 0 not in sent_counts, sent_counts

    sent = Counter(message["Message-ID"] for message in smtp_server.messages)
    assert len(sent) == 60 and set(sent.values()) == {1}, sent.most_common(3)
    with first.app_context():
        rows = db.session.scalars(select(OutboxEmail)).all()
        assert {row.message_id for row in rows} == set(sent)
        assert {(row.status, row.attempts) for row in rows} == {("sent", 1)}
        db.session.remove()


def test_parallel_wrong_codes_evaluate_at_most_the_cap(app_factory, database, smtp_server):
    """20 wrong codes at once against one address, over two processes: 5 compared, 15 refused."""
    from app.models import CodeGuesses
    from tests.support.smtp import code_in

    app = app_factory()
    with LiveServer(database.url, smtp_server.port, workers=WORKERS, threads=THREADS) as server:
        registered = requests.post(
            f"{server.url}/register",
            json={"email": "ann@example.com", "password": PASSWORD},
            timeout=30,
        )
        assert registered.status_code == 202
        code = code_in(smtp_server.wait_for(1)[0])
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        _all_at_once(
            2 * WORKERS * THREADS, lambda _: requests.get(f"{server.url}/healthz", timeout=30)
        )

        responses = _all_at_once(
            20,
            lambda _: requests.post(
                f"{server.url}/confirm/code",
                json={"email": "ann@example.com", "code": wrong},
                timeout=30,
            ),
        )
        statuses = Counter(r.status_code for r in responses)
        # Only a code that was compared can answer code_invalid: the rest were refused first.
        assert statuses == {400: 5, 429: 15}, [r.text for r in responses]
        assert {r.json()["error"]["code"] for r in responses} == {"code_invalid", "rate_limited"}
        assert _scalar(app, select(CodeGuesses.window_guesses)) == 5

        right = requests.post(
            f"{server.url}/confirm/code",
            json={"email": "ann@example.com", "code": code},
            timeout=30,
        )
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
