"""Compose emails from templates (minting their tokens and codes then); hand them to a transport."""

import logging
import smtplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from functools import cache, cached_property, lru_cache

import css_inline
from flask import current_app, render_template
from flask_babel import force_locale, get_translations, lazy_gettext
from flask_mail import BadHeaderError, Connection, sanitize_address, sanitize_subject
from jinja2.ext import _make_new_gettext, _make_new_ngettext
from sqlalchemy import select

from . import codes, mime
from .addresses import email_key
from .extensions import db
from .i18n import format_duration, locale_or_default
from .models import OutboxEmail, User
from .purposes import change_email, confirm_email, reset_password, revert_email

log = logging.getLogger(__name__)

SUBJECTS = {
    "confirm": lazy_gettext("Confirm your email address"),
    "already_registered": lazy_gettext("You already have an account"),
    "password_reset": lazy_gettext("Reset your password"),
    "password_set": lazy_gettext("Choose a password for your account"),
    "email_change_confirm": lazy_gettext("Confirm your new email address"),
    "email_change_notice": lazy_gettext("Your sign-in address is being changed"),
    "email_taken_notice": lazy_gettext("Someone tried to use your email address"),
}
# Mail clients drop <style> or ignore classes: every rule goes onto its element's style
# attribute. The <style> block stays for what only it can say (dark mode, narrow screens).
INLINER = css_inline.CSSInliner(keep_style_tags=True)
KINDS = frozenset(SUBJECTS)


@dataclass
class Mail:
    """A composed mail: subject, addresses, text and HTML parts, its fixed Message-ID.

    Sent as Flask-Mail sends its Message, to the byte (see `mime`), without building the
    email package's objects or calling getfqdn() for a Message-ID it does not use.
    """

    subject: str
    sender: str | tuple[str, str]
    recipient: str
    text: str
    html: str
    message_id: str

    @cached_property
    def to(self) -> str:
        return sanitize_address(self.recipient)

    def has_bad_headers(self) -> bool:
        """A line break in the subject or an address would start a header of its own."""
        fields = (self.subject, self.recipient, *_as_tuple(self.sender))
        return any("\r" in field or "\n" in field for field in fields)

    def as_bytes(self, date: float | None = None) -> bytes:
        """The message, dated now unless date (a timestamp) is given."""
        headers = [
            ("Subject", _subject_header(self.subject)),
            ("From", _address_header(self.sender)),
            ("To", self.to),
            ("Date", formatdate(date, localtime=True)),
            ("Message-ID", self.message_id),
        ]
        return mime.alternative_mail(headers, self.text, self.html)


