"""Helpers for tests that look at the outbox and at what the SMTP server received."""

from collections import Counter

from app.extensions import db
from app.models import OutboxEmail
from tests.support.accounts import PASSWORD


def outbox_rows(app) -> list[OutboxEmail]:
    with app.app_context():
        return db.session.scalars(db.select(OutboxEmail).order_by(OutboxEmail.id)).all()


def register_all(app, *emails: str) -> None:
    """Register each address through the API; every answer must be the contract's 202."""
    client = app.test_client()
    for email in emails:
        response = client.post("/register", json={"email": email, "password": PASSWORD})
        assert response.status_code == 202


def delivery_counts(smtp_server) -> Counter:
    """How many times each (Message-ID, recipient) pair arrived: above 1 is a duplicate."""
    with smtp_server.lock:
        return Counter((m["Message-ID"], m["To"]) for m in smtp_server.messages)
