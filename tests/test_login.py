"""Signing in: credentials, confirmation, hash upgrades, access tokens."""

from datetime import timedelta

import time_machine

from app.extensions import db
from app.models import User
from app.timeutil import utcnow
from tests.support.accounts import PASSWORD


def login(client, email="owner@example.com", password=PASSWORD):
    return client.post("/login", json={"email": email, "password": password})


def test_wrong_password_and_unknown_address_look_the_same(client, make_user):
    make_user("owner@example.com", PASSWORD, confirmed=True)
    wrong = login(client, password="not the password")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "invalid_credentials"


def test_unconfirmed_is_told_only_with_the_right_password(client, make_user):
    make_user("owner@example.com", PASSWORD, confirmed=False)
    assert login(client).json["error"]["code"] == "email_not_confirmed"
    assert login(client, password="not the password").json["error"]["code"] == "invalid_credentials"


def test_hash_is_upgraded_when_parameters_change(app_factory, make_user):
    user_id = make_user("owner@example.com", PASSWORD, confirmed=True)
    stronger = app_factory(ARGON2_TIME_COST=2, ARGON2_MEMORY_COST=2048)
    with stronger.app_context():
        old_hash = db.session.get(User, user_id).password_hash
    assert "m=1024,t=1" in old_hash

    assert login(stronger.test_client()).status_code == 200
    with stronger.app_context():
        new_hash = db.session.get(User, user_id).password_hash
    assert "m=2048,t=2" in new_hash
    assert login(stronger.test_client()).status_code == 200


def test_access_token_expires(client, make_user):
    make_user("owner@example.com", PASSWORD, confirmed=True)
    token = login(client).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=headers).status_code == 200
    with time_machine.travel(utcnow() + timedelta(seconds=3601)):
        response = client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_confirmation_token_is_not_an_access_token(app, client, make_user):
    from app import tokens
    from app.purposes.confirm_email import ConfirmEmail

    user_id = make_user("owner@example.com", PASSWORD, confirmed=True)
    with app.test_request_context():
        confirm = tokens.issue(ConfirmEmail.purpose, [user_id, 0])
    assert client.get("/me", headers={"Authorization": f"Bearer {confirm}"}).status_code == 401


def test_password_is_compared_after_unicode_normalization(client, make_user):
    composed = "caf\u00e9 au lait noir"
    decomposed = "cafe\u0301 au lait noir"
    make_user("owner@example.com", composed, confirmed=True)
    assert login(client, password=decomposed).status_code == 200
