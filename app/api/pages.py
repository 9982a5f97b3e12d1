"""The few HTML pages that browsers get when a person opens an emailed link."""

from collections.abc import Callable

from flask import current_app, make_response, render_template, request

from ..errors import ApiError, TokenExpired, ValidationError
from . import schemas

# Endpoints with a browser flow, and what their error pages offer (a new link, and how).
LINK_PURPOSES = {
    "confirm": "confirm",
    "confirm_resend": "confirm",
    "password_reset": "reset",
    "email_revert": "revert",
}


def page(name: str, http_status: int = 200, **context):
    html = render_template(f"pages/{name}.html", app_name=current_app.config["APP_NAME"], **context)
    response = make_response(html, http_status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


def wants_page() -> bool:
    """A browser on one of the emailed-link flows: a GET preferring HTML, or our form's POST."""
    if request.endpoint not in LINK_PURPOSES:
        return False
    if request.method == "POST":
        return schemas.is_form_post(request)
    return schemas.wants_html(request)


def error_page(error: ApiError):
    """The page for an error on a browser flow, or None: the caller then answers JSON."""
    if not wants_page():
        return None
    purpose = LINK_PURPOSES[request.endpoint]
    if purpose == "reset" and request.method == "POST" and _password_only(error):
        # The form again, the reason beside the field, so the person can fix it in place.
        return page(
            "reset_form", error.status, token=request.form.get("token", ""), errors=error.fields
        )
    if isinstance(error, TokenExpired):
        return page("token_expired", error.status, purpose=purpose)
    if error.code == "token_invalid":
        return page("token_invalid", error.status)
    return page("error", error.status, message=error.message)


def _password_only(error: ApiError) -> bool:
    fields = error.fields or {}
    return isinstance(error, ValidationError) and "password" in fields and "token" not in fields


def open_link(check: Callable[[str], str], pages: dict[str, str], **context):
    """GET on an emailed link: only check the token; a browser gets the page for its state.

    Mail scanners fetch links too, so opening one never changes anything. `check` raises
    for a bad token (the error handler renders that) and names the state otherwise;
    `pages` maps each state to the page a browser gets, typically a button that POSTs.
    """
    token = request.args.get("token", "")
    status = check(token)
    if not schemas.wants_html(request):
        return {"status": status}, 200
    return page(pages[status], token=token, status=status, **context)
