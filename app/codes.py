"""Verification codes: made when a mail is composed, stored as a keyed hash, guesses capped.

No commits here: services decide the transactions (the guess reservation commits on its own,
before any code is looked at).
"""

import hmac
import math
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, case, delete, exists, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import tokens
from .addresses import email_key
from .errors import TooManyGuesses
from .extensions import db
from .models import CodeGuesses, User, VerificationCode
from .timeutil import utcnow

GUESS_WINDOW = timedelta(minutes=15)
GUESS_DAY = timedelta(days=1)
MAX_GUESSES_PER_DAY = 20
# A guess is compared with the newest codes of the address only. Each code compared adds its
# own chance of a match, so this bounds an attacker's odds (and the work) however many mails
# they make the service send to the address; older codes stop working.
MAX_CODES_COMPARED = 3


def address_hash(address: str) -> str:
    """The key codes and guess counts are filed under, alike with or without an account."""
    return tokens.digest(email_key(address))


# Built once: a Core INSERT, no ORM object to flush for a row nothing reads back.
_INSERT_CODE = insert(VerificationCode.__table__)


def issue(purpose: str, user: User, address: str, binding: str | None = None) -> str:
    """Make a code for a mail to address, store its keyed hash (in the caller's transaction)."""
    config = current_app.config
    length = config["VERIFICATION_CODE_LENGTH"]
    code = f"{secrets.randbelow(10**length):0{length}d}"
    now = utcnow()
    key = email_key(address)
    db.session.execute(
        _INSERT_CODE,
        {
            "purpose": purpose,
            "user_id": user.id,
            "address_hash": address_hash(address),
            "code_hash": tokens.code_hashes(purpose, key, code)[0],
            "binding": binding,
            "created_at": now,
            "expires_at": now + timedelta(seconds=config["VERIFICATION_CODE_MAX_AGE"]),
        },
    )
    return code


def remove_expired(limit: int = 1000) -> int:
    """Delete up to limit codes past their expiry, of any address; return how many went.

    Expired codes are of no use to anyone; the outbox calls this now and then as it makes
    new ones (see outbox.deliver_due), which keeps the table to about the codes still valid.
    """
    return _delete_some(VerificationCode.id, [VerificationCode.expires_at <= utcnow()], limit)


def remove_spent_guesses(limit: int = 1000) -> int:
    """Delete up to limit guess counts whose day and window have both ended; return how many.

    Such a row counts for nothing any more: the next guess would start both counts afresh,
    exactly as with no row. Without this the table keeps a row per address ever guessed at.
    """
    now = utcnow()
    spent = [
        CodeGuesses.day_started_at <= now - GUESS_DAY,
        CodeGuesses.window_started_at <= now - GUESS_WINDOW,
    ]
    return _delete_some(CodeGuesses.address_hash, spent, limit)


def _delete_some(key, conditions: list, limit: int) -> int:
    """Delete up to limit rows (of key's table) that meet conditions; return how many went."""
    chosen = select(key).where(*conditions).limit(limit).scalar_subquery()
    result = db.session.execute(
        delete(key.class_).where(key.in_(chosen)).execution_options(synchronize_session=False)
    )
    return result.rowcount


def valid_for() -> int:
    return current_app.config["VERIFICATION_CODE_MAX_AGE"]


def find(purposes: tuple[str, ...], address: str, code: str) -> VerificationCode | None:
    """The unexpired code row of one of these purposes that code matches for address, or None."""
    rows = db.session.scalars(
        select(VerificationCode)
        .where(
            VerificationCode.address_hash == address_hash(address),
            VerificationCode.purpose.in_(purposes),
            VerificationCode.expires_at > utcnow(),
        )
        .order_by(VerificationCode.id.desc())
        .limit(MAX_CODES_COMPARED)
    ).all()
    key = email_key(address)
    candidates = {purpose: tokens.code_hashes(purpose, key, code) for purpose in purposes}
    found = None
    # Every row against every key, with no early exit: constant-time comparisons, and the
    # same work whichever row (if any) matches.
    for row in rows:
        for candidate in candidates[row.purpose]:
            if hmac.compare_digest(row.code_hash, candidate) and found is None:
                found = row
    return found


