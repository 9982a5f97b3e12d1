"""Confirming a new account's address: the /confirm token and the code of the sign-up mail."""

from dataclasses import dataclass

from flask import current_app

from .. import codes, tokens
from ..addresses import email_key
from ..models import User, VerificationCode


@dataclass(frozen=True)
class ConfirmEmail(tokens.Payload):
    purpose = "confirm-email"

    user_id: int
    address: str  # digest of the address key: the token names no address

    def is_for(self, user: User) -> bool:
        """Bound to the address: a token issued for one address never confirms another."""
        return self.address == tokens.digest(user.email_key)


def make_token(user: User, address: str) -> str:
    """The token of a confirmation mail sent to address (the account's address)."""
    return ConfirmEmail(user.id, tokens.digest(email_key(address))).sign()


def read_token(token: object) -> ConfirmEmail:
    return ConfirmEmail.read(token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])


def make_code(user: User, address: str) -> str:
    """The code of the same mail, bound to the same address."""
    return codes.issue(ConfirmEmail.purpose, user, address)


def read_code(row: VerificationCode) -> ConfirmEmail:
    """What a matching code stands for: the same payload its link's token carries."""
    return ConfirmEmail(row.user_id, row.address_hash)
