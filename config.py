"""Configuration classes: every setting is read from the environment, parsed strictly."""

import os


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean; only true/false/1/0/yes/no are accepted, so "flase" is an error, not True."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int | None) -> int | None:
    """Read an integer setting."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None


def env_str(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


def env_list(name: str) -> list[str]:
    raw = os.environ.get(name) or ""
    return [item.strip() for item in raw.split(",") if item.strip()]


# A known value that development uses; outside development it is refused at start-up.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 32


class Config:
    ENV_NAME = "production"
    TESTING = False
    DEBUG = False

    # --- Keys and tokens ---
    SECRET_KEY = env_str("SECRET_KEY")
    SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
    CONFIRM_TOKEN_MAX_AGE = env_int("CONFIRM_TOKEN_MAX_AGE", 24 * 3600)
    RESET_TOKEN_MAX_AGE = env_int("RESET_TOKEN_MAX_AGE", 3600)
    EMAIL_REVERT_TOKEN_MAX_AGE = env_int("EMAIL_REVERT_TOKEN_MAX_AGE", 7 * 24 * 3600)
    ACCESS_TOKEN_MAX_AGE = env_int("ACCESS_TOKEN_MAX_AGE", 3600)

    # --- Database ---
    # None means: an SQLite file in the instance folder (filled in by create_app).
    SQLALCHEMY_DATABASE_URI = env_str("DATABASE_URL")
    # pre_ping: a connection killed server-side is replaced, not handed to a request.
    # hide_parameters: a logged database error never carries an email or a password hash.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    # --- Public links ---
    PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    CONFIRM_URL_TEMPLATE = env_str("CONFIRM_URL_TEMPLATE")
    RESET_URL_TEMPLATE = env_str("RESET_URL_TEMPLATE")
    APP_NAME = env_str("APP_NAME", "Account service")

    # --- Registration behaviour ---
    PREVENT_ENUMERATION = env_bool("PREVENT_ENUMERATION", True)
    CONFIRM_ON_GET = env_bool("CONFIRM_ON_GET", False)

    # --- Passwords (Argon2id; OWASP minimum by default) ---
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 2)
    ARGON2_MEMORY_COST = env_int("ARGON2_MEMORY_COST", 19 * 1024)
    ARGON2_PARALLELISM = env_int("ARGON2_PARALLELISM", 1)

    # --- Mail ---
    MAIL_SERVER = env_str("MAIL_SERVER")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = env_str("MAIL_USERNAME")
    MAIL_PASSWORD = env_str("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = env_str("MAIL_DEFAULT_SENDER", "no-reply@example.com")
    MAIL_BACKEND = env_str("MAIL_BACKEND")  # smtp or console; console when no MAIL_SERVER
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)

    # --- Outbox delivery ---
    OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
    OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600)
    OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 30)
    OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120)
    # SMTP sessions a web process's dispatcher sends over at once (1 to 64): a relay that
    # takes 500 ms a mail still keeps up with sign-ups at the Argon2 rate.
    OUTBOX_SMTP_SESSIONS = env_int("OUTBOX_SMTP_SESSIONS", 8)
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
    # Off only in tests that drive delivery by hand.
    OUTBOX_AUTODISPATCH = True

    # --- HTTP ---
    MAX_CONTENT_LENGTH = 64 * 1024
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)
    CORS_ORIGINS = env_list("CORS_ORIGINS")

    # --- Rate limits (Flask-Limiter) ---
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # A storage error is never a 500: a lost limiter must not take sign-up down.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_REGISTER = env_str("RATELIMIT_REGISTER", "10/minute;100/hour")
    RATELIMIT_LOGIN = env_str("RATELIMIT_LOGIN", "10/minute;100/hour")
    RATELIMIT_EMAIL_SEND = env_str("RATELIMIT_EMAIL_SEND", "5/minute;30/hour")
    RATELIMIT_PER_ADDRESS = env_str("RATELIMIT_PER_ADDRESS", "5/minute;20/hour")
    # /password/reset hashes a password per request: bounded like sign-in.
    RATELIMIT_PASSWORD_RESET = env_str("RATELIMIT_PASSWORD_RESET", "10/minute;100/hour")
    # Failed sign-ins per address: NIST SP 800-63B caps them at 100 before a lock-out.
    RATELIMIT_LOGIN_PER_ADDRESS = env_str("RATELIMIT_LOGIN_PER_ADDRESS", "10/minute;100/hour")
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
    # Cheap hashing keeps the suite fast; production parameters are tested separately.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    PROXY_FIX_X_FOR = 0
    CORS_ORIGINS: list[str] = []


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
        raise ValueError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
