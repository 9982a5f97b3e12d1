"""Fixtures: a new app per test on each database engine, a real SMTP server, a user factory."""

import os
import uuid

import pytest
import sqlalchemy as sa

from app import create_app, outbox
from app.extensions import db, limiter
from tests.support.smtp import SMTPServer

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# Set by .ci/run: there a missing service is a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
ENGINES = ["sqlite", "postgresql"]


def _postgres_skip_reason() -> str | None:
    if not TEST_DATABASE_URL:
        return "PostgreSQL runs need TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        engine = sa.create_engine(TEST_DATABASE_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"PostgreSQL at TEST_DATABASE_URL is unreachable ({type(error).__name__})"
    return None


_POSTGRES_SKIP = _postgres_skip_reason()


def skip_or_fail(reason: str | None) -> None:
    """Skip a test whose service is missing, or fail it where services are required (CI)."""
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"required service missing: {reason}")
        pytest.skip(reason)


class Database:
    """One isolated database for one test: an SQLite file, or a PostgreSQL schema of its own."""

    def __init__(self, engine: str, tmp_path):
        self.engine = engine
        self.schema = None
        if engine == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'test.db'}"
        else:
            skip_or_fail(_POSTGRES_SKIP)
            self.schema = f"t_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(TEST_DATABASE_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            separator = "&" if "?" in TEST_DATABASE_URL else "?"
            self.url = f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{self.schema}"

    def drop(self) -> None:
        if self.schema:
            admin = sa.create_engine(TEST_DATABASE_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(params=ENGINES)
def database(request, tmp_path):
    database = Database(request.param, tmp_path)
    yield database
    database.drop()


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_factory(database, smtp_server):
    """Make apps on the test's database and SMTP server; create the schema once."""
    made = []

    def make(**overrides):
        config = {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "RATELIMIT_ENABLED": False,
            **overrides,
        }
        app = create_app("testing", config)
        made.append(app)
        if len(made) == 1:
            with app.app_context():
                db.create_all()
        return app

    yield make
    for app in made:
        outbox.shutdown(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    # The Limiter is module-level: forget this test's counts before the next test.
    for app in made:
        if app.config["RATELIMIT_ENABLED"]:
            with app.app_context():
                limiter.reset()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def production_client(app_factory):
    """A client of an app that handles errors as production does: a 500, not a test error."""
    return app_factory(TESTING=False, PROPAGATE_EXCEPTIONS=False).test_client()


def _redis_skip_reason(url: str | None) -> str | None:
    if not url:
        return "Redis tests need TEST_REDIS_URL=redis://127.0.0.1:6379/<db>"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at TEST_REDIS_URL is unreachable ({type(error).__name__})"
    return None


@pytest.fixture
def redis_url():
    """TEST_REDIS_URL, its database emptied before and after the test (its own db number)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL")
    skip_or_fail(_redis_skip_reason(url))
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    # Counts and tasks an earlier test (or a killed worker) left behind must not reach this one.
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def _rabbitmq_skip_reason(url: str | None) -> str | None:
    if not url:
        return "RabbitMQ tests need TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672//"
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"RabbitMQ at TEST_RABBITMQ_URL is unreachable ({type(error).__name__})"
    return None


@pytest.fixture
def rabbitmq_url():
    """TEST_RABBITMQ_URL; tests use queues of their own there (no flush: the vhost is shared)."""
    url = os.environ.get("TEST_RABBITMQ_URL")
    skip_or_fail(_rabbitmq_skip_reason(url))
    return url


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user directly in the database: confirmed unless told otherwise."""
    from app import passwords
    from app.addresses import email_key, normalize_email
    from app.models import User
    from app.timeutil import utcnow

    def make(email="owner@example.com", password="correct horse battery", confirmed=True):
        with app.app_context():
            normalized = normalize_email(email)
            user = User(
                email=normalized,
                email_key=email_key(normalized),
                password_hash=passwords.hash_password(password),
                confirmed_at=utcnow() if confirmed else None,
            )
            db.session.add(user)
            db.session.commit()
            return user.id

    return make


# --- Per-engine counts in the terminal summary, so a CI log shows PostgreSQL really ran ---

_ENGINE_OF_TEST: dict[str, str] = {}


# Markers that say what a test needs, applied from the fixtures it uses, so that for example
# `pytest -m "not live_server and not postgresql"` is a quick inner loop. Modules that start
# servers themselves declare `live_server` (or `browser`) in their pytestmark.
MARKER_OF_FIXTURE = {"redis_url": "redis", "rabbitmq_url": "rabbitmq", "browser": "browser"}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("database") if callspec else None
        if engine in ENGINES:
            _ENGINE_OF_TEST[item.nodeid] = engine
        if engine == "postgresql":
            item.add_marker("postgresql")
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)
        if item.get_closest_marker("slow"):
            # Timing comparisons and fault injection measure a shared 2-core machine: one
            # more try, reported as a rerun, before a failure counts. A real fault fails twice.
            item.add_marker(pytest.mark.flaky(reruns=1))


_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def pytest_terminal_summary(terminalreporter):
    counts = {engine: dict.fromkeys(_OUTCOMES, 0) for engine in ENGINES}
    for outcome in _OUTCOMES:
        for report in terminalreporter.stats.get(outcome, []):
            engine = _ENGINE_OF_TEST.get(getattr(report, "nodeid", None))
            if engine:
                counts[engine][outcome] += 1
    parts = []
    for engine, by_outcome in counts.items():
        # passed and skipped always, so that "postgresql 0 passed, 170 skipped" cannot hide.
        shown = [
            f"{n} {outcome}"
            for outcome, n in by_outcome.items()
            if n or outcome in ("passed", "skipped")
        ]
        parts.append(f"{engine} " + ", ".join(shown))
    # Prefixed on purpose: a bare "N passed, N failed" line reads as pytest's own closing line.
    terminalreporter.write_line("database engines: " + "; ".join(parts))
