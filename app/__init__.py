"""The application factory."""

import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from config import DEVELOPMENT_SECRET_KEY, MIN_SECRET_KEY_LENGTH, config_for


class ConfigError(RuntimeError):
    """A setting that makes the service unsafe or unable to run; the message says which."""


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config_name, overrides)
    check_settings(app)
    configure_logging()
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
    # Flask-Mail would otherwise suppress every send under TESTING; we have the console backend.
    app.config.setdefault("MAIL_SUPPRESS_SEND", False)


def check_settings(app: Flask) -> None:
    """Refuse to start with a setting that is missing, unsafe or malformed."""
    config = app.config
    env = config["ENV_NAME"]
    key = config.get("SECRET_KEY")
    if env not in ("development", "testing"):
        if not key:
            raise ConfigError("SECRET_KEY is required outside development and testing")
        if key == DEVELOPMENT_SECRET_KEY:
            raise ConfigError("SECRET_KEY is the development default; set a secret one")
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
    base = urlsplit(config.get("PUBLIC_BASE_URL") or "")
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ConfigError("PUBLIC_BASE_URL must be an absolute http(s) URL")
    for name in ("CONFIRM_URL_TEMPLATE", "RESET_URL_TEMPLATE"):
        template = config.get(name)
        if template and "{token}" not in template:
            raise ConfigError(f"{name} must contain {{token}}")
    sessions = config.get("OUTBOX_SMTP_SESSIONS")
    if not isinstance(sessions, int) or not 1 <= sessions <= 64:
        raise ConfigError("OUTBOX_SMTP_SESSIONS must be a whole number from 1 to 64")
    backend = config.get("MAIL_BACKEND")
    if backend not in (None, "smtp", "console"):
        raise ConfigError("MAIL_BACKEND must be smtp or console")
    if backend == "smtp" and not config.get("MAIL_SERVER"):
        raise ConfigError("MAIL_BACKEND=smtp needs MAIL_SERVER")


def configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    elif root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # At INFO/DEBUG SQLAlchemy logs bound parameters and rows: emails and password hashes.
    # A DEBUG root logger must not turn that on; SQLALCHEMY_ECHO still can, deliberately.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def init_extensions(app: Flask) -> None:
    from . import (
        database,
        models,  # noqa: F401  (the models must be known to Alembic and create_all)
    )
    from .extensions import db, limiter, mail

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
    limiter.init_app(app)
    if app.config.get("CELERY_BROKER_URL"):
        from .tasks import celery_init_app

        celery_init_app(app)
    else:
        from .outbox import dispatcher_for

        dispatcher = dispatcher_for(app)
        # Also sweeps for retries that fall due, so start it with the first request.
        app.before_request(dispatcher.start)


def register_error_handlers(app: Flask) -> None:
    from .errors import register_error_handlers as register

    register(app)


def register_http(app: Flask) -> None:
    from .http import register_http_hooks

    register_http_hooks(app)


def register_api(app: Flask) -> None:
    from .api import register_api as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register_cli

    register_cli(app)
