"""Confirmation tokens: tampering, wrong purpose, other address, expiry, key rotation."""

from datetime import timedelta

import pytest
import time_machine

from app import tokens
from app.extensions import db
from app.models import User
from app.purposes.access import Access
from app.purposes.confirm_email import ConfirmEmail
from app.purposes.reset_password import ResetPassword
from app.timeutil import utcnow
from tests.support.accounts import PASSWORD
from tests.support.smtp import token_in


@pytest.fixture
def pending_token(client, smtp_server):
    client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    return token_in(smtp_server.wait_for(1)[0])


def _code(response):
    assert response.status_code == 400
    return response.json["error"]["code"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_token_is_invalid(client, pending_token, method):
    tampered = pending_token[:-3] + ("aaa" if not pending_token.endswith("aaa") else "bbb")
    response = (
        client.get(f"/confirm?token={tampered}")
        if method == "get"
        else client.post("/confirm", json={"token": tampered})
    )
    assert _code(response) == "token_invalid"


def test_truncated_token_is_invalid(client, pending_token):
    assert _code(client.post("/confirm", json={"token": pending_token[:20]})) == "token_invalid"


@pytest.mark.parametrize("token", ["", "x", "a.b.c", "%00", "é" * 10, "A" * 5000])
def test_garbage_token_is_invalid(client, token):
    assert _code(client.post("/confirm", json={"token": token})) == "token_invalid"


def test_token_of_another_purpose_does_not_confirm(app, client, pending_token):
    with app.test_request_context():
        user = db.session.scalar(db.select(User))
        access_like = tokens.issue(Access.purpose, [user.id, tokens.digest(user.email_key)])
        reset_like = tokens.issue(ResetPassword.purpose, [user.id, tokens.digest(user.email_key)])
    assert _code(client.post("/confirm", json={"token": access_like})) == "token_invalid"
    assert _code(client.post("/confirm", json={"token": reset_like})) == "token_invalid"


def test_token_for_one_address_never_confirms_another(app, client, make_user, pending_token):
    other_id = make_user("bob@example.com", PASSWORD, confirmed=False)
    with app.test_request_context():
        forged = ConfirmEmail(other_id, tokens.digest("ann@example.com")).sign()
    assert _code(client.post("/confirm", json={"token": forged})) == "token_invalid"
    with app.app_context():
        assert db.session.get(User, other_id).confirmed_at is None


def test_expired_link_answers_token_expired(client, pending_token):
    with time_machine.travel(utcnow() + timedelta(days=1, seconds=5)):
        assert _code(client.get(f"/confirm?token={pending_token}")) == "token_expired"
        assert _code(client.post("/confirm", json={"token": pending_token})) == "token_expired"
    with time_machine.travel(utcnow() + timedelta(hours=23)):
        assert client.post("/confirm", json={"token": pending_token}).json == {
            "status": "confirmed"
        }


def test_expired_page_offers_a_new_link(client, pending_token, smtp_server):
    browser = {"Accept": "text/html"}
    with time_machine.travel(utcnow() + timedelta(days=2)):
        page = client.get(f"/confirm?token={pending_token}", headers=browser)
    assert page.status_code == 400
    assert 'action="/confirm/resend"' in page.get_data(as_text=True)
    resent = client.post("/confirm/resend", data={"email": "ann@example.com"}, headers=browser)
    assert resent.mimetype == "text/html"
    smtp_server.wait_for(2)


def test_token_signed_before_key_rotation_still_confirms(app_factory, smtp_server):
    old_key = "old-secret-key-0123456789-0123456789-abcdef"
    new_key = "new-secret-key-0123456789-0123456789-abcdef"
    old_client = app_factory(SECRET_KEY=old_key).test_client()
    old_client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    token = token_in(smtp_server.wait_for(1)[0])

    rotated = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]).test_client()
    assert rotated.get(f"/confirm?token={token}").json == {"status": "pending_confirmation"}

    dropped = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]).test_client()
    assert _code(dropped.post("/confirm", json={"token": token})) == "token_invalid"

    assert rotated.post("/confirm", json={"token": token}).json == {"status": "confirmed"}


def test_new_tokens_are_signed_with_the_current_key(app_factory):
    old_key = "old-secret-key-0123456789-0123456789-abcdef"
    new_key = "new-secret-key-0123456789-0123456789-abcdef"
    rotated = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key])
    only_new = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[])
    with rotated.test_request_context():
        token = ConfirmEmail(1, "x").sign()
    with only_new.test_request_context():
        assert ConfirmEmail.read(token, 60) == ConfirmEmail(1, "x")
