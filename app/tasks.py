"""Celery: the app wiring (Flask's documented pattern) and the delivery tasks."""

import logging

from celery import Celery, Task, shared_task
from celery.signals import setup_logging
from flask import Flask

from . import outbox

log = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        task_default_queue=app.config["CELERY_QUEUE"],
        task_ignore_result=True,
        # A task is acknowledged after it ran, so a worker killed mid-task leaves it queued.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "outbox-sweep": {
                "task": "app.tasks.sweep_outbox",
                "schedule": float(app.config["OUTBOX_SWEEP_SECONDS"]),
            }
        },
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    if app.config["LOG_FORMAT"] == "json":
        # Any receiver of this signal makes Celery leave logging alone, so workers and beat
        # keep the app's JSON lines instead of Celery's own text format.
        setup_logging.connect(_keep_app_logging, weak=False)
    return celery_app


def _keep_app_logging(**kwargs) -> None:
    """The app configured logging already (create_app); Celery adds nothing."""


@shared_task(name="app.tasks.deliver_email", ignore_result=True)
def deliver_email(row_id: int) -> str:
    """Deliver one outbox row if it is still due; a row already sent is never sent again."""
    counts = outbox.deliver_due(ids=[row_id])
    return next((outcome for outcome, n in counts.items() if n), "not_due")


@shared_task(name="app.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Beat's periodic pass: queue a delivery for every row that is due, or whose lease ran out."""
    ids = outbox.due_row_ids()
    for row_id in ids:
        deliver_email.delay(row_id)
    return len(ids)


def enqueue_delivery(ids: list[int]) -> None:
    """Queue one task per committed row; if the broker is down, beat's sweep catches up later."""
    for row_id in ids:
        try:
            deliver_email.delay(row_id)
        except Exception:
            log.warning(
                "could not queue outbox row %s; the sweep will deliver it", row_id, exc_info=True
            )


class CeleryDelivery:
    """A broker is configured: Celery workers deliver, one task per row."""

    def dispatch(self, ids: list[int]) -> None:
        enqueue_delivery(ids)

    def close(self) -> None:
        pass
