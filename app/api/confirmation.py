"""GET /confirm (checks a link, changes nothing by default), POST /confirm and /confirm/code."""

from flask import current_app, request
from flask_restful import Resource

from .. import services
from ..errors import ApiError
from . import schemas
from .limits import per_ip
from .pages import error_page, page


class Confirmation(Resource):
    def get(self):
        token = request.args.get("token", "")
        browser = schemas.wants_html(request)
        try:
            if current_app.config["CONFIRM_ON_GET"]:
                return self._confirmed(services.confirm_email(token), browser)
            status = services.check_confirmation_token(token)
        except ApiError as error:
            if browser:
                return error_page(error, purpose="confirm")
            raise
        if not browser:
            return {"status": status}, 200
        if status == "already_confirmed":
            return page("confirm_done", status=status, password_reset_required=False)
        # Scanners fetch links too: a person presses the button, which POSTs the token.
        return page("confirm_prompt", token=token)

    def post(self):
        browser = schemas.is_form_post(request)
        try:
            token = schemas.load_token(request, allow_form=True)
            return self._confirmed(services.confirm_email(token), browser)
        except ApiError as error:
            if browser:
                return error_page(error, purpose="confirm")
            raise

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
