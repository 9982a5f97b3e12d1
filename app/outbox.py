"""The outbox: emails and webhook events written in the caller's transaction, sent after commit."""

import atexit
import logging
import math
import os
import random
import smtplib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta
from email.utils import make_msgid
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import bindparam, event, func, or_, select, update
from sqlalchemy.orm import Session

from . import codes, emails, metrics, webhooks
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
    _add([row])


def enqueue_event(event_type: str, user: User, **facts: str) -> None:
    """Add a webhook event about user to the current transaction, when webhooks are configured.

    The row names the event and the account; the body is built from the account at delivery.
    `facts` are what the account no longer holds by then (an email change's previous address).
    """
    if webhooks.is_enabled():
        _add([_event_row(event_type, user.id, facts or None)])


def enqueue_deleted(accounts: Iterable[tuple[int, str]]) -> None:
    """Add user.deleted for each (id, address) deleted in the current transaction.

    The account is gone at delivery, so the row carries both facts, and its user_id stays
    NULL: the deleted account's cascade must not take its own deletion event with it.
    """
    if webhooks.is_enabled():
        rows = [
            _event_row("user.deleted", None, {"user_id": user_id, "email": email})
            for user_id, email in accounts
        ]
        if rows:
            _add(rows)


def _event_row(event_type: str, user_id: int | None, payload: dict | None) -> OutboxEmail:
    return OutboxEmail(
        kind=webhooks.kind_for(event_type),
        recipient=webhooks.RECIPIENT,
        user_id=user_id,
        payload=payload,
        message_id=webhooks.new_message_id(),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )


def _add(rows: list[OutboxEmail]) -> None:
    db.session.add_all(rows)
    db.session.flush()
    db.session.info.setdefault("outbox_new_ids", []).extend(row.id for row in rows)


def channel_of(kind: str) -> str:
    """'email' or 'webhook': how a row of this kind goes out (a label for counts and metrics)."""
    return "webhook" if webhooks.is_event(kind) else "email"


def _dispatch_after_commit(session: Session) -> None:
    ids = session.info.pop("outbox_new_ids", None)
    if ids:
        dispatch(ids)


def _forget_after_rollback(session: Session, previous_transaction) -> None:
    session.info.pop("outbox_new_ids", None)


def init_app(app: Flask) -> None:
    """Choose, once, who delivers this app's rows, and hand them over after each commit.

    Celery workers when CELERY_BROKER_URL is set; otherwise a thread in this process; no one
    when OUTBOX_AUTODISPATCH is off (tests and operators run `flask outbox send`).
    """
    broker = app.config.get("CELERY_BROKER_URL")
    if broker:
        # Imported only in this mode: Celery is heavy and the in-process mode never needs it.
        from . import tasks

        tasks.celery_init_app(app)  # workers and beat run from this app, dispatching or not
    delivery: Delivery
    if not app.config.get("OUTBOX_AUTODISPATCH", True):
        delivery = ManualDelivery()
    elif broker:
        delivery = tasks.CeleryDelivery()
    else:
        delivery = ThreadDelivery(app)
        # The thread also sweeps for retries that fall due, so start it with the first request.
        app.before_request(delivery.dispatcher.start)
    app.extensions["outbox"] = delivery
    # Session events are global; one listener serves every app (it asks current_app).
    if not event.contains(Session, "after_commit", _dispatch_after_commit):
        event.listen(Session, "after_commit", _dispatch_after_commit)
        event.listen(Session, "after_soft_rollback", _forget_after_rollback)


def dispatch(ids: list[int]) -> None:
    """Hand freshly committed (or re-queued) rows to this app's delivery, off the request path."""
    current_app.extensions["outbox"].dispatch(ids)


def shutdown(app: Flask) -> None:
    """Stop this app's delivery (the in-process thread); for tests and orderly exits."""
    delivery = app.extensions.get("outbox")
    if delivery is not None:
        delivery.close()


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


def _sender(
    row: OutboxEmail, transport: emails.Transport
) -> tuple[Callable[[OutboxEmail], Any], Callable[[Any], None]]:
    """How a row goes out: a step that reads the database, then one that only uses the network."""
    if webhooks.is_event(row.kind):
        return webhooks.build, webhooks.post
    return emails.compose, transport.send


