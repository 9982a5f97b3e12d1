"""Registration and resend answer alike whether or not the address has an account."""

import time

from app.extensions import db
from app.models import OutboxEmail, User
from tests.support.accounts import PASSWORD
from tests.support.smtp import text_part

OTHER_PASSWORD = "another fine passphrase"
COMPARED_HEADERS = ("Content-Type", "Cache-Control", "Content-Length")


def _shape(response):
    return (
        response.status_code,
        response.get_json(),
        {h: response.headers.get(h) for h in COMPARED_HEADERS},
    )


def test_three_registration_cases_answer_identically(client, make_user, smtp_server):
    make_user("confirmed@example.com", PASSWORD, confirmed=True)
    make_user("pending@example.com", PASSWORD, confirmed=False)

    answers = [
        client.post("/register", json={"email": email, "password": OTHER_PASSWORD})
        for email in ("new@example.com", "pending@example.com", "confirmed@example.com")
    ]
    shapes = [_shape(a) for a in answers]
    assert shapes[0] == shapes[1] == shapes[2]
    assert answers[0].status_code == 202
    assert answers[0].json["status"] == "pending_confirmation"
    assert set(answers[0].headers.keys()) == set(answers[2].headers.keys())

    smtp_server.wait_for(3)
    assert "/confirm?token=" in text_part(smtp_server.messages_to("new@example.com")[0])
    assert "/confirm?token=" in text_part(smtp_server.messages_to("pending@example.com")[0])
    notice = smtp_server.messages_to("confirmed@example.com")[0]
    assert notice["Subject"] == "You already have an account"
    assert "token=" not in text_part(notice)


def test_re_registration_never_changes_the_stored_password(app, client, make_user, smtp_server):
    user_id = make_user("confirmed@example.com", PASSWORD, confirmed=True)
    with app.app_context():
        before = db.session.get(User, user_id).password_hash

    client.post("/register", json={"email": "confirmed@example.com", "password": OTHER_PASSWORD})
    smtp_server.wait_for(1)

    with app.app_context():
        assert db.session.get(User, user_id).password_hash == before
    assert (
        client.post(
            "/login", json={"email": "confirmed@example.com", "password": PASSWORD}
        ).status_code
        == 200
    )
    refused = client.post(
        "/login", json={"email": "confirmed@example.com", "password": OTHER_PASSWORD}
    )
    assert refused.status_code == 401


def test_three_resend_cases_answer_identically_and_only_unconfirmed_get_mail(
    app, client, make_user, smtp_server
):
    make_user("confirmed@example.com", PASSWORD, confirmed=True)
    make_user("pending@example.com", PASSWORD, confirmed=False)

    answers = [
        client.post("/confirm/resend", json={"email": email})
        for email in ("nobody@example.com", "pending@example.com", "confirmed@example.com")
    ]
    shapes = [_shape(a) for a in answers]
    assert shapes[0] == shapes[1] == shapes[2]
    assert answers[0].status_code == 202

    smtp_server.wait_for(1)
    rows = _settled_outbox(app)
    assert sorted((r.recipient, r.status) for r in rows) == [
        ("confirmed@example.com", "skipped"),
        ("nobody@example.com", "skipped"),
        ("pending@example.com", "sent"),
    ]
    assert [m["To"] for m in smtp_server.messages] == ["pending@example.com"]


def _settled_outbox(app, timeout=10.0):
    """The outbox once the dispatcher has dealt with every row (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            rows = db.session.scalars(db.select(OutboxEmail)).all()
        if all(r.status != "pending" for r in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_with_enumeration_protection_off_taken_addresses_answer_409(
    app_factory, make_user, smtp_server
):
    client = app_factory(PREVENT_ENUMERATION=False).test_client()
    make_user("confirmed@example.com", PASSWORD, confirmed=True)
    make_user("pending@example.com", PASSWORD, confirmed=False)
    for email in ("confirmed@example.com", "pending@example.com", "PENDING@example.com"):
        response = client.post("/register", json={"email": email, "password": OTHER_PASSWORD})
        assert response.status_code == 409
        assert response.json["error"]["code"] == "email_taken"
    assert (
        client.post(
            "/register", json={"email": "new@example.com", "password": PASSWORD}
        ).status_code
        == 202
    )
