"""Configuration classes: every setting is read from the environment and checked as it is read.

Each read declares its own rule (`env_int("MAIL_PORT", 25, min=1, max=65535)`). A value that
breaks it is not raised at import, where it would end in a traceback: it is noted in PROBLEMS
and the default is used meanwhile; create_app() then refuses to start with one line naming
every faulty variable (see app.check_settings).
"""

import base64
import binascii
import os
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from limits import parse_many
from limits.storage import SCHEMES


class ConfigError(RuntimeError):
    """A setting that makes the service unsafe or unable to run; the message names it."""


# Variable name -> why its value was refused, filled while the classes below are read.
PROBLEMS: dict[str, str] = {}


def _raw(name: str) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip()


def _refuse(name: str, why: str, default):
    PROBLEMS.setdefault(name, f"{name} {why}")
    return default


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean; only true/false/1/0/yes/no/on/off, so "flase" is an error, not True."""
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return _refuse(name, f"must be true or false, not {raw!r}", default)


def env_int(name: str, default: int, *, min: int | None = None, max: int | None = None) -> int:
    """Read a whole number within [min, max]."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return _refuse(name, f"must be a whole number, not {raw!r}", default)
    if (min is not None and value < min) or (max is not None and value > max):
        bounds = f"from {min} to {max}" if max is not None else f"at least {min}"
        return _refuse(name, f"must be {bounds}, not {value}", default)
    return value


def env_str(
    name: str,
    default: str | None = None,
    *,
    choices: Iterable[str] | None = None,
    check: Callable[[str], str | None] | None = None,
) -> str | None:
    """Read a string; `choices` lists the accepted values, `check` returns why one is refused.

    A `check` message must not quote the value: it may be a secret.
    """
    raw = _raw(name)
    if raw is None:
        return default
    if choices is not None and raw not in choices:
        return _refuse(name, f"must be one of {', '.join(choices)}, not {raw!r}", default)
    if check is not None and (why := check(raw)):
        return _refuse(name, why, default)
    return raw


def env_list(name: str, *, choices: Iterable[str] | None = None) -> list[str]:
    """Read a comma-separated list."""
    items = [item.strip() for item in (os.environ.get(name) or "").split(",") if item.strip()]
    if choices is not None and (unknown := [item for item in items if item not in choices]):
        return _refuse(name, f"may only hold {', '.join(choices)}, not {unknown[0]!r}", [])
    return items


