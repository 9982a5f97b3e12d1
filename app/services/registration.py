"""Registration and re-sending the confirmation email, without telling who has an account."""

from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import metrics, outbox, passwords
from ..addresses import email_key
from ..errors import EmailTaken
from ..extensions import db
from ..models import User
from .users import find_user_by_email


def register(email: str, password: str) -> None:
    """Create an unconfirmed account, or mail the owner of the one that exists.

    Every branch does one Argon2 operation and queues one email, so that neither the
    answer nor its timing tells whether the address has an account.
    """
    user = find_user_by_email(email)
    if user is None:
        user = User(
            email=email, email_key=email_key(email), password_hash=passwords.hash_password(password)
        )
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:
            # The unique index is the arbiter: a concurrent signup for the same address
            # loses here and takes the "already registered" path, not a 500.
            db.session.rollback()
            user = find_user_by_email(email)
            if user is None:
                raise
        else:
            outbox.enqueue("confirm", user.email, user)
            outbox.enqueue_event("user.registered", user)  # a new account only, never a re-send
            db.session.commit()
            metrics.count_registration()
            return
    _register_existing(user, password)


def _register_existing(user: User, password: str) -> None:
    prevent_enumeration = current_app.config["PREVENT_ENUMERATION"]
    if user.is_confirmed:
        passwords.spend_hashing_time(password)
        if not prevent_enumeration:
            raise EmailTaken()
        # No token: the owner is pointed to sign-in and password reset. The password is untouched.
        outbox.enqueue("already_registered", user.email, user)
    else:
        same_password = passwords.verify_password(user.password_hash, password)
        if not prevent_enumeration:
            raise EmailTaken()
        if not same_password:
            # Someone may be pre-registering another person's address: whoever confirms
            # gets an account with no usable password (see confirm_email).
            user.registration_conflict = True
        outbox.enqueue("confirm", user.email, user)
    db.session.commit()


def resend_confirmation(email: str) -> None:
    """Queue a fresh confirmation link, sent only if the address has an unconfirmed account.

    The account is looked up at delivery, not here: the request does the same work for
    every address, so its timing does not tell which ones have an account.
    """
    outbox.enqueue("confirm", email, None)
    db.session.commit()