def consume(row: VerificationCode) -> bool:
    """Use a code up; False when a concurrent request (or a lock-out) took it first."""
    result = db.session.execute(
        delete(VerificationCode)
        .where(VerificationCode.id == row.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


_END = delete(VerificationCode.__table__).where(
    VerificationCode.__table__.c.user_id == bindparam("user_id"),
    VerificationCode.__table__.c.purpose == bindparam("purpose"),
)


def end(user_id: int, purpose: str) -> None:
    """End every outstanding code of one purpose for a user (a link or a code was used)."""
    # Built once, run on the session's connection: no ORM object can hold a code being ended.
    db.session.connection().execute(_END, {"user_id": user_id, "purpose": purpose})


def end_for_address(address: str) -> None:
    """End every outstanding code mailed to address, whatever its purpose."""
    db.session.execute(
        delete(VerificationCode)
        .where(VerificationCode.address_hash == address_hash(address))
        .execution_options(synchronize_session=False)
    )


def remove_orphans() -> None:
    """Delete codes whose user is gone (SQLite enforces no foreign keys unless told to)."""
    # NOT EXISTS probes the users' primary key per code; NOT IN (SELECT id FROM users) would
    # read every user (and on PostgreSQL cannot become an anti-join, NULLs being possible).
    db.session.execute(
        delete(VerificationCode)
        .where(~exists().where(User.id == VerificationCode.user_id))
        .execution_options(synchronize_session=False)
    )


# --- the guess cap ---


def _insert_ignoring_conflict(values: dict):
    if db.engine.dialect.name == "postgresql":
        return postgresql_insert(CodeGuesses).values(values).on_conflict_do_nothing()
    return sqlite_insert(CodeGuesses).values(values).on_conflict_do_nothing()


def reserve_guess(address: str) -> int:
    """Count one guess for address before its code is looked at; return the window's count.

    The count is taken first and atomically, so concurrent guesses cannot all slip under the
    cap: a conditional UPDATE, serialised by the row lock (PostgreSQL) or the write lock
    (SQLite), lets at most VERIFICATION_CODE_MAX_ATTEMPTS through per window and
    MAX_GUESSES_PER_DAY per day. Raises TooManyGuesses beyond that.
    """
    config = current_app.config
    key = address_hash(address)
    now = utcnow()
    db.session.execute(
        _insert_ignoring_conflict(
            {
                "address_hash": key,
                "window_started_at": now,
                "window_guesses": 0,
                "day_started_at": now,
                "day_guesses": 0,
            }
        )
    )
    stamp = literal(now, type_=CodeGuesses.window_started_at.type)
    new_window = CodeGuesses.window_started_at <= now - GUESS_WINDOW
    new_day = CodeGuesses.day_started_at <= now - GUESS_DAY
    count = db.session.execute(
        update(CodeGuesses)
        .where(
            CodeGuesses.address_hash == key,
            or_(new_window, CodeGuesses.window_guesses < config["VERIFICATION_CODE_MAX_ATTEMPTS"]),
            or_(new_day, CodeGuesses.day_guesses < MAX_GUESSES_PER_DAY),
        )
        .values(
            window_started_at=case((new_window, stamp), else_=CodeGuesses.window_started_at),
            window_guesses=case((new_window, 1), else_=CodeGuesses.window_guesses + 1),
            day_started_at=case((new_day, stamp), else_=CodeGuesses.day_started_at),
            day_guesses=case((new_day, 1), else_=CodeGuesses.day_guesses + 1),
        )
        .returning(CodeGuesses.window_guesses)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if count is None:
        raise TooManyGuesses(_seconds_until_allowed(key, now))
    return count


def _seconds_until_allowed(key: str, now) -> int:
    guesses = db.session.get(CodeGuesses, key, populate_existing=True)
    until = guesses.window_started_at + GUESS_WINDOW
    if guesses.day_guesses >= MAX_GUESSES_PER_DAY:
        until = max(until, guesses.day_started_at + GUESS_DAY)
    return math.ceil((until - now).total_seconds())


def release_guess(address: str) -> None:
    """Give back the one guess a right code reserved: the owner's own success costs nothing."""
    db.session.execute(
        update(CodeGuesses)
        .where(
            CodeGuesses.address_hash == address_hash(address),
            CodeGuesses.window_guesses > 0,
            CodeGuesses.day_guesses > 0,
        )
        .values(
            window_guesses=CodeGuesses.window_guesses - 1,
            day_guesses=CodeGuesses.day_guesses - 1,
        )
        .execution_options(synchronize_session=False)
    )


def is_cap_reached(count: int) -> bool:
    return count >= current_app.config["VERIFICATION_CODE_MAX_ATTEMPTS"]
