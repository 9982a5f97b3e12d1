"""The email outbox: rows written in the caller's transaction, delivered after commit."""

import logging
import os
import random
import smtplib
import threading
import time
import uuid
from collections import deque
from datetime import timedelta
from email.utils import make_msgid

from flask import Flask, current_app
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session

from . import emails
from .extensions import db
from .models import OutboxEmail, User
from .timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500


def enqueue(kind: str, recipient: str, user: User | None, payload: dict | None = None) -> None:
    """Add an email to the current transaction; it is dispatched only if that commits."""
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    row = OutboxEmail(
        kind=kind,
        recipient=recipient,
        user_id=user.id if user is not None else None,
        payload=payload,
        message_id=make_msgid(domain=domain),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault("outbox_new_ids", []).append(row.id)


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    ids = session.info.pop("outbox_new_ids", None)
    if ids:
        dispatch(ids)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    session.info.pop("outbox_new_ids", None)


def dispatch(ids: list[int]) -> None:
    """Start delivery of freshly committed rows, off the request path."""
    app = current_app._get_current_object()
    if not app.config.get("OUTBOX_AUTODISPATCH", True):
        return
    if app.config.get("CELERY_BROKER_URL"):
        from .tasks import enqueue_delivery

        enqueue_delivery(ids)
    else:
        dispatcher_for(app).wake()


# --- claiming and delivering ---


def _claim(ids: list[int] | None, limit: int) -> tuple[str, list[int]]:
    """Lease due rows to this worker; two workers never hold the same row."""
    now = utcnow()
    claim_id = uuid.uuid4().hex
    claimable = (
        OutboxEmail.status == "pending",
        OutboxEmail.next_attempt_at <= now,
        or_(OutboxEmail.locked_until.is_(None), OutboxEmail.locked_until < now),
    )
    due = select(OutboxEmail.id).where(*claimable).order_by(OutboxEmail.id).limit(limit)
    if ids is not None:
        due = due.where(OutboxEmail.id.in_(ids))
    if db.engine.dialect.name == "postgresql":
        # Rows another worker is claiming are skipped, not waited for. Locked by a statement
        # of their own: as the UPDATE's subquery, PostgreSQL may rescan it once per row
        # (a semi join), skip the rows it just updated, and so claim past the limit.
        due = db.session.scalars(due.with_for_update(skip_locked=True)).all()
    else:
        due = due.scalar_subquery()
    # On SQLite the single UPDATE statement is atomic under the database write lock;
    # on PostgreSQL the conditions are checked again on the locked row.
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id.in_(due), *claimable)
        .values(claim_id=claim_id, locked_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    claimed = db.session.scalars(
        select(OutboxEmail.id).where(OutboxEmail.claim_id == claim_id).order_by(OutboxEmail.id)
    ).all()
    db.session.rollback()
    return claim_id, list(claimed)


def _is_permanent(error: Exception) -> bool:
    """SMTP 5xx replies will not change on retry; everything else (4xx, network) may."""
    if isinstance(error, emails.PermanentFailure):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for code, msg in error.recipients.values()
        )
    elif isinstance(error, smtplib.SMTPResponseException):
        msg = error.smtp_error
        text = (
            f"{error.smtp_code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
        )
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR_LENGTH]


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about base * 2^(n-1), capped, spread over its upper half."""
    config = current_app.config
    ceiling = min(
        config["OUTBOX_RETRY_MAX_SECONDS"],
        config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1),
    )
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


# Outcomes are written in one transaction per this many seconds of sending, not one per mail:
# a worker that dies loses at most this much record of what it sent (those rows are sent again
# when their lease runs out, under the same Message-ID).
RECORD_EVERY_SECONDS = 1.0


class _Batch:
    """The rows of one claim as they are sent: lease checks, and outcomes written together."""

    def __init__(self, claim_id: str):
        self.claim_id = claim_id
        self.lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
        self.sent: list[int] = []
        self.others: list[tuple[int, dict]] = []
        self.oldest: float | None = None

    def hold(self, row_id: int) -> OutboxEmail | None:
        """The row, if this worker still holds its lease with at least half of it left.

        A batch is leased at once, so a long batch would outlive the lease of its last rows,
        and another worker that claimed them meanwhile would send them a second time. Reading
        the lease costs no write; it is renewed, for every row still held, only when half gone.
        """
        held = (
            OutboxEmail.id == row_id,
            OutboxEmail.claim_id == self.claim_id,
            OutboxEmail.status == "pending",
        )
        row = db.session.scalar(select(OutboxEmail).where(*held))
        if row is None:
            db.session.rollback()
            return None
        if row.locked_until is not None and row.locked_until - utcnow() > self.lease / 2:
            return row
        db.session.rollback()
        self.record()
        renewed = db.session.scalars(
            update(OutboxEmail)
            .where(OutboxEmail.claim_id == self.claim_id, OutboxEmail.status == "pending")
            .values(locked_until=utcnow() + self.lease)
            .returning(OutboxEmail.id)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        return db.session.scalar(select(OutboxEmail).where(*held)) if row_id in renewed else None

    def finish(self, row_id: int, **values) -> None:
        """Note a row's outcome; written by record(), soon, with the others."""
        if values.get("status") == "sent":
            self.sent.append(row_id)
        else:
            self.others.append((row_id, values))
        now = time.monotonic()
        self.oldest = self.oldest or now
        if now - self.oldest >= RECORD_EVERY_SECONDS:
            self.record()

    def record(self) -> None:
        """Write the noted outcomes in one transaction, each only if this claim still holds it."""
        sent, others = self.sent, self.others
        self.sent, self.others, self.oldest = [], [], None
        if not sent and not others:
            return
        held = (OutboxEmail.claim_id == self.claim_id,)
        done = dict(attempts=OutboxEmail.attempts + 1, locked_until=None, claim_id=None)
        lost = 0
        if sent:
            result = db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id.in_(sent), *held)
                .values(status="sent", sent_at=utcnow(), last_error=None, **done)
                .execution_options(synchronize_session=False)
            )
            lost += len(sent) - result.rowcount
        for row_id, values in others:
            result = db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == row_id, *held)
                .values(**values, **done)
                .execution_options(synchronize_session=False)
            )
            lost += 1 - result.rowcount
        db.session.commit()
        if lost:
            log.warning("outbox: %s rows lost their lease before their result was recorded", lost)


