"""The application factory."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from config import (
    DEVELOPMENT_SECRET_KEY,
    MIN_SECRET_KEY_LENGTH,
    PROBLEMS,
    ConfigError,
    config_for,
    webhook_secret_problem,
)

__all__ = ["ConfigError", "create_app"]


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config_name, overrides)
    check_settings(app)
    configure_logging(app)
    init_extensions(app)
    register_error_handlers(app)
    register_http(app)
    register_api(app)
    register_commands(app)
    return app


def load_config(app: Flask, config_name: str | None, overrides: dict | None) -> None:
    app.config.from_object(config_for(config_name))
    app.config.update(overrides or {})
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{os.path.join(app.instance_path, 'app.db')}"
        )
    # JSON is UTF-8: Korean messages go out as written, not as \uXXXX escapes that a person
    # reading curl's output cannot read. Flask-RESTful reads this for success answers, Flask's
    # provider writes the errors. A dict of this app's own: Flask-RESTful adds to it in debug.
    app.config["RESTFUL_JSON"] = {"ensure_ascii": False}
    app.json.ensure_ascii = False
    # Flask-Babel reads its own names; ours are the ones the README documents.
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    # Flask-Mail would otherwise suppress every send under TESTING; we have the console backend.
    app.config.setdefault("MAIL_SUPPRESS_SEND", False)


def check_settings(app: Flask) -> None:
    """Refuse to start with a setting that is missing, unsafe or malformed: one line names all."""
    problems = dict(PROBLEMS)  # values refused as config.py read them
    for name, why in _cross_checks(app.config):
        problems.setdefault(name, why)
    if problems:
        raise ConfigError("; ".join(problems.values()))


def _cross_checks(config) -> list[tuple[str, str]]:
    """Rules that involve the final config (overrides included) or several settings at once."""
    found = []
    env = config["ENV_NAME"]
    key = config.get("SECRET_KEY")
    if env not in ("development", "testing"):
        if not key:
            found.append(("SECRET_KEY", "SECRET_KEY is required outside development and testing"))
        elif key == DEVELOPMENT_SECRET_KEY:
            found.append(("SECRET_KEY", "SECRET_KEY is the development default; set a secret one"))
        elif len(key) < MIN_SECRET_KEY_LENGTH:
            found.append(
                ("SECRET_KEY", f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
            )
    base = urlsplit(config.get("PUBLIC_BASE_URL") or "")
    if base.scheme not in ("http", "https") or not base.netloc:
        found.append(("PUBLIC_BASE_URL", "PUBLIC_BASE_URL must be an absolute http(s) URL"))
    for name in ("CONFIRM_URL_TEMPLATE", "RESET_URL_TEMPLATE"):
        template = config.get(name)
        if template and "{token}" not in template:
            found.append((name, f"{name} must contain {{token}}"))
    sessions = config.get("OUTBOX_SMTP_SESSIONS")
    if not isinstance(sessions, int) or not 1 <= sessions <= 64:
        found.append(
            ("OUTBOX_SMTP_SESSIONS", "OUTBOX_SMTP_SESSIONS must be a whole number from 1 to 64")
        )
    backend = config.get("MAIL_BACKEND")
    if backend not in (None, "smtp", "console"):
        found.append(("MAIL_BACKEND", "MAIL_BACKEND must be smtp or console"))
    if backend == "smtp" and not config.get("MAIL_SERVER"):
        found.append(("MAIL_BACKEND", "MAIL_BACKEND=smtp needs MAIL_SERVER"))
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        # STARTTLS on an implicit-TLS connection: every send would fail.
        found.append(("MAIL_USE_SSL", "MAIL_USE_SSL cannot be on together with MAIL_USE_TLS"))
    if config["OUTBOX_LEASE_SECONDS"] <= config["MAIL_TIMEOUT"]:
        # A lease shorter than one SMTP exchange lets a second worker send the same mail.
        found.append(
            ("OUTBOX_LEASE_SECONDS", "OUTBOX_LEASE_SECONDS must be longer than MAIL_TIMEOUT")
        )
    if config["ARGON2_MEMORY_COST"] < 8 * config["ARGON2_PARALLELISM"]:
        found.append(
            ("ARGON2_MEMORY_COST", "ARGON2_MEMORY_COST must be at least 8 x ARGON2_PARALLELISM")
        )
    try:
        make_url(config["SQLALCHEMY_DATABASE_URI"]).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        found.append(("DATABASE_URL", "DATABASE_URL is not a database URL SQLAlchemy can use"))
    found.extend(_webhook_checks(config))
    found.extend(_locale_checks(config))
    return found


def _webhook_checks(config) -> list[tuple[str, str]]:
    url, secret = config.get("WEBHOOK_URL"), config.get("WEBHOOK_SECRET")
    found = []
    if bool(url) != bool(secret):
        # Half a configuration would either send unsigned events or silently send none.
        missing = "WEBHOOK_SECRET" if url else "WEBHOOK_URL"
        found.append((missing, "WEBHOOK_URL and WEBHOOK_SECRET must be set together"))
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            found.append(("WEBHOOK_URL", "WEBHOOK_URL must be an absolute http(s) URL"))
    if secret and (why := webhook_secret_problem(secret)):
        found.append(("WEBHOOK_SECRET", f"WEBHOOK_SECRET {why}"))
    timeout = config.get("WEBHOOK_TIMEOUT")
    if not isinstance(timeout, int) or timeout < 1:
        found.append(("WEBHOOK_TIMEOUT", "WEBHOOK_TIMEOUT must be a whole number of seconds, >= 1"))
    elif url and config["OUTBOX_LEASE_SECONDS"] <= 2 * timeout:
        # Connecting and waiting for the answer each get WEBHOOK_TIMEOUT; a lease that runs
        # out first lets a second worker send the same event.
        found.append(
            (
                "OUTBOX_LEASE_SECONDS",
                "OUTBOX_LEASE_SECONDS must be longer than twice WEBHOOK_TIMEOUT",
            )
        )
    return found


def _locale_checks(config) -> list[tuple[str, str]]:
    """Every supported language has a catalog, and the default is one of them."""
    from .i18n import has_catalog

    supported = config.get("SUPPORTED_LOCALES") or []
    if not supported:
        return [("SUPPORTED_LOCALES", "SUPPORTED_LOCALES must name at least one language")]
    found = [
        (
            "SUPPORTED_LOCALES",
            f"SUPPORTED_LOCALES lists {locale!r}, which has no compiled catalog "
            f"(app/translations/{locale}/LC_MESSAGES/messages.mo)",
        )
        for locale in supported
        if not has_catalog(locale)
    ]
    if config.get("DEFAULT_LOCALE") not in supported:
        found.append(("DEFAULT_LOCALE", "DEFAULT_LOCALE must be one of SUPPORTED_LOCALES"))
    return found


def configure_logging(app: Flask) -> None:
    from .logs import configure_logging as configure

    configure(app.config["LOG_FORMAT"])


def init_extensions(app: Flask) -> None:
    from . import (
        database,
        models,  # noqa: F401  (the models must be known to Alembic and create_all)
        outbox,
    )
    from .api.language import select_locale
    from .extensions import babel, db, limiter, mail

    db.init_app(app)
    database.init_app(app)
    if "gunicorn" not in sys.modules:
        # Only `flask db …` uses Flask-Migrate, and a gunicorn worker never runs it: there
        # Alembic would cost every worker about 11 MB of memory for nothing.
        from flask_migrate import Migrate

        Migrate().init_app(
            app,
            db,
            render_as_batch=True,
            directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        )
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    # Whitespace inside {% trans %} is collapsed, as the extraction (babel.cfg) does.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    limiter.init_app(app)
    outbox.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from .api.pages import error_page
    from .errors import register_error_handlers as register

    # JSON everywhere; a page only for a browser on an emailed-link flow (the api decides who).
    register(app, page_for=error_page)


def register_http(app: Flask) -> None:
    from .http import register_http_hooks

    register_http_hooks(app)


def register_api(app: Flask) -> None:
    from .api import register_api as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register_cli

    register_cli(app)
