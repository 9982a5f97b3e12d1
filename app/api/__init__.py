"""The route table: every URL the API serves, and the Api that hands errors back to Flask."""

from flask import Flask
from flask_restful import Api

from .account import EmailChange, EmailRevert, PasswordForgot, PasswordReset
from .confirmation import CodeConfirmation, Confirmation
from .docs import OpenApiDocument
from .health import Health
from .metrics import Metrics
from .registration import ConfirmationResend, Registration
from .sessions import Login, LogoutAll, Me

ROUTES = [
    (Registration, "/register", "register"),
    (Confirmation, "/confirm", "confirm"),
    (CodeConfirmation, "/confirm/code", "confirm_code"),
    (ConfirmationResend, "/confirm/resend", "confirm_resend"),
    (Login, "/login", "login"),
    (Me, "/me", "me"),
    (LogoutAll, "/logout-all", "logout_all"),
    (PasswordForgot, "/password/forgot", "password_forgot"),
    (PasswordReset, "/password/reset", "password_reset"),
    (EmailChange, "/me/email", "email_change"),
    (EmailRevert, "/email/revert", "email_revert"),
    (Health, "/healthz", "healthz"),
    (OpenApiDocument, "/openapi.json", "openapi"),
    (Metrics, "/metrics", "metrics"),
]


class JsonErrorApi(Api):
    """Flask-RESTful, but every error goes to the app's own handlers.

    Without this, production (TESTING off) turns our exceptions into a bare
    {"message": "Internal Server Error"} and werkzeug errors skip Flask's handlers.
    """

    def error_router(self, original_handler, e):
        return original_handler(e)


def register_api(app: Flask) -> None:
    api = JsonErrorApi(catch_all_404s=False)
    for resource, url, endpoint in ROUTES:
        api.add_resource(resource, url, endpoint=endpoint)
    api.init_app(app)
