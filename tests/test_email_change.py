"""Changing the sign-in address: confirmation from the new inbox, revert from the old one."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxEmail
from app.timeutil import utcnow
from tests.support.accounts import BROWSER, PASSWORD, access_token, bearer, login, path_of
from tests.support.smtp import link_in, text_part, token_in

OLD = "owner@example.com"
NEW = "new-home@example.com"


def change_email(client, session, new_email=NEW, password=PASSWORD):
    return client.post(
        "/me/email", json={"new_email": new_email, "password": password}, headers=bearer(session)
    )


def request_change(client, smtp_server, session, new_email=NEW, already=0):
    """Ask for a change; return (confirmation token for the new address, revert link)."""
    assert change_email(client, session, new_email).status_code == 202
    messages = smtp_server.wait_for(already + 2)[already:]
    [confirm] = [m for m in messages if m["To"] == new_email]
    [notice] = [m for m in messages if m["To"] != new_email]
    assert confirm["Subject"] == "Confirm your new email address"
    assert notice["Subject"] == "Your sign-in address is being changed"
    return token_in(confirm, "/confirm"), link_in(notice, "/email/revert")


@pytest.fixture
def session(client, make_user):
    make_user(OLD)
    return access_token(client, OLD)


def test_change_is_confirmed_from_the_new_inbox(client, smtp_server, session):
    response = change_email(client, session)
    assert response.status_code == 202
    assert response.json["status"] == "pending_confirmation" and response.json["message"]
    messages = smtp_server.wait_for(2)
    [confirm] = [m for m in messages if m["To"] == NEW]
    [notice] = [m for m in messages if m["To"] == OLD]
    assert link_in(confirm).startswith("http://testserver.example/confirm?token=")
    assert NEW in text_part(notice)
    assert link_in(notice, "/email/revert").startswith(
        "http://testserver.example/email/revert?token="
    )
    assert "7 days" in text_part(notice)

    # Until confirmed, the old address stays the login and /me shows the pending one.
    me = client.get("/me", headers=bearer(session)).json
    assert me["email"] == OLD and me["pending_email"] == NEW
    assert login(client, OLD).status_code == 200
    assert login(client, NEW).status_code == 401

    token = token_in(confirm)
    assert client.get(f"/confirm?token={token}").json == {"status": "pending_confirmation"}
    assert client.post("/confirm", json={"token": token}).json == {"status": "email_changed"}
    assert client.post("/confirm", json={"token": token}).json == {"status": "already_confirmed"}

    assert login(client, NEW).status_code == 200
    assert login(client, OLD).status_code == 401
    me = client.get("/me", headers=bearer(access_token(client, NEW))).json
    assert me["email"] == NEW and "pending_email" not in me


def test_change_needs_the_current_password(client, smtp_server, session):
    response = change_email(client, session, password="not my password")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    assert "pending_email" not in client.get("/me", headers=bearer(session)).json


@pytest.mark.parametrize("headers", [{}, bearer("forged"), {"Authorization": "Basic abc"}])
def test_change_needs_a_valid_bearer_token(client, headers):
    response = client.post(
        "/me/email", json={"new_email": NEW, "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"new_email": "Owner@Example.COM", "password": PASSWORD}, "new_email"),
        ({"new_email": "not an address", "password": PASSWORD}, "new_email"),
        ({"password": PASSWORD}, "new_email"),
        ({"new_email": NEW}, "password"),
        ({"new_email": NEW, "password": 12345678}, "password"),
    ],
)
def test_change_refuses_bad_fields(client, session, body, field):
    response = client.post("/me/email", json=body, headers=bearer(session))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["fields"]


def test_a_newer_change_request_kills_the_earlier_link(client, smtp_server, session):
    first, _ = request_change(client, smtp_server, session, "first@example.com")
    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        second, _ = request_change(client, smtp_server, session, "second@example.com", already=2)
        stale = client.post("/confirm", json={"token": first})
        assert stale.status_code == 400
        assert stale.json["error"]["code"] == "token_invalid"
        assert client.get(f"/confirm?token={first}").json["error"]["code"] == "token_invalid"
        assert client.post("/confirm", json={"token": second}).json == {"status": "email_changed"}
    assert login(client, "second@example.com").status_code == 200
    assert login(client, "first@example.com").status_code == 401


def test_an_address_of_another_account_notifies_its_owner_and_changes_nothing(
    app, client, make_user, smtp_server, session
):
    make_user("taken@example.com")
    free = change_email(client, session, "free@example.com")
    taken = change_email(client, session, "Taken@Example.com")
    assert taken.status_code == free.status_code == 202
    assert taken.json == free.json

    messages = smtp_server.wait_for(3)
    [notice] = [m for m in messages if m["To"] == "taken@example.com"]
    assert notice["Subject"] == "Someone tried to use your email address"
    assert "/confirm" not in text_part(notice) and "token" not in text_part(notice)
    # Only the first request's two mails and the owner's notice: nothing for the taken request.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 3
    assert client.get("/me", headers=bearer(session)).json["pending_email"] == "free@example.com"
    assert login(client, "taken@example.com").status_code == 200


def test_revert_after_the_change_restores_the_address_and_signs_out(client, smtp_server, session):
    token, revert = request_change(client, smtp_server, session)
    assert client.post("/confirm", json={"token": token}).json == {"status": "email_changed"}
    new_session = access_token(client, NEW)

    assert client.get(path_of(revert)).json == {"status": "valid"}
    response = client.post("/email/revert", json={"token": revert.split("token=", 1)[1]})
    assert response.status_code == 200
    assert response.json == {"status": "email_restored"}

    for old_token in (session, new_session):
        answer = client.get("/me", headers=bearer(old_token))
        assert answer.status_code == 401
        assert answer.json["error"]["code"] == "unauthorized"
    assert login(client, NEW).status_code == 401
    me = client.get("/me", headers=bearer(access_token(client, OLD))).json
    assert me["email"] == OLD and "pending_email" not in me
    # The change's link cannot move the account away again.
    assert client.post("/confirm", json={"token": token}).json["error"]["code"] == "token_invalid"


def test_revert_before_confirmation_cancels_the_pending_change(client, smtp_server, session):
    token, revert = request_change(client, smtp_server, session)
    response = client.post("/email/revert", json={"token": revert.split("token=", 1)[1]})
    assert response.json == {"status": "email_restored"}

    assert client.get("/me", headers=bearer(session)).status_code == 401
    me = client.get("/me", headers=bearer(access_token(client, OLD))).json
    assert "pending_email" not in me
    assert client.post("/confirm", json={"token": token}).json["error"]["code"] == "token_invalid"
    assert login(client, NEW).status_code == 401


def test_a_later_change_does_not_disarm_the_revert_link(client, smtp_server, session):
    token, revert = request_change(client, smtp_server, session, "x@example.com")
    assert client.post("/confirm", json={"token": token}).json == {"status": "email_changed"}
    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        later = access_token(client, "x@example.com")
        token2, _ = request_change(client, smtp_server, later, "y@example.com", already=2)
        assert client.post("/confirm", json={"token": token2}).json == {"status": "email_changed"}
        response = client.post("/email/revert", json={"token": revert.split("token=", 1)[1]})
    assert response.json == {"status": "email_restored"}
    assert login(client, OLD).status_code == 200
    assert login(client, "y@example.com").status_code == 401


def test_revert_link_is_valid_for_seven_days(client, smtp_server, session):
    _, revert = request_change(client, smtp_server, session)
    revert_token = revert.split("token=", 1)[1]
    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1)):
        expired = client.post("/email/revert", json={"token": revert_token})
        page = client.get(path_of(revert), headers=BROWSER)
    assert expired.status_code == 400
    assert expired.json["error"]["code"] == "token_expired"
    assert "no longer valid" in page.get_data(as_text=True)
    with time_machine.travel(utcnow() + timedelta(days=6, hours=23)):
        assert client.post("/email/revert", json={"token": revert_token}).status_code == 200


def test_revert_refuses_when_the_old_address_belongs_to_someone_else_now(
    client, smtp_server, session
):
    token, revert = request_change(client, smtp_server, session)
    client.post("/confirm", json={"token": token})
    assert (
        client.post("/register", json={"email": OLD, "password": "another good passphrase"})
    ).status_code == 202
    assert client.get(path_of(revert)).json["error"]["code"] == "token_invalid"
    response = client.post("/email/revert", json={"token": revert.split("token=", 1)[1]})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "token_invalid"
    assert login(client, NEW).status_code == 200


def test_confirming_a_change_to_an_address_registered_meanwhile_is_token_invalid(
    client, smtp_server, session
):
    token, _ = request_change(client, smtp_server, session)
    assert (
        client.post(
            "/register", json={"email": NEW, "password": "another good passphrase"}
        ).status_code
        == 202
    )
    response = client.post("/confirm", json={"token": token})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "token_invalid"
    assert login(client, OLD).status_code == 200


def test_browser_revert_is_a_button_that_posts(client, smtp_server, session):
    _, revert = request_change(client, smtp_server, session)
    revert_token = revert.split("token=", 1)[1]
    prompt = client.get(path_of(revert), headers=BROWSER)
    assert prompt.status_code == 200
    html = prompt.get_data(as_text=True)
    assert 'action="/email/revert"' in html and f'value="{revert_token}"' in html
    assert client.get("/me", headers=bearer(session)).status_code == 200  # opening changed nothing

    done = client.post("/email/revert", data={"token": revert_token}, headers=BROWSER)
    assert done.status_code == 200
    assert "Email address restored" in done.get_data(as_text=True)
    assert client.get("/me", headers=bearer(session)).status_code == 401

    bad = client.post("/email/revert", data={"token": "forged"}, headers=BROWSER)
    assert bad.status_code == 400 and "not valid" in bad.get_data(as_text=True)


@pytest.mark.parametrize("token", ["", "forged", "a" * 5000])
def test_revert_with_a_forged_token_answers_token_invalid(client, token):
    assert client.post("/email/revert", json={"token": token}).json["error"]["code"] == (
        "token_invalid"
    )
    assert client.get(f"/email/revert?token={token}").json["error"]["code"] == "token_invalid"


def test_email_change_shares_the_per_address_mail_budget(app_factory, make_user):
    client = app_factory(
        RATELIMIT_ENABLED=True, OUTBOX_AUTODISPATCH=False, RATELIMIT_PER_ADDRESS="1/minute"
    ).test_client()
    make_user(OLD)
    session = access_token(client, OLD)
    assert change_email(client, session, "a@example.com").status_code == 202
    assert client.post("/password/forgot", json={"email": "A@example.com"}).status_code == 429
    assert change_email(client, session, "b@example.com").status_code == 202


def test_asking_again_for_the_same_address_kills_the_earlier_link(client, smtp_server, session):
    first, _ = request_change(client, smtp_server, session, "x@example.com")
    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        request_change(client, smtp_server, session, "y@example.com", already=2)
    with time_machine.travel(utcnow() + timedelta(minutes=10)):
        latest, _ = request_change(client, smtp_server, session, "x@example.com", already=4)
        assert client.post("/confirm", json={"token": first}).json["error"]["code"] == (
            "token_invalid"
        )
        assert client.post("/confirm", json={"token": latest}).json == {"status": "email_changed"}
