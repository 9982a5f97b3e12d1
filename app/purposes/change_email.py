"""Confirming the new address of an email change: the token and code mailed to that address."""

from dataclasses import dataclass

from flask import current_app

from .. import codes, tokens
from ..addresses import email_key
from ..models import User, VerificationCode


@dataclass(frozen=True)
class ChangeEmail(tokens.Payload):
    purpose = "change-email"

    user_id: int
    new_address: str  # digest of the new address's key
    version: int  # the change request it belongs to (User.email_change_version)

    def is_applied(self, user: User) -> bool:
        """The change was confirmed already: the account has the new address, nothing pending."""
        return self.new_address == tokens.digest(user.email_key) and user.pending_email is None

    def is_pending(self, user: User) -> bool:
        """The change still waits: the newest request, for this address, not reverted."""
        return (
            user.pending_email is not None
            and self.new_address == tokens.digest(email_key(user.pending_email))
            and self.version == user.email_change_version
        )


def make_token(user: User, new_email: str, version: int) -> str:
    return ChangeEmail(user.id, tokens.digest(email_key(new_email)), version).sign()


def read_token(token: object) -> ChangeEmail:
    return ChangeEmail.read(token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])


def make_code(user: User, new_email: str, version: int) -> str:
    """Bound, like the token, to the new address and to this change request."""
    return codes.issue(ChangeEmail.purpose, user, new_email, binding=str(version))


def read_code(row: VerificationCode) -> ChangeEmail:
    return ChangeEmail(row.user_id, row.address_hash, int(row.binding or -1))