def _is_permanent(error: Exception) -> bool:
    """SMTP 5xx replies will not change on retry; everything else (4xx, network) may.

    A webhook's answer says for itself (a 4xx other than 408/429, or a redirect, is final).
    """
    if isinstance(error, webhooks.DeliveryFailed):
        return error.permanent
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
    elif isinstance(error, webhooks.DeliveryFailed):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR_LENGTH]


def _next_attempt_in(error: Exception, attempts: int) -> timedelta:
    """The backoff, or longer when a webhook receiver asked for a longer pause (Retry-After)."""
    delay = retry_delay(attempts)
    if isinstance(error, webhooks.DeliveryFailed) and error.retry_after is not None:
        return max(delay, error.retry_after)
    return delay


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


# Read before every send: built once, not per mail. The account the row is for comes in the
# same statement, so composing finds it in the session (session.get): one round trip fewer.
_HELD_ROW = (
    select(OutboxEmail, User)
    .outerjoin(User, User.id == OutboxEmail.user_id)
    .where(
        OutboxEmail.id == bindparam("row_id"),
        OutboxEmail.claim_id == bindparam("claim_id"),
        OutboxEmail.status == "pending",
    )
)


class _Batch:
    """The rows of one claim as they are sent: lease checks, and outcomes written together."""

    def __init__(self, claim_id: str):
        self.claim_id = claim_id
        self.lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
        self.sent: list[int] = []
        self.others: list[tuple[int, dict]] = []
        self.oldest: float | None = None
        self.account: User | None = None

    def hold(self, row_id: int) -> OutboxEmail | None:
        """The row, if this worker still holds its lease with at least half of it left.

        A batch is leased at once, so a long batch would outlive the lease of its last rows,
        and another worker that claimed them meanwhile would send them a second time. Reading
        the lease costs no write; it is renewed, for every row still held, only when half gone.
        """
        held = {"row_id": row_id, "claim_id": self.claim_id}
        row = self._read(held)
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
        return self._read(held) if row_id in renewed else None

    def _read(self, held: dict) -> OutboxEmail | None:
        found = db.session.execute(_HELD_ROW, held).first()
        # Referenced until the next row: the session's identity map holds objects weakly,
        # and composing looks the account up there.
        self.account = found[1] if found is not None else None
        return found[0] if found is not None else None

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


def _deliver_claimed(batch: _Batch, row_id: int, transport: emails.Transport) -> tuple[str, str]:
    """Send one claimed row; its outcome, and its channel (email or webhook) for the metrics."""
    row = batch.hold(row_id)
    if row is None:
        log.info("outbox row %s: lease expired and taken by another worker; left to it", row_id)
        kind = db.session.scalar(select(OutboxEmail.kind).where(OutboxEmail.id == row_id))
        db.session.rollback()
        return "lease_lost", channel_of(kind or "")
    # Read before sending: the commit in between expires the row, and reading it then would
    # cost another SELECT.
    channel = channel_of(row.kind)
    return _send_held(batch, row, transport), channel


def _send_held(batch: _Batch, row: OutboxEmail, transport: emails.Transport) -> str:
    row_id = row.id
    attempts = row.attempts + 1
    prepare, send = _sender(row, transport)
    try:
        prepared = prepare(row)
        # Store what composing made (a mail's verification codes: useless unsent) before it
        # leaves, and end the transaction before the slow network part.
        db.session.commit()
        send(prepared)
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
            row_id,
            last_error=description,
            next_attempt_at=utcnow() + _next_attempt_in(error, attempts),
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
                outcome, channel = _deliver_claimed(batch, row_id, transport)
                counts[outcome] += 1
                metrics.count_delivery(channel, outcome)
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
    _remove_spent_code_rows()
    while True:
        claim_id, claimed = _claim(ids, limit)
        queue = deque(claimed)
        if sessions > 1 and len(claimed) > 1:
            _deliver_in_lanes(claim_id, queue, counts, min(sessions, len(claimed)))
        else:
            _deliver_rows(claim_id, queue, counts)
        if ids is not None or len(claimed) < limit:
            return counts


