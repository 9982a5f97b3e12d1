"""Password reset from the emailed link: single use, expiry, policy, sign-out, browser form."""

from datetime import timedelta

import pytest
import time_machine

from app import ConfigError, create_app
from app.timeutil import utcnow
from tests.support.accounts import (
    BROWSER,
    NEW_PASSWORD,
    PASSWORD,
    access_token,
    bearer,
    login,
    path_of,
)
from tests.support.smtp import link_in, text_part, token_in

ADDRESS = "owner@example.com"


def forgot(client, email=ADDRESS):
    return client.post("/password/forgot", json={"email": email})


def reset(client, token, password=NEW_PASSWORD):
    return client.post("/password/reset", json={"token": token, "password": password})


def reset_token(client, smtp_server, count=1, email=ADDRESS) -> str:
    """Ask for a reset link and take the token from the delivered mail."""
    assert forgot(client, email).status_code == 202
    message = smtp_server.wait_for(count)[count - 1]
    assert message["To"] == email
    return token_in(message, "/password/reset")


def test_forgot_answers_the_same_for_any_address_and_mails_only_an_account(
    client, make_user, smtp_server
):
    make_user(ADDRESS)
    unknown = forgot(client, "nobody@example.com")
    known = forgot(client, ADDRESS)
    assert unknown.status_code == known.status_code == 202
    assert unknown.json == known.json
    assert known.json["status"] == "accepted" and known.json["message"]

    [message] = smtp_server.wait_for(1)  # rows are delivered in order: the unknown one was first
    assert message["To"] == ADDRESS
    assert message["Subject"] == "Reset your password"
    assert link_in(message, "/password/reset").startswith(
        "http://testserver.example/password/reset?token="
    )
    assert "1 hour" in text_part(message)
    assert smtp_server.messages_to("nobody@example.com") == []


@pytest.mark.parametrize("body", [{}, {"email": "not an address"}, {"email": 7}])
def test_forgot_refuses_a_malformed_address(client, body):
    response = client.post("/password/forgot", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert "email" in response.json["error"]["fields"]


def test_reset_link_sets_a_new_password(client, make_user, smtp_server):
    make_user(ADDRESS)
    token = reset_token(client, smtp_server)

    assert client.get(f"/password/reset?token={token}").json == {"status": "valid"}
    response = reset(client, token)
    assert response.status_code == 200
    assert response.json == {"status": "password_reset"}

    assert login(client, ADDRESS, PASSWORD).status_code == 401
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


def test_reset_token_works_only_once(client, make_user, smtp_server):
    make_user(ADDRESS)
    token = reset_token(client, smtp_server)
    assert reset(client, token).status_code == 200

    again = reset(client, token, "another fine passphrase")
    assert again.status_code == 400
    assert again.json["error"]["code"] == "token_invalid"
    assert client.get(f"/password/reset?token={token}").json["error"]["code"] == "token_invalid"
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


def test_an_earlier_link_dies_when_another_one_resets_the_password(client, make_user, smtp_server):
    make_user(ADDRESS)
    first = reset_token(client, smtp_server)
    with time_machine.travel(utcnow() + timedelta(minutes=5)):  # a later token differs
        second = reset_token(client, smtp_server, count=2)
        assert first != second
        assert reset(client, second).status_code == 200
        stale = reset(client, first, "another fine passphrase")
    assert stale.status_code == 400
    assert stale.json["error"]["code"] == "token_invalid"
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


def test_expired_reset_link_answers_token_expired(client, make_user, smtp_server):
    make_user(ADDRESS)
    token = reset_token(client, smtp_server)
    with time_machine.travel(utcnow() + timedelta(seconds=3600 + 60)):
        response = reset(client, token)
        page = client.get(f"/password/reset?token={token}", headers=BROWSER)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "token_expired"
    assert page.status_code == 400
    assert "Forgot password" in page.get_data(as_text=True)
    assert login(client, ADDRESS, PASSWORD).status_code == 200


def test_reset_token_max_age_is_configurable(app_factory, make_user, smtp_server):
    client = app_factory(RESET_TOKEN_MAX_AGE=600).test_client()
    make_user(ADDRESS)
    token = reset_token(client, smtp_server)
    assert "10 minutes" in text_part(smtp_server.messages[0])
    with time_machine.travel(utcnow() + timedelta(seconds=660)):
        assert reset(client, token).json["error"]["code"] == "token_expired"


@pytest.mark.parametrize(
    "password, why",
    [
        ("short", "at least 8"),
        ("password123", "common"),
        (ADDRESS, "email address"),
        ("x" * 129, "at most 128"),
    ],
)
def test_reset_applies_the_password_policy_and_keeps_the_link_usable(
    client, make_user, smtp_server, password, why
):
    make_user(ADDRESS)
    token = reset_token(client, smtp_server)
    response = reset(client, token, password)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert why in response.json["error"]["fields"]["password"]
    assert reset(client, token).status_code == 200


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"token", "password"}),
        ({"token": "t"}, {"password"}),
        ({"password": 5}, {"token", "password"}),
    ],
)
def test_reset_reports_missing_fields(client, body, fields):
    response = client.post("/password/reset", json=body)
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == fields


