"""Celery mode with real brokers (Redis and RabbitMQ) and real workers: every row sent, once."""

import time
from datetime import timedelta

import pytest
import requests

from app.extensions import db
from app.models import OutboxEmail
from app.tasks import enqueue_delivery, sweep_outbox
from app.timeutil import utcnow
from tests.support.accounts import PASSWORD
from tests.support.brokers import Broker
from tests.support.celery_worker import CeleryProcess
from tests.support.metrics import METRICS_TOKEN, scrape, value
from tests.support.outbox import delivery_counts, outbox_rows, register_all
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def broker(request):
    """Each test runs on both brokers, with a queue of its own (parallel runs never mix)."""
    broker = Broker(request.param, request.getfixturevalue(f"{request.param}_url"))
    yield broker
    broker.remove()


@pytest.fixture
def celery_app_factory(app_factory, broker):
    made = []

    def make(**overrides):
        settings = {"CELERY_BROKER_URL": broker.url, "CELERY_QUEUE": broker.queue}
        app = app_factory(**{**settings, **overrides})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["celery"].close()


@pytest.fixture
def start_celery(database, smtp_server, broker, tmp_path):
    """Start `celery worker` or `celery beat` processes; all are stopped after the test."""
    started = []

    def start(command="worker", count=1, **env):
        processes = [
            CeleryProcess(
                command,
                database_url=database.url,
                smtp_port=smtp_server.port,
                broker_url=broker.url,
                workdir=tmp_path,
                CELERY_QUEUE=broker.queue,
                **env,
            ).start()
            for _ in range(count)
        ]
        started.extend(processes)
        return [process.wait_ready() for process in processes]

    yield start
    for process in started:  # all at once: each takes about a second to shut down
        process.request_stop()
    for process in started:
        process.stop()


def test_workers_deliver_each_row_once_however_often_its_task_is_queued(
    celery_app_factory, start_celery, smtp_server, broker
):
    app = celery_app_factory()
    addresses = [f"user{n}@example.com" for n in range(10)]
    register_all(app, *addresses)
    ids = [row.id for row in outbox_rows(app)]
    with app.app_context():
        enqueue_delivery(ids)  # every task twice more, as a redelivery or a sweep would
        enqueue_delivery(ids)
    assert broker.depth() == 30  # one task per row after each commit, plus the repeats

    start_celery("worker", count=2)
    wait_until(lambda: all(r.status == "sent" for r in outbox_rows(app)), 20, "all rows sent")
    wait_until(broker.drained, 20, "the queue drained")
    rows = outbox_rows(app)
    deliveries = delivery_counts(smtp_server)
    assert sorted(deliveries) == sorted((r.message_id, r.recipient) for r in rows)
    assert set(deliveries.values()) == {1}
    assert [r.attempts for r in rows] == [1] * 10


def test_the_sweep_requeues_due_and_stuck_rows_only(
    celery_app_factory, start_celery, smtp_server, broker
):
    app = celery_app_factory(OUTBOX_AUTODISPATCH=False)  # rows whose tasks were never queued
    register_all(
        app, "due@example.com", "stuck@example.com", "later@example.com", "busy@example.com"
    )
    due, stuck, later, busy = outbox_rows(app)
    now = utcnow()
    with app.app_context():
        changes = {
            stuck.id: {"claim_id": "dead-worker", "locked_until": now - timedelta(seconds=1)},
            later.id: {"next_attempt_at": now + timedelta(hours=1)},
            busy.id: {"claim_id": "live-worker", "locked_until": now + timedelta(hours=1)},
        }
        for row_id, values in changes.items():
            db.session.execute(
                db.update(OutboxEmail).where(OutboxEmail.id == row_id).values(**values)
            )
        db.session.commit()

    assert sweep_outbox() == 2  # beat's task, run in this process
    assert broker.depth() == 2
    start_celery("worker")
    wait_until(broker.drained, 20, "drain")
    wait_until(lambda: len(smtp_server.messages) >= 2, 10, "two deliveries")
    assert sorted(to for _, to in delivery_counts(smtp_server)) == [
        "due@example.com",
        "stuck@example.com",
    ]
    statuses = {r.recipient: (r.status, r.claim_id) for r in outbox_rows(app)}
    assert statuses["later@example.com"] == ("pending", None)
    assert statuses["busy@example.com"] == ("pending", "live-worker")


