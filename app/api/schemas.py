"""Reading request bodies into checked values, and the shapes of common answers."""

import json
from dataclasses import dataclass

from flask import Request
from flask_babel import gettext as _

from .. import passwords
from ..addresses import AddressError, normalize_email
from ..errors import InvalidJson, UnsupportedMediaType, ValidationError
from ..i18n import default_locale, resolve_locale

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_html(request: Request) -> bool:
    """True for a browser: its Accept header prefers text/html to JSON."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def is_form_post(request: Request) -> bool:
    """A form posted by one of our own HTML pages (the browser flow), not an API call."""
    return request.mimetype in FORM_TYPES and wants_html(request)


def load_object(request: Request, *, allow_form: bool = False) -> dict:
    """The body as a JSON object; a browser form too where the endpoint has an HTML flow."""
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises 413
    if allow_form and is_form_post(request):
        return request.form.to_dict()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise InvalidJson(_("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise InvalidJson(_("The body must be a JSON object."))
    return data


def _text_problem(value: str) -> str | None:
    """Why a string cannot be stored or hashed, or None."""
    # PostgreSQL refuses NUL in text, and a lone surrogate (JSON allows "\ud800") has no
    # UTF-8 form for Argon2 or the database: both would otherwise surface as a 500.
    if "\x00" in value:
        return _("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Must be valid Unicode text.")
    return None


def _strings(data: dict, *names: str, check_text: bool = True) -> dict[str, str]:
    """The named fields, each a string; missing or wrongly typed ones are reported together."""
    problems = {}
    for name in names:
        value = data.get(name)
        if value is None:
            problems[name] = _("This field is required.")
        elif not isinstance(value, str):
            problems[name] = _("Must be a string.")
        elif check_text and (problem := _text_problem(value)):
            problems[name] = problem
    if problems:
        raise ValidationError(fields=problems)
    return {name: data[name] for name in names}


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    locale: str | None  # None: not given, the request's Accept-Language decides


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except AddressError as error:
        raise ValidationError(fields={"email": str(error)}) from None


def load_registration(request: Request) -> Registration:
    body = load_object(request)
    data = _strings(body, "email", "password")
    fields = {}
    try:
        email = normalize_email(data["email"])
    except AddressError as error:
        fields["email"] = str(error)
        email = None
    problem = passwords.password_problem(data["password"], email or data["email"])
    if problem:
        fields["password"] = problem
    locale = body.get("locale")
    if locale is not None and not isinstance(locale, str):
        fields["locale"] = _("Must be a string.")
    if fields:
        raise ValidationError(fields=fields)
    if locale is not None:
        # A language we do not speak is no reason to refuse a sign-up: the default serves.
        locale = resolve_locale(locale) or default_locale()
    return Registration(email, data["password"], locale)


def load_locale(request: Request) -> str:
    """The supported language a PATCH /me body asks for; anything else is a validation error."""
    tag = _strings(load_object(request), "locale")["locale"]
    locale = resolve_locale(tag)
    if locale is None:
        raise ValidationError(fields={"locale": _("Is not a supported language.")})
    return locale


def load_login(request: Request) -> Credentials:
    """Login fields are only type-checked: any other problem is just wrong credentials."""
    data = _strings(load_object(request), "email", "password")
    try:
        email = normalize_email(data["email"])
    except AddressError:
        email = data["email"]
    return Credentials(email, data["password"])


def load_email(request: Request, *, allow_form: bool = False) -> str:
    return _email(_strings(load_object(request, allow_form=allow_form), "email")["email"])


def load_token(request: Request, *, allow_form: bool = False) -> str:
    # Any odd token, NUL or surrogate included, is simply not ours: token_invalid.
    data = load_object(request, allow_form=allow_form)
    return _strings(data, "token", check_text=False)["token"]


@dataclass(frozen=True)
class PasswordResetForm:
    token: str
    password: str


def load_password_reset(request: Request, *, allow_form: bool = False) -> PasswordResetForm:
    """The token and the new password; the policy needs the account, so the service applies it."""
    data = load_object(request, allow_form=allow_form)
    fields = {}
    for name, check_text in (("token", False), ("password", True)):
        try:
            _strings(data, name, check_text=check_text)
        except ValidationError as error:
            fields.update(error.fields)
    if fields:
        raise ValidationError(fields=fields)
    return PasswordResetForm(data["token"], data["password"])


@dataclass(frozen=True)
class EmailChange:
    new_email: str
    password: str


def load_email_change(request: Request) -> EmailChange:
    data = _strings(load_object(request), "new_email", "password")
    try:
        new_email = normalize_email(data["new_email"])
    except AddressError as error:
        raise ValidationError(fields={"new_email": str(error)}) from None
    return EmailChange(new_email, data["password"])


def accepted() -> dict:
    return {
        "status": "accepted",
        "message": _("If an account uses this address, a password reset link is on its way to it."),
    }


def pending_confirmation() -> dict:
    return {
        "status": "pending_confirmation",
        "message": _("If the address can be used, a confirmation link is on its way to it."),
    }
