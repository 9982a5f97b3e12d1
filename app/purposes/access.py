"""Access tokens: the bearer token that login hands out."""

from dataclasses import dataclass

from flask import current_app

from .. import tokens
from ..models import User


@dataclass(frozen=True)
class Access(tokens.Payload):
    purpose = "access"

    user_id: int
    version: int  # User.token_version when issued: bumping it revokes the token

    def is_current(self, user: User) -> bool:
        return self.version == user.token_version


def make_token(user: User) -> str:
    return Access(user.id, user.token_version).sign()


def read_token(token: object) -> Access:
    return Access.read(token, current_app.config["ACCESS_TOKEN_MAX_AGE"])