def _deliver_claimed(batch: _Batch, row_id: int, transport: emails.Transport) -> str:
    row = batch.hold(row_id)
    if row is None:
        log.info("outbox row %s: lease expired and taken by another worker; left to it", row_id)
        return "lease_lost"
    attempts = row.attempts + 1
    try:
        message = emails.compose(row)
        db.session.rollback()  # end the read transaction before the slow network part
        transport.send(message)
    except emails.NothingToSend as reason:
        db.session.rollback()
        batch.finish(row_id, status="skipped", last_error=str(reason))
        return "skipped"
    except Exception as error:  # every failure is recorded on the row, none escapes the worker
        db.session.rollback()
        description = _describe(error)
        if _is_permanent(error) or attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            log.warning(
                "outbox row %s failed for good after %s attempts: %s", row_id, attempts, description
            )
            batch.finish(row_id, status="failed", last_error=description)
            return "failed"
        log.info("outbox row %s attempt %s failed, will retry: %s", row_id, attempts, description)
        batch.finish(
            row_id, last_error=description, next_attempt_at=utcnow() + retry_delay(attempts)
        )
        return "retry"
    batch.finish(row_id, status="sent")
    log.info("outbox row %s sent (attempt %s)", row_id, attempts)
    return "sent"


def _deliver_rows(claim_id: str, queue: deque[int], counts: dict[str, int]) -> None:
    """Send queued rows one after another over one SMTP session, recording their outcomes."""
    batch = _Batch(claim_id)
    try:
        with emails.transport() as transport:
            while queue:
                try:
                    row_id = queue.popleft()
                except IndexError:  # another lane took the last one
                    break
                counts[_deliver_claimed(batch, row_id, transport)] += 1
    finally:
        db.session.rollback()
        batch.record()


