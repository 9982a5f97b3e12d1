"""POST /login, GET /me and POST /logout-all."""

from flask import request
from flask_restful import Resource

from .. import services
from ..i18n import locale_or_default
from ..timeutil import isoformat
from . import schemas
from .limits import per_address, per_ip


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def current_user():
    return services.authenticate(bearer_token())


class Login(Resource):
    decorators = [
        per_ip("RATELIMIT_LOGIN"),
        per_address("login", "RATELIMIT_LOGIN_PER_ADDRESS", failures_only=True),
    ]

    def post(self):
        data = schemas.load_login(request)
        token, expires_in = services.login(data.email, data.password)
        return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}, 200


class Me(Resource):
    def get(self):
        return me_body(current_user()), 200

    def patch(self):
        user = current_user()
        services.set_locale(user, schemas.load_locale(request))
        return me_body(user), 200


def me_body(user) -> dict:
    body = {
        "id": user.id,
        "email": user.email,
        "confirmed": user.is_confirmed,
        "confirmed_at": isoformat(user.confirmed_at),
        "created_at": isoformat(user.created_at),
        "locale": locale_or_default(user.locale),
    }
    if user.pending_email:
        body["pending_email"] = user.pending_email
    return body


class LogoutAll(Resource):
    def post(self):
        services.logout_all(current_user())
        return "", 204
