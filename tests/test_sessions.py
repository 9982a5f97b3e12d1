"""Signing out everywhere: POST /logout-all revokes every access token issued before it."""

from tests.support.accounts import access_token, bearer


def test_logout_all_revokes_every_access_token(client, make_user):
    make_user("owner@example.com")
    sessions = [access_token(client, "owner@example.com") for _ in range(3)]

    response = client.post("/logout-all", headers=bearer(sessions[0]))
    assert response.status_code == 204
    assert response.get_data() == b""

    for session in sessions:
        me = client.get("/me", headers=bearer(session))
        assert me.status_code == 401
        assert me.json["error"]["code"] == "unauthorized"
    assert client.post("/logout-all", headers=bearer(sessions[1])).status_code == 401

    fresh = access_token(client, "owner@example.com")
    assert client.get("/me", headers=bearer(fresh)).status_code == 200


def test_logout_all_leaves_other_users_signed_in(client, make_user):
    make_user("owner@example.com")
    make_user("other@example.com")
    mine = access_token(client, "owner@example.com")
    theirs = access_token(client, "other@example.com")
    assert client.post("/logout-all", headers=bearer(mine)).status_code == 204
    assert client.get("/me", headers=bearer(theirs)).status_code == 200


def test_logout_all_needs_a_valid_bearer_token(client):
    for headers in ({}, bearer("forged")):
        response = client.post("/logout-all", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
