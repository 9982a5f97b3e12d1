"""The few HTML pages that browsers get when a person opens an emailed link."""

from flask import current_app, make_response, render_template

from ..errors import ApiError, TokenExpired


def page(name: str, http_status: int = 200, **context):
    html = render_template(f"pages/{name}.html", app_name=current_app.config["APP_NAME"], **context)
    response = make_response(html, http_status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


def error_page(error: ApiError, purpose: str):
    if isinstance(error, TokenExpired):
        return page("token_expired", error.status, purpose=purpose)
    if error.code == "token_invalid":
        return page("token_invalid", error.status)
    return page("error", error.status, message=error.message)
