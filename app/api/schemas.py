"""Reading request bodies into checked values, and the shapes of common answers."""

import json
from dataclasses import dataclass

from flask import Request

from .. import passwords
from ..addresses import AddressError, normalize_email
from ..errors import InvalidJson, UnsupportedMediaType, ValidationError

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
        raise InvalidJson("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidJson("The body must be a JSON object.")
    return data


def _text_problem(value: str) -> str | None:
    """Why a string cannot be stored or hashed, or None."""
    # PostgreSQL refuses NUL in text, and a lone surrogate (JSON allows "\ud800") has no
    # UTF-8 form for Argon2 or the database: both would otherwise surface as a 500.
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def _strings(data: dict, *names: str, check_text: bool = True) -> dict[str, str]:
    """The named fields, each a string; missing or wrongly typed ones are reported together."""
    problems = {}
    for name in names:
        value = data.get(name)
        if value is None:
            problems[name] = "This field is required."
        elif not isinstance(value, str):
            problems[name] = "Must be a string."
        elif check_text and (problem := _text_problem(value)):
            problems[name] = problem
    if problems:
        raise ValidationError(fields=problems)
    return {name: data[name] for name in names}


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except AddressError as error:
        raise ValidationError(fields={"email": str(error)}) from None


def load_registration(request: Request) -> Credentials:
    data = _strings(load_object(request), "email", "password")
    fields = {}
    try:
        email = normalize_email(data["email"])
    except AddressError as error:
        fields["email"] = str(error)
        email = None
    problem = passwords.password_problem(data["password"], email or data["email"])
    if problem:
        fields["password"] = problem
    if fields:
        raise ValidationError(fields=fields)
    return Credentials(email, data["password"])


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


# Codes are 6 to 10 digits; a longer value is refused before it costs anything.
MAX_CODE_LENGTH = 32


@dataclass(frozen=True)
class CodeForm:
    email: str
    code: str


def _code_fields(data: dict, *names: str) -> dict[str, str]:
    """email, code and the other named fields, checked together; the code without spaces."""
    fields = {}
    try:
        values = _strings(data, *names)
    except ValidationError as error:
        fields.update(error.fields)
        values = {}
    if "email" in values:
        try:
            values["email"] = normalize_email(values["email"])
        except AddressError as error:
            fields["email"] = str(error)
    if "code" in values:
        # People copy codes with the spaces or dashes some mail apps put in long numbers.
        values["code"] = "".join(c for c in values["code"] if c not in " -")
        if len(values["code"]) > MAX_CODE_LENGTH:
            fields["code"] = f"Must be at most {MAX_CODE_LENGTH} characters long."
    if fields:
        raise ValidationError(fields=fields)
    return values


def load_code_confirmation(request: Request) -> CodeForm:
    data = _code_fields(load_object(request), "email", "code")
    return CodeForm(data["email"], data["code"])


@dataclass(frozen=True)
class PasswordResetForm:
    token: str
    password: str


@dataclass(frozen=True)
class PasswordResetByCode:
    email: str
    code: str
    password: str


def is_reset_by_code(request: Request) -> bool:
    """Which form a JSON POST /password/reset uses: with a token, or with email and code."""
    data = load_object(request)
    return "token" not in data and ("code" in data or "email" in data)


def load_password_reset_by_code(request: Request) -> PasswordResetByCode:
    data = _code_fields(load_object(request), "email", "code", "password")
    return PasswordResetByCode(data["email"], data["code"], data["password"])


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
        "message": "If an account uses this address, a password reset link is on its way to it.",
    }


def pending_confirmation() -> dict:
    return {
        "status": "pending_confirmation",
        "message": "If the address can be used, a confirmation link is on its way to it.",
    }