def _deliver_in_lanes(claim_id: str, queue: deque[int], counts: dict[str, int], lanes: int):
    """Several SMTP sessions at once, each in a thread taking the next row: a slow server's
    latency is paid in parallel, not once per mail."""
    app = current_app._get_current_object()
    results: list[dict[str, int]] = []

    def lane() -> None:
        mine = dict.fromkeys(counts, 0)
        with app.app_context():
            try:
                _deliver_rows(claim_id, queue, mine)
            except Exception:  # the rows it held are taken again when their lease runs out
                log.exception("outbox delivery lane failed")
            finally:
                db.session.remove()
        results.append(mine)

    threads = [threading.Thread(target=lane, name="outbox-lane") for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for mine in results:
        for outcome, n in mine.items():
            counts[outcome] += n


def deliver_due(
    limit: int = 100, ids: list[int] | None = None, sessions: int = 1
) -> dict[str, int]:
    """Deliver pending rows that are due (or just the given ones); return counts by outcome.

    sessions > 1 sends over that many SMTP sessions at once.
    """
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "lease_lost": 0}
    while True:
        claim_id, claimed = _claim(ids, limit)
        queue = deque(claimed)
        if sessions > 1 and len(claimed) > 1:
            _deliver_in_lanes(claim_id, queue, counts, min(sessions, len(claimed)))
        else:
            _deliver_rows(claim_id, queue, counts)
        if ids is not None or len(claimed) < limit:
            return counts


def due_row_ids(limit: int = 1000) -> list[int]:
    """Rows that are due and not leased: those a sweep should (re)queue."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(OutboxEmail.id)
            .where(
                OutboxEmail.status == "pending",
                OutboxEmail.next_attempt_at <= now,
                or_(OutboxEmail.locked_until.is_(None), OutboxEmail.locked_until < now),
            )
            .order_by(OutboxEmail.id)
            .limit(limit)
        )
    )


def retry_failed(row_id: int) -> bool:
    """Put a failed row back in the queue, due now. False when there is no such failed row."""
    result = db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == row_id, OutboxEmail.status == "failed")
        .values(status="pending", next_attempt_at=utcnow(), locked_until=None, claim_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def stats(include_done: bool = True) -> dict[str, int]:
    """Counts that show the queue's health: pending, overdue (due over 5 minutes ago), failed;
    and, unless include_done is False, sent and skipped."""
    now = utcnow()
    # Without the done rows the count is an index scan of the few live ones; with them it
    # reads the whole table, a fifth of a second at a million rows: not for every /healthz.
    statuses = ("pending", "failed", "sent", "skipped") if include_done else ("pending", "failed")
    counts = dict(
        db.session.execute(
            select(OutboxEmail.status, func.count())
            .where(OutboxEmail.status.in_(statuses))
            .group_by(OutboxEmail.status)
        ).all()
    )
    overdue = db.session.scalar(
        select(func.count())
        .select_from(OutboxEmail)
        .where(
            OutboxEmail.status == "pending",
            OutboxEmail.next_attempt_at < now - timedelta(minutes=5),
        )
    )
    result = {
        "pending": counts.get("pending", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "skipped": counts.get("skipped", 0),
        "overdue": overdue or 0,
    }
    if not include_done:
        del result["sent"], result["skipped"]
    return result


# --- in-process delivery (no Celery) ---


class Dispatcher:
    """A daemon thread per process that delivers when woken and sweeps for due retries."""

    def __init__(self, app: Flask):
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        self.start()
        self._wake.set()

    def start(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist in the child.
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            return  # the common case, every request: no lock taken
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._stop.clear()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="outbox-dispatcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        interval = self.app.config["OUTBOX_SWEEP_SECONDS"]
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                sessions = self.app.config["OUTBOX_SMTP_SESSIONS"]
                with self.app.app_context():
                    # Small claims with several sessions: a row waits for at most two rounds.
                    deliver_due(limit=2 * sessions if sessions > 1 else 100, sessions=sessions)
            except Exception:
                log.exception("outbox dispatcher pass failed; the next sweep will retry")


def dispatcher_for(app: Flask) -> Dispatcher:
    dispatcher = app.extensions.get("outbox_dispatcher")
    if dispatcher is None:
        dispatcher = app.extensions.setdefault("outbox_dispatcher", Dispatcher(app))
    return dispatcher