def test_a_broker_down_at_commit_loses_nothing_the_sweep_queues_the_row_later(
    celery_app_factory, broker, caplog
):
    down = celery_app_factory(CELERY_BROKER_URL=broker.dead_url())
    register_all(down, "ann@example.com")  # answers 202 although the task could not be queued
    [row] = outbox_rows(down)
    assert (row.status, row.attempts) == ("pending", 0)
    assert f"could not queue outbox row {row.id}" in caplog.text

    celery_app_factory()  # the broker is back: beat's sweep runs in an app that reaches it
    assert sweep_outbox() == 1
    assert broker.depth() == 1


@pytest.mark.parametrize("moment", ["right_after_an_acceptance", "mid_exchange"])
def test_a_worker_killed_mid_batch_loses_no_mail(
    celery_app_factory, start_celery, smtp_server, broker, moment
):
    rows_total = 30
    settings = {"OUTBOX_LEASE_SECONDS": 2, "OUTBOX_SWEEP_SECONDS": 1, "MAIL_TIMEOUT": 1}
    app = celery_app_factory()
    register_all(app, *(f"user{n}@example.com" for n in range(rows_total)))
    smtp_server.delay_seconds = 0.2

    [doomed] = start_celery("worker", **settings)
    smtp_server.wait_for(8, timeout=20)
    if moment == "mid_exchange":
        time.sleep(0.1)  # the next mails are inside their 0.2 s SMTP exchange
    doomed.kill()
    received_at_kill = len(delivery_counts(smtp_server))
    now = utcnow()
    rows = outbox_rows(app)
    sent_at_kill = sum(r.status == "sent" for r in rows)
    in_flight = sum(
        r.status == "pending" and r.locked_until is not None and r.locked_until > now for r in rows
    )
    # Mails the server accepted whose rows the dead worker could not mark sent.
    unrecorded = received_at_kill - sent_at_kill
    assert sent_at_kill < rows_total, "the batch finished before the kill: nothing was tested"

    # A new worker takes the queue; beat's sweep re-queues the rows leased by the dead one
    # (on Redis their tasks stay unacknowledged until its visibility timeout, an hour; RabbitMQ
    # hands them back at once, but a new worker finds their leases still running).
    start_celery("worker", **settings)
    start_celery("beat", **settings)
    wait_until(lambda: all(r.status == "sent" for r in outbox_rows(app)), 30, "every row sent")

    rows = outbox_rows(app)
    deliveries = delivery_counts(smtp_server)
    duplicates = sum(deliveries.values()) - len(deliveries)
    print(
        f"\nkilled worker ({moment}): expected={rows_total} delivered={len(deliveries)} "
        f"duplicates={duplicates} sent_at_kill={sent_at_kill} in_flight_at_kill={in_flight} "
        f"accepted_but_unrecorded_at_kill={unrecorded}"
    )
    assert sorted(deliveries) == sorted((r.message_id, r.recipient) for r in rows)
    # Only a mail accepted by the server but not yet marked sent can go out twice.
    assert duplicates <= unrecorded <= in_flight


@pytest.mark.live_server
def test_deliveries_made_by_a_worker_are_counted_in_the_web_metrics(
    celery_app_factory, start_celery, broker, database, smtp_server, tmp_path
):
    celery_app_factory()  # creates the schema
    # The worker shares the web's metrics directory (one host): a scrape adds its counts in.
    shared = {"PROMETHEUS_MULTIPROC_DIR": tmp_path / "prometheus"}
    shared["PROMETHEUS_MULTIPROC_DIR"].mkdir()
    start_celery("worker", **shared)
    web = {
        "METRICS_TOKEN": METRICS_TOKEN,
        "CELERY_BROKER_URL": broker.url,
        "CELERY_QUEUE": broker.queue,
        **shared,
    }
    with LiveServer(database.url, smtp_server.port, workers=2, **web) as server:
        for address in ("ann@example.com", "bob@example.com"):
            body = {"email": address, "password": PASSWORD}
            assert requests.post(f"{server.url}/register", json=body, timeout=10).ok
        smtp_server.wait_for(2)

        def sent() -> float:
            samples = scrape(server)
            return value(samples, "outbox_deliveries_total", kind="email", outcome="sent")

        # Web processes in Celery mode never deliver: these counts are the worker's.
        wait_until(lambda: sent() == 2, 20, "the worker's deliveries in the scrape")
        assert value(scrape(server), "outbox_messages", status="sent") == 2