def _as_tuple(value: str | tuple[str, str]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


# A handful of subjects and one sender per process: encoded once each.
_subject_header = lru_cache(maxsize=256)(sanitize_subject)
_address_header = lru_cache(maxsize=16)(sanitize_address)


class PermanentFailure(Exception):
    """Sending can never succeed (the recipient is refused, the user is gone): do not retry."""


class NothingToSend(Exception):
    """A row addressed by email found no account it applies to: it is skipped, not failed."""


# Kinds that may be queued for an address alone, and which accounts they are sent to.
# Queueing them for every request, known address or not, keeps the request's work the same.
ADDRESS_RESOLVED_KINDS = {
    "confirm": lambda user: not user.is_confirmed,
    "password_reset": lambda user: True,
}


def _link(template_key: str, default_path: str, token: str, lang: str) -> str:
    """The emailed link; `lang` makes the page it opens speak the mail's language."""
    template = current_app.config.get(template_key)
    if template:
        return template.replace("{token}", token).replace("{lang}", lang)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{default_path}?token={token}&lang={lang}"


def confirm_link(token: str, lang: str) -> str:
    return _link("CONFIRM_URL_TEMPLATE", "/confirm", token, lang)


def reset_link(token: str, lang: str) -> str:
    return _link("RESET_URL_TEMPLATE", "/password/reset", token, lang)


def revert_link(token: str, lang: str) -> str:
    return _link("", "/email/revert", token, lang)


def _context(row: OutboxEmail, user: User | None, recipient: str, lang: str) -> dict:
    """The template variables for a row; tokens and codes are made here, at sending time."""
    config = current_app.config
    payload = row.payload or {}
    context = {
        "app_name": config["APP_NAME"],
        "email": recipient,
        "base_url": config["PUBLIC_BASE_URL"],
        "lang": lang,
    }
    if row.kind == "confirm":
        token = confirm_email.make_token(user, recipient)
        context.update(
            link=confirm_link(token, lang),
            code=confirm_email.make_code(user, recipient),
            max_age=config["CONFIRM_TOKEN_MAX_AGE"],
        )
    elif row.kind in ("password_reset", "password_set"):
        token = reset_password.make_token(user)
        context.update(
            link=reset_link(token, lang),
            code=reset_password.make_code(user),
            max_age=config["RESET_TOKEN_MAX_AGE"],
        )
    elif row.kind == "email_change_confirm":
        new_email = payload["new_email"]
        token = change_email.make_token(user, new_email, payload["version"])
        context.update(
            link=confirm_link(token, lang),
            code=change_email.make_code(user, new_email, payload["version"]),
            new_email=new_email,
            max_age=config["CONFIRM_TOKEN_MAX_AGE"],
        )
    elif row.kind == "email_change_notice":
        token = revert_email.make_token(user, payload["old_email"], payload["new_email"])
        context.update(
            revert_link=revert_link(token, lang),
            new_email=payload["new_email"],
            max_age=config["EMAIL_REVERT_TOKEN_MAX_AGE"],
        )
    if "max_age" in context:
        context["valid_for"] = format_duration(context.pop("max_age"))
    if "code" in context:
        context["code_valid_for"] = format_duration(codes.valid_for())
    return context


def _resolve_recipient(row: OutboxEmail) -> User:
    """The account an address-only row is for; the mail goes to its stored spelling."""
    user = db.session.scalar(select(User).where(User.email_key == email_key(row.recipient)))
    if user is None or not ADDRESS_RESOLVED_KINDS[row.kind](user):
        raise NothingToSend(f"no account that a {row.kind} email applies to")
    return user


def compose(row: OutboxEmail) -> Mail:
    """Build the message for an outbox row: subject, text and HTML parts, its fixed Message-ID."""
    if row.kind not in KINDS:
        raise PermanentFailure(f"unknown email kind {row.kind!r}")
    recipient = row.recipient
    if row.user_id is None and row.kind in ADDRESS_RESOLVED_KINDS:
        user = _resolve_recipient(row)
        # The stored spelling of the address, which the token is bound to.
        recipient = user.email
    else:
        user = db.session.get(User, row.user_id) if row.user_id is not None else None
    if user is None and row.kind != "email_taken_notice":
        raise PermanentFailure("the user this email was for no longer exists")
    lang = mail_locale(row, user)
    # Every word in the account's language (the requester's, for a mail with no account).
    with force_locale(lang):
        context = _context(row, user, recipient, lang) | _catalog_functions()
        return Mail(
            subject=str(SUBJECTS[row.kind]),
            sender=current_app.extensions["mail"].default_sender,
            recipient=recipient,
            text=render_template(f"email/{row.kind}.txt", **context),
            html=INLINER.inline(render_template(f"email/{row.kind}.html", **context)),
            message_id=row.message_id,
        )


def _catalog_functions() -> dict:
    """gettext and ngettext for a mail's templates, bound to the current locale's catalog once.

    Flask-Babel's, the Jinja globals, look the catalog up through Flask's context at every call
    (some twenty a mail); these shadow them for one render, wrapped as Jinja wraps the globals.
    """
    translations = get_translations()
    return {
        "gettext": _make_new_gettext(translations.ugettext),
        "ngettext": _make_new_ngettext(translations.ungettext),
    }


def mail_locale(row: OutboxEmail, user: User | None) -> str:
    """The account's language; for an address with no account, the requester's (queued)."""
    wanted = user.locale if user is not None else (row.payload or {}).get("locale")
    return locale_or_default(wanted)


@cache
def _ehlo_name() -> str:
    """The name this host gives in EHLO. smtplib looks it up (socket.getfqdn(), a DNS query on
    many hosts) for every new SMTP connection; it does not change while the process runs."""
    return socket.getfqdn()


class TimeoutConnection(Connection):
    """Flask-Mail's connection with a timeout: a hung server must not hold a sender forever."""

    def configure_host(self) -> smtplib.SMTP:
        timeout = current_app.config["MAIL_TIMEOUT"]
        state = self.mail
        smtp = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp(state.server, state.port, timeout=timeout, local_hostname=_ehlo_name())
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        # Once DATA is accepted the message is sent: a QUIT that fails or times out must not
        # turn that into an error (and a duplicate on retry), nor hide the error of a failed send.
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()


def mail_backend() -> str:
    config = current_app.config
    return config.get("MAIL_BACKEND") or ("smtp" if config.get("MAIL_SERVER") else "console")


class Transport:
    """One SMTP session for a batch of messages: connect, EHLO and QUIT once, not per message.

    After any failure the session is dropped and the next message opens a new one: a server
    that hung up, or a reply that left the session in doubt, never costs the messages after it.
    """

    def __init__(self, backend: str):
        self.backend = backend
        self.connection: TimeoutConnection | None = None

    def send(self, mail: Mail) -> None:
        if self.backend == "console":
            # Development only: the whole message, link included, so a curl user can copy it.
            log.info("email (console backend, not sent):\n%s", mail.as_bytes().decode())
            return
        if mail.has_bad_headers():
            raise BadHeaderError()
        if self.connection is None:
            self.connection = TimeoutConnection(current_app.extensions["mail"]).__enter__()
        try:
            # What Flask-Mail's Connection.send does with a Message, less its signal (nothing
            # here listens) and its MAIL_MAX_EMAILS reconnection (not a setting of ours).
            if self.connection.host is not None:  # None when MAIL_SUPPRESS_SEND
                self.connection.host.sendmail(
                    _address_header(mail.sender), [mail.to], mail.as_bytes()
                )
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and connection.host is not None:
            # Closed, not QUIT: after a failure the server may not answer any more.
            connection.host.close()

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.__exit__(None, None, None)


@contextmanager
def transport() -> Iterator[Transport]:
    """A Transport for the configured backend, its session closed (QUIT) when the block ends."""
    sender = Transport(mail_backend())
    try:
        yield sender
    finally:
        sender.close()
