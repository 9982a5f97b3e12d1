"""Events for other services: built from the account at delivery, signed, POSTed to WEBHOOK_URL.

Signing follows the Standard Webhooks specification through its reference library, so any
receiver verifies with any Standard Webhooks library. The outbox decides when to send and
whether to retry; this module says what an event holds and what the receiver's answer means.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus

from flask import current_app
from standardwebhooks import Webhook

from .extensions import db
from .models import OutboxEmail, User
from .timeutil import isoformat, utcnow

EVENT_TYPES = frozenset(
    {
        "user.registered",
        "user.confirmed",
        "user.email_changed",
        "user.email_reverted",
        "user.password_reset",
        "user.deleted",
    }
)
# An outbox row's kind for an event, e.g. "webhook:user.confirmed"; mail kinds have no colon.
KIND_PREFIX = "webhook:"
# The recipient column of an event row: the URL is read from the configuration when sending.
RECIPIENT = "webhook"
# Besides network errors and 5xx, the answers that may change on a later attempt.
RETRYABLE_STATUSES = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})
# A receiver may ask for a pause, within reason: a huge Retry-After must not park an event forever.
MAX_RETRY_AFTER = timedelta(days=1)
USER_AGENT = "account-service-webhooks/1"


class DeliveryFailed(Exception):
    """The receiver did not take the event; `permanent` says whether a later attempt can help."""

    def __init__(self, message: str, *, permanent: bool, retry_after: timedelta | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Event:
    """One event ready to send: its id (the same on every attempt) and the exact body signed."""

    message_id: str
    body: str


def is_enabled() -> bool:
    config = current_app.config
    return bool(config.get("WEBHOOK_URL") and config.get("WEBHOOK_SECRET"))


def is_event(kind: str) -> bool:
    return kind.startswith(KIND_PREFIX)


def kind_for(event_type: str) -> str:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return KIND_PREFIX + event_type


def new_message_id() -> str:
    """A webhook-id, made when the event is queued, so every retry carries the same one."""
    return f"msg_{uuid.uuid4().hex}"


def build(row: OutboxEmail) -> Event:
    """The event's body from the account as it is now, as mail is composed at delivery.

    user.deleted has no account to read: its row carries the id and the address it had.
    """
    facts = row.payload or {}
    if row.user_id is None:
        data = {"user_id": facts["user_id"], "email": facts["email"]}
    else:
        user = db.session.get(User, row.user_id)
        if user is None:
            raise DeliveryFailed("the account of this event no longer exists", permanent=True)
        data = {"user_id": user.id, "email": user.email}
        if "previous_email" in facts:
            data["previous_email"] = facts["previous_email"]
    body = {
        "type": row.kind.removeprefix(KIND_PREFIX),
        "timestamp": isoformat(row.created_at),
        "data": data,
    }
    return Event(row.message_id, json.dumps(body, separators=(",", ":")))


def post(event: Event) -> None:
    """POST one signed event to the configured URL; raise DeliveryFailed unless it answers 2xx."""
    config = current_app.config
    if not is_enabled():
        # Queued while webhooks were on; kept for when they are configured again.
        raise DeliveryFailed("WEBHOOK_URL and WEBHOOK_SECRET are not set", permanent=False)
    # Imported here: requests costs a web worker about 5 MB, and only events need it.
    import requests

    headers = signed_headers(event)
    try:
        # The signed string, byte for byte. Never a redirect: the URL is only the configured one.
        # stream: the answer's body is never read, so a receiver cannot make us download much.
        response = requests.post(
            config["WEBHOOK_URL"],
            data=event.body.encode(),
            headers=headers,
            timeout=config["WEBHOOK_TIMEOUT"],
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout as error:
        raise DeliveryFailed(
            f"{type(error).__name__}: no answer within {config['WEBHOOK_TIMEOUT']} s",
            permanent=False,
        ) from None
    except requests.RequestException as error:
        raise DeliveryFailed(_network_error(error), permanent=False) from None
    with response:
        _judge(response.status_code, response.headers)


def signed_headers(event: Event) -> dict[str, str]:
    """The headers of one attempt: the event's fixed id, this moment, the signature of both."""
    timestamp = utcnow()  # per attempt: receivers reject old timestamps to stop replays
    signature = Webhook(current_app.config["WEBHOOK_SECRET"]).sign(
        event.message_id, timestamp, event.body
    )
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def _judge(status: int, headers) -> None:
    if 200 <= status < 300:
        return
    text = f"HTTP {status} {_phrase(status)}".rstrip()
    if 300 <= status < 400:
        # Following it would send a signed event to an address nobody configured; it repeats
        # the same way every time, so it fails for good until WEBHOOK_URL is corrected.
        raise DeliveryFailed(f"{text}: redirect not followed", permanent=True)
    if status >= 500 or status in RETRYABLE_STATUSES:
        raise DeliveryFailed(
            text, permanent=False, retry_after=retry_after(headers.get("retry-after"))
        )
    raise DeliveryFailed(text, permanent=True)


def retry_after(value: str | None) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a delay, capped; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - utcnow()
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def _phrase(status: int) -> str:
    # The standard phrase, not the receiver's own text: last_error and logs stay predictable.
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _network_error(error: Exception) -> str:
    """What went wrong on the network, without the URL (it may carry the receiver's own key)."""
    cause: BaseException = error
    seen = set()
    while id(cause) not in seen:
        seen.add(id(cause))
        deeper = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if not isinstance(deeper, BaseException):
            break
        cause = deeper
    if isinstance(cause, OSError) and cause.strerror:
        return f"{type(error).__name__}: {type(cause).__name__}: {cause.strerror}"
    return f"{type(error).__name__}: {type(cause).__name__}"
