"""POST /register and POST /confirm/resend."""

from flask import request
from flask_restful import Resource

from .. import services
from . import schemas
from .limits import MAIL_SCOPE, per_address, per_ip
from .pages import page


class Registration(Resource):
    decorators = [per_ip("RATELIMIT_REGISTER"), per_address(MAIL_SCOPE)]

    def post(self):
        data = schemas.load_registration(request)
        services.register(data.email, data.password)
        return schemas.pending_confirmation(), 202


class ConfirmationResend(Resource):
    decorators = [per_ip("RATELIMIT_EMAIL_SEND"), per_address(MAIL_SCOPE)]

    def post(self):
        services.resend_confirmation(schemas.load_email(request, allow_form=True))
        if schemas.is_form_post(request):  # the expired-link page's form
            return page("resend_done", 202)
        return schemas.pending_confirmation(), 202
