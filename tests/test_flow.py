"""The whole journey through the real app and a real SMTP server."""

from datetime import timedelta
from urllib.parse import urlsplit

import time_machine

from app.timeutil import utcnow
from tests.support.accounts import PASSWORD
from tests.support.smtp import html_part, link_in, text_part, token_in


def register(client, email="ann@example.com", password=PASSWORD):
    return client.post("/register", json={"email": email, "password": password})


def test_registration_mail_carries_a_link_that_confirms(client, smtp_server):
    assert register(client).status_code == 202
    [message] = smtp_server.wait_for(1)

    assert message["To"] == "ann@example.com"
    assert message["Message-ID"]
    link = link_in(message)
    assert link.startswith("http://testserver.example/confirm?token=")
    assert link in html_part(message)
    assert "24 hours" in text_part(message)

    response = client.post("/confirm", json={"token": token_in(message)})
    assert response.status_code == 200
    assert response.json == {"status": "confirmed"}


def test_login_is_refused_before_confirmation_and_works_after(client, smtp_server):
    register(client)
    [message] = smtp_server.wait_for(1)
    credentials = {"email": "ann@example.com", "password": PASSWORD}

    before = client.post("/login", json=credentials)
    assert before.status_code == 403
    assert before.json["error"]["code"] == "email_not_confirmed"

    client.post("/confirm", json={"token": token_in(message)})
    after = client.post("/login", json=credentials)
    assert after.status_code == 200
    assert after.json["token_type"] == "Bearer"
    assert after.json["expires_in"] == 3600

    me = client.get("/me", headers={"Authorization": f"Bearer {after.json['access_token']}"})
    assert me.status_code == 200
    assert me.json["email"] == "ann@example.com"
    assert me.json["confirmed"] is True
    assert me.json["confirmed_at"].endswith("Z")
    assert me.json["created_at"].endswith("Z")
    assert "password" not in str(me.json) and "hash" not in str(me.json)


def test_opening_the_link_changes_nothing(client, smtp_server):
    register(client)
    [message] = smtp_server.wait_for(1)
    token = token_in(message)

    for _ in range(3):  # a mail scanner, a link preview, the person
        response = client.get(f"/confirm?token={token}")
        assert response.status_code == 200
        assert response.json == {"status": "pending_confirmation"}

    login = client.post("/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert login.json["error"]["code"] == "email_not_confirmed"


def test_browser_gets_a_button_whose_form_confirms(client, smtp_server):
    register(client)
    [message] = smtp_server.wait_for(1)
    link = link_in(message)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query, headers=browser)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'action="/confirm"' in html and 'method="post"' in html
    assert token_in(message) in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]

    posted = client.post("/confirm", data={"token": token_in(message)}, headers=browser)
    assert posted.status_code == 200
    assert posted.mimetype == "text/html"
    assert "confirmed" in posted.get_data(as_text=True)

    again = client.get(f"/confirm?token={token_in(message)}", headers=browser)
    assert "already" in again.get_data(as_text=True).lower()
    login = client.post("/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert login.status_code == 200


def test_confirming_twice_answers_already_confirmed(client, smtp_server):
    register(client)
    token = token_in(smtp_server.wait_for(1)[0])
    assert client.post("/confirm", json={"token": token}).json == {"status": "confirmed"}
    assert client.post("/confirm", json={"token": token}).json == {"status": "already_confirmed"}
    assert client.get(f"/confirm?token={token}").json == {"status": "already_confirmed"}


def test_confirm_on_get_confirms_when_switched_on(app_factory, smtp_server):
    client = app_factory(CONFIRM_ON_GET=True).test_client()
    register(client)
    token = token_in(smtp_server.wait_for(1)[0])
    assert client.get(f"/confirm?token={token}").json == {"status": "confirmed"}
    assert (
        client.post("/login", json={"email": "ann@example.com", "password": PASSWORD}).status_code
        == 200
    )


def test_a_new_link_does_not_kill_the_earlier_one(client, smtp_server):
    register(client)
    first = token_in(smtp_server.wait_for(1)[0])
    with time_machine.travel(utcnow() + timedelta(minutes=10)):  # tokens made later differ
        assert client.post("/confirm/resend", json={"email": "ann@example.com"}).status_code == 202
        second = token_in(smtp_server.wait_for(2)[1])
    assert first != second
    assert client.get(f"/confirm?token={first}").json == {"status": "pending_confirmation"}
    assert client.post("/confirm", json={"token": first}).json == {"status": "confirmed"}


def test_case_variants_are_one_account(client, smtp_server):
    register(client, "Ann@Example.COM")
    token = token_in(smtp_server.wait_for(1)[0])
    client.post("/confirm", json={"token": token})
    login = client.post("/login", json={"email": "ANN@example.com", "password": PASSWORD})
    assert login.status_code == 200


def test_deep_link_template_shapes_the_confirmation_link(app_factory, smtp_server):
    client = app_factory(CONFIRM_URL_TEMPLATE="myapp://confirm?token={token}").test_client()
    register(client)
    [message] = smtp_server.wait_for(1)
    assert "myapp://confirm?token=" in text_part(message)
    assert "testserver.example" not in text_part(message)
