"""SQLAlchemy models: users, the email outbox, verification codes and their guess counts."""

from datetime import datetime

from flask import current_app
from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
    types,
)
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import as_utc, utcnow


class UTCDateTime(types.TypeDecorator):
    """A timestamp that always comes back as an aware UTC datetime, whatever the engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value)

    def process_result_value(self, value, dialect):
        return as_utc(value)


def _default_locale() -> str:
    return current_app.config["DEFAULT_LOCALE"]


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As the person typed it, normalized by email-validator (domain lowercased, IDNA).
    email: Mapped[str] = mapped_column(String(254))
    # Lowercased address: the database enforces one account per address, whatever the case.
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    # None means no usable password (see the pre-hijacking defence in services.registration).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when an unconfirmed address was registered again with another password.
    registration_conflict: Mapped[bool] = mapped_column(default=False)
    # Access tokens carry this number; bumping it signs the user out everywhere.
    token_version: Mapped[int] = mapped_column(default=0)
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # Bumped by every email-change request, so only the newest request's link works.
    email_change_version: Mapped[int] = mapped_column(default=0)
    # The language of every mail to this account: one of SUPPORTED_LOCALES when it was set.
    locale: Mapped[str] = mapped_column(String(35), default=_default_locale)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


OUTBOX_STATUSES = ("pending", "sent", "failed", "skipped")


class OutboxEmail(db.Model):
    """One email to send. It names what to send, never a token: tokens are minted at delivery."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status"),
        Index("ix_outbox_emails_due", "status", "next_attempt_at"),
        # The claim takes the oldest pending rows by id: with millions of sent rows kept, only
        # an index of the pending ones keeps it from walking the whole primary key.
        Index(
            "ix_outbox_emails_pending",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    # None for rows addressed by email alone: the account is looked up when sending.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Non-secret facts the message needs (for example the new address of an email change).
    payload: Mapped[dict | None] = mapped_column(JSON)
    # One Message-ID for every attempt, so a retried send can be deduplicated downstream.
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A claim is a lease: a worker that dies mid-send frees its rows when the lease runs out.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_id: Mapped[str | None] = mapped_column(String(36))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VerificationCode(db.Model):
    """A code mailed beside a link. Only a keyed hash of it is stored: a dump reveals no code."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_address", "address_hash", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # tokens.digest of the address key the code was mailed to (for an email change, the new one).
    address_hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of purpose, address key and code under the SECRET_KEY current at issue.
    code_hash: Mapped[str] = mapped_column(String(64))
    # The state the code is bound to, as its token is (a password-hash digest, a change version).
    binding: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CodeGuesses(db.Model):
    """Wrong codes per address, counted in the database so the cap holds across processes."""

    __tablename__ = "verification_guesses"

    # The same digest as VerificationCode.address_hash, whether or not the address has an account.
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_guesses: Mapped[int] = mapped_column(default=0)
    day_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    day_guesses: Mapped[int] = mapped_column(default=0)
