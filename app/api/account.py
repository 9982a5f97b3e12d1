"""Password reset (/password/forgot, /password/reset), email change (/me/email, /email/revert)."""

from collections.abc import Callable

from flask import request
from flask_restful import Resource

from .. import services
from ..errors import ApiError, ValidationError
from . import schemas
from .limits import MAIL_SCOPE, per_address, per_ip
from .pages import error_page, page
from .sessions import current_user

# What a GET of an emailed link answers a client when the token can still be used.
TOKEN_VALID = {"status": "valid"}


class PasswordForgot(Resource):
    decorators = [per_ip("RATELIMIT_EMAIL_SEND"), per_address(MAIL_SCOPE)]

    def post(self):
        services.request_password_reset(schemas.load_email(request))
        return schemas.accepted(), 202


def open_link(check: Callable[[str], object], purpose: str, page_name: str, **context):
    """GET on an emailed link: only check the token; a browser gets the page that POSTs it.

    Mail scanners fetch links too, so opening one never changes anything.
    """
    token = request.args.get("token", "")
    browser = schemas.wants_html(request)
    try:
        check(token)
    except ApiError as error:
        if browser:
            return error_page(error, purpose=purpose)
        raise
    if browser:
        return page(page_name, token=token, **context)
    return TOKEN_VALID, 200


class PasswordReset(Resource):
    decorators = [per_ip("RATELIMIT_PASSWORD_RESET")]

    def get(self):
        return open_link(services.check_reset_token, "reset", "reset_form", errors=None)

    def post(self):
        if not schemas.is_form_post(request) and schemas.is_reset_by_code(request):
            data = schemas.load_password_reset_by_code(request)
            services.reset_password_by_code(data.email, data.code, data.password)
            return {"status": "password_reset"}, 200
        if not schemas.is_form_post(request):
            data = schemas.load_password_reset(request)
            services.reset_password(data.token, data.password)
            return {"status": "password_reset"}, 200
        try:
            data = schemas.load_password_reset(request, allow_form=True)
            services.reset_password(data.token, data.password)
        except ValidationError as error:
            if "password" in (error.fields or {}) and "token" not in error.fields:
                token = request.form.get("token", "")
                return page("reset_form", error.status, token=token, errors=error.fields)
            return error_page(error, purpose="reset")
        except ApiError as error:
            return error_page(error, purpose="reset")
        return page("reset_done")


class EmailChange(Resource):
    decorators = [per_ip("RATELIMIT_EMAIL_SEND"), per_address(MAIL_SCOPE)]

    def post(self):
        user = current_user()
        data = schemas.load_email_change(request)
        services.request_email_change(user, data.new_email, data.password)
        return schemas.pending_confirmation(), 202


class EmailRevert(Resource):
    def get(self):
        return open_link(services.check_revert_token, "revert", "revert_prompt")

    def post(self):
        browser = schemas.is_form_post(request)
        try:
            services.revert_email_change(schemas.load_token(request, allow_form=True))
        except ApiError as error:
            if browser:
                return error_page(error, purpose="revert")
            raise
        if browser:
            return page("revert_done")
        return {"status": "email_restored"}, 200
