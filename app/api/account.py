"""Password reset (/password/forgot, /password/reset), email change (/me/email, /email/revert)."""

from flask import request
from flask_restful import Resource

from .. import services
from . import schemas
from .limits import MAIL_SCOPE, per_address, per_ip
from .pages import open_link, page
from .sessions import current_user

# What a GET of an emailed link answers a client when the token can still be used.
VALID = "valid"


class PasswordForgot(Resource):
    decorators = [per_ip("RATELIMIT_EMAIL_SEND"), per_address(MAIL_SCOPE)]

    def post(self):
        services.request_password_reset(schemas.load_email(request))
        return schemas.accepted(), 202


class PasswordReset(Resource):
    decorators = [per_ip("RATELIMIT_PASSWORD_RESET")]

    def get(self):
        return open_link(_valid(services.check_reset_token), {VALID: "reset_form"}, errors=None)

    def post(self):
        if not schemas.is_form_post(request) and schemas.is_reset_by_code(request):
            data = schemas.load_password_reset_by_code(request)
            services.reset_password_by_code(data.email, data.code, data.password)
            return {"status": "password_reset"}, 200
        data = schemas.load_password_reset(request, allow_form=True)
        services.reset_password(data.token, data.password)
        if schemas.is_form_post(request):
            return page("reset_done")
        return {"status": "password_reset"}, 200


class EmailChange(Resource):
    decorators = [per_ip("RATELIMIT_EMAIL_SEND"), per_address(MAIL_SCOPE)]

    def post(self):
        user = current_user()
        data = schemas.load_email_change(request)
        services.request_email_change(user, data.new_email, data.password)
        return schemas.pending_confirmation(), 202


class EmailRevert(Resource):
    def get(self):
        return open_link(_valid(services.check_revert_token), {VALID: "revert_prompt"})

    def post(self):
        services.revert_email_change(schemas.load_token(request, allow_form=True))
        if schemas.is_form_post(request):
            return page("revert_done")
        return {"status": "email_restored"}, 200


def _valid(check):
    """A token check that raises or passes, as open_link's check: a usable link is 'valid'."""

    def checked(token: str) -> str:
        check(token)
        return VALID

    return checked