# Composing a mail makes its verification code; expired codes are deleted here, in batches,
# at most once per this many seconds per app, rather than by one statement per mail.
EXPIRED_CODES_EVERY_SECONDS = 60.0


def _remove_spent_code_rows() -> None:
    """Delete expired verification codes, and spent guess counts, if this app has not done so
    for a while.

    Codes are made only by delivery passes, so doing it here keeps the table to about the codes
    still valid, whichever mode (thread, Celery, `flask outbox send`) delivers; the sweep runs
    a pass now and then even when no mail is queued.
    """
    state = current_app.extensions.setdefault("outbox_codes_removed_at", [-math.inf])
    now = time.monotonic()
    if now - state[0] < EXPIRED_CODES_EVERY_SECONDS:
        return
    state[0] = now
    try:
        for remove in (codes.remove_expired, codes.remove_spent_guesses):
            while remove(limit=1000) == 1000:
                db.session.commit()  # one batch a transaction: no long hold on SQLite's lock
            db.session.commit()
    except Exception:  # housekeeping: it must not stop the mail, and it is tried again later
        db.session.rollback()
        log.exception("outbox: removing expired codes and spent guess counts failed")


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


def _of_channel(channel: str | None) -> tuple:
    if channel is None:
        return ()
    is_event = OutboxEmail.kind.startswith(webhooks.KIND_PREFIX, autoescape=True)
    return (is_event,) if channel == "webhook" else (~is_event,)


def stats(channel: str | None = None, include_done: bool = True) -> dict[str, int]:
    """Counts that show the queue's health: pending, overdue (due over 5 minutes ago), failed;
    and, unless include_done is False, sent and skipped.

    All rows, or only those of one channel ('email' or 'webhook').
    """
    now = utcnow()
    # Without the done rows the count is an index scan of the few live ones; with them it
    # reads the whole table, a fifth of a second at a million rows: not for every /healthz.
    statuses = ("pending", "failed", "sent", "skipped") if include_done else ("pending", "failed")
    counts = dict(
        db.session.execute(
            select(OutboxEmail.status, func.count())
            .where(OutboxEmail.status.in_(statuses), *_of_channel(channel))
            .group_by(OutboxEmail.status)
        ).all()
    )
    overdue = db.session.scalar(
        select(func.count())
        .select_from(OutboxEmail)
        .where(
            OutboxEmail.status == "pending",
            OutboxEmail.next_attempt_at < now - timedelta(minutes=5),
            *_of_channel(channel),
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


def oldest_pending_queued_at():
    """When the oldest row still pending was queued; None when nothing is pending."""
    return db.session.scalar(
        select(func.min(OutboxEmail.created_at)).where(OutboxEmail.status == "pending")
    )


# --- in-process delivery (no Celery) ---


# How long a woken dispatcher waits for more committed rows before it claims them.
GATHER_SECONDS = 0.2


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
            # A daemon thread dies abruptly at exit; let a pass under way (a `flask outbox
            # retry`, a gunicorn worker leaving) finish, so no row is left mid-lease.
            atexit.register(self.stop)

    def stop(self, timeout: float = 5) -> None:
        atexit.unregister(self.stop)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        interval = self.app.config["OUTBOX_SWEEP_SECONDS"]
        while not self._stop.is_set():
            if self._wake.wait(interval):
                # Woken by a commit: give the rows committed just after it a moment to join
                # this claim. A pass has a cost of its own (a claim, an SMTP session per
                # lane), and paying it for every mail would double the CPU of a busy sign-up.
                self._stop.wait(GATHER_SECONDS)
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


class Delivery(Protocol):
    """Who delivers committed rows: the one choice init_app makes for an app."""

    def dispatch(self, ids: list[int]) -> None: ...

    def close(self) -> None: ...


class ThreadDelivery:
    """No broker: this process's dispatcher thread delivers."""

    def __init__(self, app: Flask):
        self.dispatcher = Dispatcher(app)

    def dispatch(self, ids: list[int]) -> None:
        self.dispatcher.wake()

    def close(self) -> None:
        self.dispatcher.stop()


class ManualDelivery:
    """Automatic delivery off: rows wait for `flask outbox send` (or a test's own call)."""

    def dispatch(self, ids: list[int]) -> None:
        pass

    def close(self) -> None:
        pass
