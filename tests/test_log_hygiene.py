"""The log of a whole flow never holds a password, a hash, a full token or the SECRET_KEY."""

import logging
import time

from app.extensions import db
from app.models import User
from tests.support.accounts import PASSWORD
from tests.support.smtp import token_in

WRONG_PASSWORD = "wrong horse battery"


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
    credentials = {"email": "ann@example.com", "password": PASSWORD}

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
    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "hash": password_hash,
        "hash prefix": "$argon2id$",
        "confirmation token": confirmation,
        "confirmation signature": confirmation.rsplit(".", 1)[-1],
        "access token": access,
        "access signature": access.rsplit(".", 1)[-1],
        "SECRET_KEY": app.config["SECRET_KEY"],
    }
    for what, secret in secrets.items():
        assert secret not in text, f"the log holds the {what}"