def env_url(name: str, default: str | None = None, *, schemes=("http", "https")) -> str | None:
    """Read an absolute URL with one of the given schemes."""

    def absolute(value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            return f"must be an absolute {'/'.join(schemes)} URL"
        return None

    return env_str(name, default, check=absolute)


def env_limit(name: str, default: str) -> str:
    """Read a rate limit ("10/minute;100/hour") with Flask-Limiter's own parser.

    Flask-Limiter drops a limit it cannot parse at request time, with only a log line: the
    endpoint would run unlimited. So a typo ("10/minit") stops the start instead.
    """

    def parses(value: str) -> str | None:
        try:
            parse_many(value)
        except ValueError:
            return f"is not a rate limit like 10/minute;100/hour: {value!r}"
        return None

    return env_str(name, default, check=parses)


def _limits_storage(value: str) -> str | None:
    scheme = urlsplit(value).scheme
    if scheme.startswith("async+") or scheme not in SCHEMES:
        return "must be a storage URI such as memory:// or redis://host:6379/0"
    return None


def _at_least(length: int) -> Callable[[str], str | None]:
    return lambda value: None if len(value) >= length else f"must be at least {length} characters"


# Standard Webhooks asks for a key of 24 to 64 random bytes.
MIN_WEBHOOK_SECRET_BYTES = 24


def webhook_secret_problem(value: str) -> str | None:
    """Why a WEBHOOK_SECRET is refused, never quoting it: it must be whsec_ + base64 of a key."""
    prefix = "whsec_"
    try:
        key = base64.b64decode(value.removeprefix(prefix), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not value.startswith(prefix) or len(key) < MIN_WEBHOOK_SECRET_BYTES:
        return (
            f"must be {prefix} followed by the base64 of at least "
            f"{MIN_WEBHOOK_SECRET_BYTES} random bytes"
        )
    return None


# A known value that development uses; outside development it is refused at start-up.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16
SECONDS_PER_DAY = 24 * 3600


class Config:
    ENV_NAME = "production"
    TESTING = False
    DEBUG = False

    # --- Keys and tokens ---
    SECRET_KEY = env_str("SECRET_KEY")
    SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
    CONFIRM_TOKEN_MAX_AGE = env_int("CONFIRM_TOKEN_MAX_AGE", SECONDS_PER_DAY, min=1)
    RESET_TOKEN_MAX_AGE = env_int("RESET_TOKEN_MAX_AGE", 3600, min=1)
    EMAIL_REVERT_TOKEN_MAX_AGE = env_int("EMAIL_REVERT_TOKEN_MAX_AGE", 7 * SECONDS_PER_DAY, min=1)
    ACCESS_TOKEN_MAX_AGE = env_int("ACCESS_TOKEN_MAX_AGE", 3600, min=1)

    # --- Verification codes (mailed beside confirmation and reset links) ---
    VERIFICATION_CODE_LENGTH = env_int("VERIFICATION_CODE_LENGTH", 6, min=6, max=10)  # digits
    VERIFICATION_CODE_MAX_AGE = env_int("VERIFICATION_CODE_MAX_AGE", 3600, min=1)
    # Wrong codes per address in 15 minutes before its codes die (20 a day at most, always).
    VERIFICATION_CODE_MAX_ATTEMPTS = env_int("VERIFICATION_CODE_MAX_ATTEMPTS", 5, min=1, max=20)

    # --- Database ---
    # None means: an SQLite file in the instance folder (filled in by create_app).
    SQLALCHEMY_DATABASE_URI = env_str("DATABASE_URL")
    # pre_ping: a connection killed server-side is replaced, not handed to a request.
    # hide_parameters: a logged database error never carries an email or a password hash.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    # --- Public links ---
    PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    CONFIRM_URL_TEMPLATE = env_str("CONFIRM_URL_TEMPLATE")
    RESET_URL_TEMPLATE = env_str("RESET_URL_TEMPLATE")
    APP_NAME = env_str("APP_NAME", "Account service")

    # --- Languages ---
    # English is the source language (the message ids); every other one needs a catalog
    # in app/translations/. A third language is a catalog and an entry here, nothing else.
    DEFAULT_LOCALE = env_str("DEFAULT_LOCALE", "en")
    SUPPORTED_LOCALES = env_list("SUPPORTED_LOCALES") or ["en", "ko"]

    # --- Registration behaviour ---
    PREVENT_ENUMERATION = env_bool("PREVENT_ENUMERATION", True)
    CONFIRM_ON_GET = env_bool("CONFIRM_ON_GET", False)

    # --- Passwords (Argon2id; OWASP minimum by default) ---
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 2, min=1)
    # KiB; argon2 needs at least 8 per lane (checked against ARGON2_PARALLELISM at start).
    ARGON2_MEMORY_COST = env_int("ARGON2_MEMORY_COST", 19 * 1024, min=8)
    ARGON2_PARALLELISM = env_int("ARGON2_PARALLELISM", 1, min=1, max=255)

    # --- Mail ---
    MAIL_SERVER = env_str("MAIL_SERVER")
    MAIL_PORT = env_int("MAIL_PORT", 25, min=1, max=65535)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = env_str("MAIL_USERNAME")
    MAIL_PASSWORD = env_str("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = env_str("MAIL_DEFAULT_SENDER", "no-reply@example.com")
    # console when unset and no MAIL_SERVER
    MAIL_BACKEND = env_str("MAIL_BACKEND", choices=("smtp", "console"))
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10, min=1)

    # --- Outbox delivery ---
    OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8, min=1)
    OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30, min=1)
    OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600, min=1)
    # 0 would make the dispatcher spin.
    OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 30, min=1)
    # Must outlast one SMTP exchange (MAIL_TIMEOUT): checked in check_settings.
    OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120, min=1)
    # SMTP sessions a web process's dispatcher sends over at once (only as many as it has mails
    # for): a relay that takes 500 ms a mail still keeps up with sign-ups at the Argon2 rate.
    OUTBOX_SMTP_SESSIONS = env_int("OUTBOX_SMTP_SESSIONS", 16, min=1, max=64)
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
    # Several deployments can share one broker (or vhost) with a queue each.
    CELERY_QUEUE = env_str("CELERY_QUEUE", "celery")
    # Off only in tests that drive delivery by hand.
    OUTBOX_AUTODISPATCH = True

    # --- Operations ---
    LOG_FORMAT = env_str("LOG_FORMAT", "text", choices=("text", "json"))
    # Unset: no /metrics. Compared in constant time; long enough not to be guessed.
    METRICS_TOKEN = env_str("METRICS_TOKEN", check=_at_least(MIN_METRICS_TOKEN_LENGTH))

    # --- Webhooks (events for other services) ---
    # Both unset: no events are queued. Both set: every lifecycle event is POSTed, signed.
    # Set together (checked in check_settings, with the values overrides may bring).
    WEBHOOK_URL = env_url("WEBHOOK_URL")
    WEBHOOK_SECRET = env_str("WEBHOOK_SECRET", check=webhook_secret_problem)
    WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10, min=1)

    # --- HTTP ---
    MAX_CONTENT_LENGTH = 64 * 1024
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0, min=0, max=10)
    CORS_ORIGINS = env_list("CORS_ORIGINS")

    # --- Rate limits (Flask-Limiter) ---
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://", check=_limits_storage)
    RATELIMIT_HEADERS_ENABLED = True
    # A storage error is never a 500: a lost limiter must not take sign-up down.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_REGISTER = env_limit("RATELIMIT_REGISTER", "10/minute;100/hour")
    RATELIMIT_LOGIN = env_limit("RATELIMIT_LOGIN", "10/minute;100/hour")
    RATELIMIT_EMAIL_SEND = env_limit("RATELIMIT_EMAIL_SEND", "5/minute;30/hour")
    RATELIMIT_PER_ADDRESS = env_limit("RATELIMIT_PER_ADDRESS", "5/minute;20/hour")
    # /password/reset hashes a password per request: bounded like sign-in.
    RATELIMIT_PASSWORD_RESET = env_limit("RATELIMIT_PASSWORD_RESET", "10/minute;100/hour")
    # POST /confirm/code per client IP (the per-address guess cap is in the database).
    RATELIMIT_CONFIRM_CODE = env_limit("RATELIMIT_CONFIRM_CODE", "10/minute;100/hour")
    # Failed sign-ins per address: NIST SP 800-63B caps them at 100 before a lock-out.
    RATELIMIT_LOGIN_PER_ADDRESS = env_limit("RATELIMIT_LOGIN_PER_ADDRESS", "10/minute;100/hour")
    # Redis unreachable: the same limits, counted per process in memory (never a 500).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # redis-py options (memory:// ignores them): a blackholed Redis must not hang requests.
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False  # the debugger would print HTML tracebacks; the API answers JSON only
    SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-long-enough-for-the-checks-0123456789"
    SECRET_KEY_FALLBACKS: list[str] = []
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PUBLIC_BASE_URL = "http://testserver.example"
    CONFIRM_URL_TEMPLATE = None
    RESET_URL_TEMPLATE = None
    PREVENT_ENUMERATION = True
    CONFIRM_ON_GET = False
    MAIL_SERVER = None
    MAIL_BACKEND = "console"
    MAIL_TIMEOUT = 5
    CELERY_BROKER_URL = None
    WEBHOOK_URL = None
    WEBHOOK_SECRET = None
    WEBHOOK_TIMEOUT = 10
    # Cheap hashing keeps the suite fast; production parameters are tested separately.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    PROXY_FIX_X_FOR = 0
    CORS_ORIGINS: list[str] = []
    DEFAULT_LOCALE = "en"
    SUPPORTED_LOCALES = ["en", "ko"]


class ProductionConfig(Config):
    ENV_NAME = "production"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None) -> type[Config]:
    """The class for APP_ENV; production unless told otherwise, so forgetting fails safe."""
    name = (name or os.environ.get("APP_ENV") or "production").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
