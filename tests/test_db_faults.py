"""Database faults, production config: killed connections are replaced, an outage is a 503."""

import uuid

import pytest
import requests
import sqlalchemy as sa

from tests.support.accounts import PASSWORD
from tests.support.server import LiveServer
from tests.support.smtp import free_port

pytestmark = [pytest.mark.slow, pytest.mark.live_server]


def _terminate_connections(admin_url: str, application_name: str) -> int:
    """Kill, server-side, every connection that carries this application_name; return how many."""
    admin = sa.create_engine(admin_url)
    try:
        with admin.connect() as connection:
            return len(
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": application_name},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_requests_succeed_after_the_servers_connections_are_killed(
    app_factory, database, smtp_server
):
    app_factory()  # creates the schema
    # A name of its own, so that only this server's connections are killed.
    name = f"live-{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in database.url else "?"
    server_url = f"{database.url}{separator}application_name={name}"
    with LiveServer(server_url, smtp_server.port, workers=2, threads=4) as server:
        # Fill both workers' pools.
        for _ in range(20):
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200

        assert _terminate_connections(database.url, name) >= 1

        answers = [requests.get(f"{server.url}/healthz", timeout=10) for _ in range(20)]
        assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
        registered = requests.post(
            f"{server.url}/register",
            json={"email": "ann@example.com", "password": PASSWORD},
            timeout=10,
        )
        assert registered.status_code == 202, registered.text


def test_an_unreachable_database_answers_json_503s(smtp_server):
    # Nothing listens on this loopback port: every connection attempt is refused at once.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2"
    with LiveServer(url, smtp_server.port, workers=1, threads=2) as server:
        health = requests.get(f"{server.url}/healthz", timeout=10)
        registered = requests.post(
            f"{server.url}/register",
            json={"email": "ann@example.com", "password": PASSWORD},
            timeout=10,
        )

    assert health.status_code == 503
    assert health.headers["Content-Type"] == "application/json"
    assert health.json()["database"] == "unavailable"
    assert health.json()["error"]["code"] == "service_unavailable"

    assert registered.status_code == 503
    assert registered.headers["Content-Type"] == "application/json"
    assert registered.json()["error"]["code"] == "service_unavailable"
    assert set(registered.json()) == {"error"}
    assert "Traceback" not in registered.text and "psycopg" not in registered.text
