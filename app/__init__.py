"""The application factory."""

import base64
import binascii
import logging
import os
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
    backend = config.get("MAIL_BACKEND")
    if backend not in (None, "smtp", "console"):
        raise ConfigError("MAIL_BACKEND must be smtp or console")
    if backend == "smtp" and not config.get("MAIL_SERVER"):
        raise ConfigError("MAIL_BACKEND=smtp needs MAIL_SERVER")
    check_webhook_settings(config)


# Standard Webhooks asks for a key of 24 to 64 random bytes.
MIN_WEBHOOK_SECRET_BYTES = 24


def check_webhook_settings(config) -> None:
    """WEBHOOK_URL and WEBHOOK_SECRET come together, well formed; the secret is never echoed."""
    url, secret = config.get("WEBHOOK_URL"), config.get("WEBHOOK_SECRET")
    if bool(url) != bool(secret):
        # Half a configuration would either send unsigned events or silently send none.
        raise ConfigError("WEBHOOK_URL and WEBHOOK_SECRET must be set together")
    timeout = config.get("WEBHOOK_TIMEOUT")
    if not isinstance(timeout, int) or timeout <= 0:
        raise ConfigError("WEBHOOK_TIMEOUT must be a positive number of seconds")
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("WEBHOOK_URL must be an absolute http(s) URL")
    prefix = "whsec_"
    try:
        key = base64.b64decode(secret.removeprefix(prefix), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not secret.startswith(prefix) or len(key) < MIN_WEBHOOK_SECRET_BYTES:
        raise ConfigError(
            f"WEBHOOK_SECRET must be {prefix} followed by the base64 of at least "
            f"{MIN_WEBHOOK_SECRET_BYTES} random bytes"
        )


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
        models,  # noqa: F401  (the models must be known to Alembic and create_all)
        outbox,
    )
    from .extensions import db, limiter, mail, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        render_as_batch=True,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
    )
    mail.init_app(app)
    limiter.init_app(app)
    outbox.init_app(app)


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
