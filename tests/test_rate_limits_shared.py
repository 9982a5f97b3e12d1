"""Limits across processes: shared through the real Redis, and never a 500 when Redis is gone."""

import pytest
import requests

from tests.support.server import LiveServer
from tests.support.smtp import free_port

LIMITED = {"RATELIMIT_ENABLED": "true", "RATELIMIT_EMAIL_SEND": "4/minute"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.live_server,
    # The limiter does not care about the database engine: SQLite alone keeps this quick.
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]


def resend(server, n):
    return requests.post(
        f"{server.url}/confirm/resend", json={"email": f"u{n}@example.com"}, timeout=10
    )


def statuses_alternating(first, second, count):
    return [resend(first if n % 2 == 0 else second, n).status_code for n in range(count)]


def test_two_processes_share_one_budget_through_redis(
    app_factory, database, smtp_server, redis_url
):
    app_factory()  # creates the schema
    env = {**LIMITED, "RATELIMIT_STORAGE_URI": redis_url}
    with (
        LiveServer(database.url, smtp_server.port, workers=1, **env) as first,
        LiveServer(database.url, smtp_server.port, workers=1, **env) as second,
    ):
        statuses = statuses_alternating(first, second, 6)
        assert statuses == [202, 202, 202, 202, 429, 429]
        limited = resend(second, 99)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) > 0


def test_memory_storage_counts_per_process(app_factory, database, smtp_server):
    # The control for the test above: without a shared storage each process counts alone.
    app_factory()
    env = {**LIMITED, "RATELIMIT_STORAGE_URI": "memory://"}
    with (
        LiveServer(database.url, smtp_server.port, workers=1, **env) as first,
        LiveServer(database.url, smtp_server.port, workers=1, **env) as second,
    ):
        assert statuses_alternating(first, second, 8) == [202] * 8


def test_unreachable_redis_keeps_answering_with_per_process_limits(
    app_factory, database, smtp_server
):
    app_factory()
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {**LIMITED, "RATELIMIT_STORAGE_URI": nowhere}
    with LiveServer(database.url, smtp_server.port, workers=1, **env) as server:
        statuses = [resend(server, n).status_code for n in range(6)]
        assert health_ok(server)
    # Fail open for availability, but not wide open: the same limits, counted in memory.
    assert statuses == [202, 202, 202, 202, 429, 429]


def health_ok(server) -> bool:
    return requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
