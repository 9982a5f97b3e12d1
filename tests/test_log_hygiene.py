"""The log of a whole flow never holds an address, a password, a hash, a token or the key.

In both formats: text (checked in this process, every logger at DEBUG) and LOG_FORMAT=json
(checked on a real gunicorn's output, where every line must also be one JSON object).
"""

import json
import logging
import time

import pytest
import requests

from app.extensions import db
from app.models import User
from tests.support.accounts import PASSWORD
from tests.support.server import TEST_SECRET_KEY, LiveServer
from tests.support.smtp import token_in
from tests.support.waiting import wait_until

ADDRESS = "ann@example.com"
WRONG_PASSWORD = "wrong horse battery"


def assert_no_secret(text: str, *, password_hash: str, tokens: dict[str, str], key: str) -> None:
    secrets = {
        "address": ADDRESS,
        "address's local part": "ann@",
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "hash": password_hash,
        "hash prefix": "$argon2id$",
        "SECRET_KEY": key,
    }
    for what, token in tokens.items():
        secrets[what] = token
        secrets[f"{what} signature"] = token.rsplit(".", 1)[-1]
    for what, secret in secrets.items():
        assert secret not in text, f"the log holds the {what}"


def test_a_whole_flow_logs_no_secret(app_factory, smtp_server, caplog):
    # The limiter on too, so that its log lines (which name the client key) are searched.
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN_PER_ADDRESS="1/minute")
    # Every logger at DEBUG, as an operator chasing a problem would set it; SQLAlchemy's
    # engine logger stays pinned by the app (rows hold hashes), and that pin is checked here.
    assert logging.getLogger("sqlalchemy.engine").level == logging.WARNING
    caplog.set_level(logging.DEBUG)
    for name in ("flask-limiter", "app", "werkzeug", "flask.app", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)
    client = app.test_client()
    credentials = {"email": ADDRESS, "password": PASSWORD}

    assert client.post("/register", json=credentials).status_code == 202
    confirmation = token_in(smtp_server.wait_for(1)[0])
    assert client.post("/confirm", json={"token": confirmation}).status_code == 200
    login = client.post("/login", json=credentials)
    access = login.json["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert client.get("/me", headers=bearer).status_code == 200
    bad = {**credentials, "password": WRONG_PASSWORD}
    assert client.post("/login", json=bad).status_code == 401
    assert client.post("/login", json=bad).status_code == 429
    assert client.get(f"/{ADDRESS}").status_code == 404  # a path is whatever a client typed
    with app.app_context():
        password_hash = db.session.scalar(db.select(User.password_hash))
    # The server has the mail a moment before the dispatcher marks the row sent and logs it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
        "outbox row 1 sent" in record.getMessage() for record in caplog.records
    ):
        time.sleep(0.02)

    text = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    # The flow did log (delivery, the limiter): an empty capture would prove nothing.
    assert "outbox row 1 sent" in text and "exceeded" in text
    assert_no_secret(
        text,
        password_hash=password_hash,
        tokens={"confirmation token": confirmation, "access token": access},
        key=app.config["SECRET_KEY"],
    )


REQUIRED_FIELDS = {"time", "level", "logger", "message"}
REQUEST_FIELDS = {"method", "path", "status", "duration_ms", "request_id"}


@pytest.mark.slow
@pytest.mark.live_server
def test_json_logs_are_one_object_per_line_and_hold_no_secret(
    app_factory, database, smtp_server, tmp_path
):
    app = app_factory()  # creates the schema
    log_path = tmp_path / "server.log"
    settings = {
        "LOG_FORMAT": "json",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_LOGIN_PER_ADDRESS": "1/minute",
    }
    # One worker: with memory:// rate-limit storage each worker would count the sign-ins alone.
    with LiveServer(
        database.url, smtp_server.port, workers=1, log_path=log_path, **settings
    ) as server:

        def post(path, **body):
            return requests.post(f"{server.url}{path}", json=body, timeout=10)

        credentials = {"email": ADDRESS, "password": PASSWORD}
        assert post("/register", **credentials).status_code == 202
        confirmation = token_in(smtp_server.wait_for(1)[0])
        assert requests.get(f"{server.url}/confirm?token={confirmation}", timeout=10).ok
        assert post("/confirm", token=confirmation).status_code == 200
        access = post("/login", **credentials).json()["access_token"]
        me = requests.get(
            f"{server.url}/me", headers={"Authorization": f"Bearer {access}"}, timeout=10
        )
        assert me.status_code == 200
        assert post("/login", email=ADDRESS, password=WRONG_PASSWORD).status_code == 401
        assert post("/login", email=ADDRESS, password=WRONG_PASSWORD).status_code == 429
        assert requests.get(f"{server.url}/{ADDRESS}", timeout=10).status_code == 404
        wait_until(lambda: "outbox row 1 sent" in log_path.read_text(), what="the delivery log")
    with app.app_context():
        password_hash = db.session.scalar(db.select(User.password_hash))

    lines = log_path.read_text().splitlines()
    records = []
    for line in lines:
        record = json.loads(line)  # every line, gunicorn's included, is one JSON object
        assert isinstance(record, dict) and REQUIRED_FIELDS <= record.keys(), line
        records.append(record)
    # (LiveServer's start-up polls /healthz.)
    requests_logged = [r for r in records if r["logger"] == "app.http" and r["path"] != "/healthz"]
    # One line per request, with its fields; the query string (the token) is not in the path.
    assert [(r["method"], r["path"], r["status"]) for r in requests_logged] == [
        ("POST", "/register", 202),
        ("GET", "/confirm", 200),
        ("POST", "/confirm", 200),
        ("POST", "/login", 200),
        ("GET", "/me", 200),
        ("POST", "/login", 401),
        ("POST", "/login", 429),
        ("GET", "(no route)", 404),
    ]
    for record in requests_logged:
        assert REQUEST_FIELDS <= record.keys(), record
        assert isinstance(record["duration_ms"], float)
    # A line logged inside a request (the limiter's) carries that request's id.
    [breach] = [r for r in records if "exceeded" in r["message"]]
    assert breach["request_id"] == requests_logged[-2]["request_id"]
    assert_no_secret(
        "\n".join(lines),
        password_hash=password_hash,
        tokens={"confirmation token": confirmation, "access token": access},
        key=TEST_SECRET_KEY,
    )
