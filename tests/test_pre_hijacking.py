"""Account pre-hijacking: an address registered twice with different passwords keeps neither."""

import pytest

from tests.support.accounts import NEW_PASSWORD, access_token, bearer, login
from tests.support.smtp import token_in

ADDRESS = "victim@example.com"
OWNER_PASSWORD = "owner's own passphrase"
ATTACKER_PASSWORD = "attacker chose this one"


def register(client, password):
    response = client.post("/register", json={"email": ADDRESS, "password": password})
    assert response.status_code == 202


@pytest.mark.parametrize("owner_first", [True, False], ids=["owner_first", "attacker_first"])
@pytest.mark.parametrize("mail", [0, 1], ids=["first_mail", "second_mail"])
def test_confirming_keeps_neither_password_and_the_owner_sets_one(
    client, smtp_server, owner_first, mail
):
    order = [OWNER_PASSWORD, ATTACKER_PASSWORD]
    for password in order if owner_first else reversed(order):
        register(client, password)
    confirmations = smtp_server.wait_for(2)

    response = client.post("/confirm", json={"token": token_in(confirmations[mail])})
    assert response.status_code == 200
    assert response.json == {"status": "confirmed", "password_reset_required": True}

    password_set = smtp_server.wait_for(3)[2]
    assert password_set["To"] == ADDRESS
    assert password_set["Subject"] == "Choose a password for your account"
    for password in (OWNER_PASSWORD, ATTACKER_PASSWORD):
        refused = login(client, ADDRESS, password)
        assert refused.status_code == 401
        assert refused.json["error"]["code"] == "invalid_credentials"

    token = token_in(password_set, "/password/reset")
    assert client.get(f"/password/reset?token={token}").json == {"status": "valid"}
    reset = client.post("/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert reset.json == {"status": "password_reset"}
    session = access_token(client, ADDRESS, NEW_PASSWORD)
    assert client.get("/me", headers=bearer(session)).json["email"] == ADDRESS
    # The other mail's link is now just "already confirmed"; it changes nothing.
    other = client.post("/confirm", json={"token": token_in(confirmations[1 - mail])})
    assert other.json == {"status": "already_confirmed"}
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


def test_registering_twice_with_the_same_password_keeps_it(client, smtp_server):
    register(client, OWNER_PASSWORD)
    register(client, OWNER_PASSWORD)
    confirmations = smtp_server.wait_for(2)
    response = client.post("/confirm", json={"token": token_in(confirmations[1])})
    assert response.json == {"status": "confirmed"}
    assert login(client, ADDRESS, OWNER_PASSWORD).status_code == 200


def test_browser_confirmation_says_a_password_must_be_chosen(client, smtp_server):
    register(client, ATTACKER_PASSWORD)
    register(client, OWNER_PASSWORD)
    token = token_in(smtp_server.wait_for(2)[0])
    page = client.post("/confirm", data={"token": token}, headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 200
    assert "no password is set" in page.get_data(as_text=True)


def test_a_reset_before_confirming_shuts_out_the_pre_registration(client, smtp_server):
    register(client, ATTACKER_PASSWORD)
    confirmation = smtp_server.wait_for(1)[0]
    # The owner never registers, but asks for a reset: the link reaches only the inbox.
    assert client.post("/password/forgot", json={"email": ADDRESS}).status_code == 202
    token = token_in(smtp_server.wait_for(2)[1], "/password/reset")
    assert client.post("/password/reset", json={"token": token, "password": NEW_PASSWORD}).json == {
        "status": "password_reset"
    }
    assert login(client, ADDRESS, ATTACKER_PASSWORD).status_code == 401
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200
    assert client.post("/confirm", json={"token": token_in(confirmation)}).json == {
        "status": "already_confirmed"
    }