@pytest.mark.parametrize("token", ["", "garbage", "a" * 5000])
def test_reset_with_a_forged_token_answers_token_invalid(client, token):
    assert reset(client, token).json["error"]["code"] == "token_invalid"
    assert client.get(f"/password/reset?token={token}").json["error"]["code"] == "token_invalid"


def test_reset_revokes_every_access_token(client, make_user, smtp_server):
    make_user(ADDRESS)
    sessions = [access_token(client, ADDRESS) for _ in range(2)]
    for session in sessions:
        assert client.get("/me", headers=bearer(session)).status_code == 200

    assert reset(client, reset_token(client, smtp_server)).status_code == 200

    for session in sessions:
        response = client.get("/me", headers=bearer(session))
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    fresh = access_token(client, ADDRESS, NEW_PASSWORD)
    assert client.get("/me", headers=bearer(fresh)).status_code == 200


def test_reset_confirms_an_unconfirmed_account(client, make_user, smtp_server):
    make_user(ADDRESS, confirmed=False)
    assert login(client, ADDRESS, PASSWORD).json["error"]["code"] == "email_not_confirmed"
    assert reset(client, reset_token(client, smtp_server)).status_code == 200
    me = client.get("/me", headers=bearer(access_token(client, ADDRESS, NEW_PASSWORD)))
    assert me.json["confirmed"] is True


def test_browser_gets_a_form_that_resets_the_password(client, make_user, smtp_server):
    make_user(ADDRESS)
    assert forgot(client).status_code == 202
    [message] = smtp_server.wait_for(1)
    token = token_in(message, "/password/reset")

    form = client.get(path_of(link_in(message, "/password/reset")), headers=BROWSER)
    assert form.status_code == 200
    assert form.mimetype == "text/html"
    html = form.get_data(as_text=True)
    assert 'action="/password/reset"' in html and 'method="post"' in html
    assert f'value="{token}"' in html
    assert "default-src 'none'" in form.headers["Content-Security-Policy"]

    weak = client.post(
        "/password/reset", data={"token": token, "password": "password"}, headers=BROWSER
    )
    assert weak.status_code == 400
    assert weak.mimetype == "text/html"
    assert 'aria-invalid="true"' in weak.get_data(as_text=True)
    assert f'value="{token}"' in weak.get_data(as_text=True)

    done = client.post(
        "/password/reset", data={"token": token, "password": NEW_PASSWORD}, headers=BROWSER
    )
    assert done.status_code == 200
    assert "Password changed" in done.get_data(as_text=True)

    used = client.post(
        "/password/reset", data={"token": token, "password": NEW_PASSWORD}, headers=BROWSER
    )
    assert used.status_code == 400
    assert "not valid" in used.get_data(as_text=True)
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


def test_reset_url_template_shapes_the_reset_link(app_factory, make_user, smtp_server):
    client = app_factory(RESET_URL_TEMPLATE="myapp://reset?token={token}").test_client()
    make_user(ADDRESS)
    assert forgot(client).status_code == 202
    [message] = smtp_server.wait_for(1)
    text = text_part(message)
    assert "myapp://reset?token=" in text
    assert "testserver.example" not in text
    token = text.split("myapp://reset?token=", 1)[1].split()[0]
    assert reset(client, token).status_code == 200


@pytest.mark.parametrize("name", ["RESET_URL_TEMPLATE", "CONFIRM_URL_TEMPLATE"])
def test_a_url_template_without_the_token_refuses_to_start(name):
    with pytest.raises(ConfigError, match=name):
        create_app("testing", {name: "https://app.example.com/reset"})


def test_forgot_shares_the_per_address_mail_budget_with_registration(app_factory):
    client = app_factory(
        RATELIMIT_ENABLED=True, OUTBOX_AUTODISPATCH=False, RATELIMIT_PER_ADDRESS="2/minute"
    ).test_client()
    body = {"email": "ann@example.com", "password": PASSWORD}
    assert client.post("/register", json=body).status_code == 202
    assert forgot(client, "Ann@Example.com").status_code == 202
    limited = forgot(client, "ann@example.com")
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert forgot(client, "bob@example.com").status_code == 202


def test_reset_is_limited_per_client_ip(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_PASSWORD_RESET="2/minute").test_client()
    for _ in range(2):
        assert reset(client, "forged").status_code == 400
    assert reset(client, "forged").status_code == 429
    # Opening a link is not counted: only attempts to set a password are.
    assert client.get("/password/reset?token=forged").status_code == 400
