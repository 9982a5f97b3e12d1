"""Putting the previous address back after an email change: the link mailed to the old address."""

from dataclasses import dataclass

from flask import current_app

from .. import tokens
from ..addresses import email_key
from ..models import User


@dataclass(frozen=True)
class RevertEmail(tokens.Payload):
    purpose = "revert-email"

    user_id: int
    # In clear: the address to restore. It is the inbox the link was mailed to.
    old_email: str
    new_address: str  # digest of the new address's key


def make_token(user: User, old_email: str, new_email: str) -> str:
    return RevertEmail(user.id, old_email, tokens.digest(email_key(new_email))).sign()


def read_token(token: object) -> RevertEmail:
    return RevertEmail.read(token, current_app.config["EMAIL_REVERT_TOKEN_MAX_AGE"])
