"""GET /confirm (checks a link, changes nothing by default), POST /confirm and /confirm/code."""

from flask import current_app, request
from flask_restful import Resource

from .. import services
from . import schemas
from .limits import per_ip
from .pages import open_link, page

# Scanners fetch links too: a person presses the prompt's button, which POSTs the token.
LINK_PAGES = {"pending_confirmation": "confirm_prompt", "already_confirmed": "confirm_done"}


class Confirmation(Resource):
    def get(self):
        if current_app.config["CONFIRM_ON_GET"]:
            token = request.args.get("token", "")
            return self._confirmed(services.confirm_email(token), schemas.wants_html(request))
        return open_link(
            services.check_confirmation_token, LINK_PAGES, password_reset_required=False
        )

    def post(self):
        token = schemas.load_token(request, allow_form=True)
        return self._confirmed(services.confirm_email(token), schemas.is_form_post(request))

    @staticmethod
    def _confirmed(answer: dict, browser: bool):
        if browser:
            return page(
                "confirm_done",
                status=answer["status"],
                password_reset_required=answer.get("password_reset_required", False),
            )
        return answer, 200


class CodeConfirmation(Resource):
    """The code printed beside the link: for an app, or a device other than the mailbox."""

    decorators = [per_ip("RATELIMIT_CONFIRM_CODE")]

    def post(self):
        data = schemas.load_code_confirmation(request)
        return services.confirm_email_by_code(data.email, data.code), 200
