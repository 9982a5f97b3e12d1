"""Resetting (or first setting) a password: the token and code of the reset mails."""

from dataclasses import dataclass

from flask import current_app

from .. import codes, tokens
from ..models import User, VerificationCode


@dataclass(frozen=True)
class ResetPassword(tokens.Payload):
    purpose = "reset-password"

    user_id: int
    password: str  # digest of the password hash it was issued against

    def is_current(self, user: User) -> bool:
        """Bound to the hash it was issued against: once the password changes, it is dead."""
        return self.password == tokens.digest(user.password_hash)


def make_token(user: User) -> str:
    return ResetPassword(user.id, tokens.digest(user.password_hash)).sign()


def read_token(token: object) -> ResetPassword:
    return ResetPassword.read(token, current_app.config["RESET_TOKEN_MAX_AGE"])


def make_code(user: User) -> str:
    """Bound, like the token, to the password hash it was issued against."""
    return codes.issue(
        ResetPassword.purpose, user, user.email, binding=tokens.digest(user.password_hash)
    )


def read_code(row: VerificationCode) -> ResetPassword:
    return ResetPassword(row.user_id, row.binding or "")
