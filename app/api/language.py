"""Which language a request is answered in, and saying so (Content-Language)."""

from flask import Flask, has_request_context, request
from flask_babel import get_locale

from ..i18n import resolve_locale
from .pages import wants_page


def select_locale() -> str | None:
    """Flask-Babel's selector: a page from an emailed link in the mail's language (?lang=),
    else Accept-Language, else None (the default). Outside a request (a mail being
    composed) it is None too: mails choose theirs with force_locale.
    """
    if not has_request_context():
        return None
    if wants_page():
        # The link's ?lang=, or the hidden field our page's form carries it on with.
        tag = request.args.get("lang") or request.form.get("lang")
        from_link = resolve_locale(tag)
        if from_link:
            return from_link
    return request_locale()


def request_locale() -> str | None:
    """The supported language the request's Accept-Language prefers, or None."""
    for tag, quality in request.accept_languages:
        locale = resolve_locale(tag) if quality > 0 else None
        if locale:
            return locale
    return None


def register_language_hooks(app: Flask) -> None:
    @app.after_request
    def say_language(response):
        # The human texts (message, fields, pages) are in this language; codes never vary.
        if response.mimetype in ("application/json", "text/html"):
            response.headers["Content-Language"] = str(get_locale())
            response.vary.add("Accept-Language")
        return response
