"""Inputs that once answered 500, found while fuzzing (by hand, past what schemathesis sends)."""

import pytest

# Raw JSON text: "\ud800" is a lone surrogate, legal in JSON, with no UTF-8 form.
CASES = [
    (
        "login surrogate email",
        "/login",
        '{"email": "\\ud800@example.com", "password": "whatever12"}',
        "email",
    ),
    (
        "login surrogate password",
        "/login",
        '{"email": "a@example.com", "password": "\\ud800whatever12"}',
        "password",
    ),
    (
        "register surrogate password",
        "/register",
        '{"email": "a@example.com", "password": "\\ud800whatever12xx"}',
        "password",
    ),
    # PostgreSQL refuses NUL in text: the login lookup used to send it there.
    (
        "login nul in email",
        "/login",
        '{"email": "a\\u0000@example.com", "password": "whatever12"}',
        "email",
    ),
]


@pytest.mark.parametrize("path, body, field", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_unstorable_text_is_a_validation_error(app_factory, path, body, field):
    client = app_factory(TESTING=False, PROPAGATE_EXCEPTIONS=False).test_client()
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["fields"]
