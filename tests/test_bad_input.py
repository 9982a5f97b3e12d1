"""One row per contract error: status, the JSON envelope, its code, and never a 500."""

import json

import pytest

GOOD = {"email": "ann@example.com", "password": "correct horse battery"}
JSON = "application/json"

CASES = [
    # id, method, path, body (bytes, str or dict), content type, status, code, fields
    (
        "text body",
        "post",
        "/register",
        "email=a",
        "text/plain",
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "form body",
        "post",
        "/register",
        "email=a",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "no content type",
        "post",
        "/register",
        json.dumps(GOOD),
        None,
        415,
        "unsupported_media_type",
        None,
    ),
    ("malformed json", "post", "/register", '{"email": ', JSON, 400, "invalid_json", None),
    (
        "invalid utf-8",
        "post",
        "/register",
        b'{"email": "\xff\xfe"}',
        JSON,
        400,
        "invalid_json",
        None,
    ),
    ("json array", "post", "/register", "[1, 2]", JSON, 400, "invalid_json", None),
    ("json string", "post", "/register", '"hello"', JSON, 400, "invalid_json", None),
    ("json null", "post", "/register", "null", JSON, 400, "invalid_json", None),
    ("empty body", "post", "/register", "", JSON, 400, "invalid_json", None),
    (
        "deep nesting",
        "post",
        "/register",
        "[" * 100000 + "]" * 100000,
        JSON,
        413,
        "payload_too_large",
        None,
    ),
    (
        "deep nesting under limit",
        "post",
        "/register",
        "[" * 30000 + "]" * 30000,
        JSON,
        400,
        "invalid_json",
        None,
    ),
    ("missing both", "post", "/register", {}, JSON, 400, "validation_error", {"email", "password"}),
    (
        "missing password",
        "post",
        "/register",
        {"email": "ann@example.com"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "email not a string",
        "post",
        "/register",
        {"email": 5, "password": "x" * 12},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "password a list",
        "post",
        "/register",
        {"email": "a@example.com", "password": ["x"]},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "email without at",
        "post",
        "/register",
        {**GOOD, "email": "ann.example.com"},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "email with space",
        "post",
        "/register",
        {**GOOD, "email": "ann @example.com"},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "email with nul",
        "post",
        "/register",
        {**GOOD, "email": "ann\u0000@example.com"},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "email too long",
        "post",
        "/register",
        {**GOOD, "email": "a" * 250 + "@example.com"},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "non-ascii local part",
        "post",
        "/register",
        {**GOOD, "email": "jörg@example.com"},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "password too short",
        "post",
        "/register",
        {**GOOD, "password": "short1!"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "password too long",
        "post",
        "/register",
        {**GOOD, "password": "x" * 129},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "common password",
        "post",
        "/register",
        {**GOOD, "password": "password123"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "common password any case",
        "post",
        "/register",
        {**GOOD, "password": "QWERTYUIOP"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "password is the email",
        "post",
        "/register",
        {**GOOD, "password": "Ann@Example.com"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "password with nul",
        "post",
        "/register",
        {**GOOD, "password": "abcd\u0000efghijk"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "100 KiB body",
        "post",
        "/register",
        {**GOOD, "pad": "x" * 100 * 1024},
        JSON,
        413,
        "payload_too_large",
        None,
    ),
    (
        "resend without email",
        "post",
        "/confirm/resend",
        {},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    (
        "resend bad email",
        "post",
        "/confirm/resend",
        {"email": "nope"},
        JSON,
        400,
        "validation_error",
        {"email"},
    ),
    ("confirm without token", "post", "/confirm", {}, JSON, 400, "validation_error", {"token"}),
    (
        "confirm token a number",
        "post",
        "/confirm",
        {"token": 12},
        JSON,
        400,
        "validation_error",
        {"token"},
    ),
    (
        "confirm as text",
        "post",
        "/confirm",
        "token=x",
        "text/plain",
        415,
        "unsupported_media_type",
        None,
    ),
    ("get confirm without token", "get", "/confirm", None, None, 400, "token_invalid", None),
    (
        "code as text",
        "post",
        "/confirm/code",
        "code=1",
        "text/plain",
        415,
        "unsupported_media_type",
        None,
    ),
    ("code malformed json", "post", "/confirm/code", '{"code": ', JSON, 400, "invalid_json", None),
    ("code json array", "post", "/confirm/code", "[1]", JSON, 400, "invalid_json", None),
    (
        "code with nul",
        "post",
        "/confirm/code",
        {"email": "a@example.com", "code": "1\u0000"},
        JSON,
        400,
        "validation_error",
        {"code"},
    ),
    (
        "code unknown address",
        "post",
        "/confirm/code",
        {"email": "a@example.com", "code": "123456"},
        JSON,
        400,
        "code_invalid",
        None,
    ),
    ("get code", "get", "/confirm/code", None, None, 405, "method_not_allowed", None),
    (
        "reset by code as text",
        "post",
        "/password/reset",
        "code=1",
        "text/plain",
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "reset by code, no password",
        "post",
        "/password/reset",
        {"email": "a@example.com", "code": "123456"},
        JSON,
        400,
        "validation_error",
        {"password"},
    ),
    (
        "reset by code unknown address",
        "post",
        "/password/reset",
        {"email": "a@example.com", "code": "123456", "password": "staple battery horse"},
        JSON,
        400,
        "code_invalid",
        None,
    ),
    (
        "login missing fields",
        "post",
        "/login",
        {},
        JSON,
        400,
        "validation_error",
        {"email", "password"},
    ),
    (
        "login bad email",
        "post",
        "/login",
        {"email": "nope", "password": "whatever1"},
        JSON,
        401,
        "invalid_credentials",
        None,
    ),
    ("login unknown user", "post", "/login", GOOD, JSON, 401, "invalid_credentials", None),
    ("me without token", "get", "/me", None, None, 401, "unauthorized", None),
    ("unknown path", "get", "/nowhere", None, None, 404, "not_found", None),
    ("unknown path post", "post", "/nowhere", {}, JSON, 404, "not_found", None),
    ("wrong method", "get", "/register", None, None, 405, "method_not_allowed", None),
    ("wrong method delete", "delete", "/login", None, None, 405, "method_not_allowed", None),
]


@pytest.mark.parametrize(
    "method, path, body, content_type, status, code, fields",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_gets_the_contract_error(
    client, method, path, body, content_type, status, code, fields
):
    kwargs = {}
    if body is not None:
        kwargs["data"] = json.dumps(body) if isinstance(body, dict) else body
    if content_type:
        kwargs["content_type"] = content_type
    response = getattr(client, method)(path, **kwargs)

    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if fields:
        assert set(error["fields"]) == fields
    assert "Traceback" not in response.get_data(as_text=True)


def test_charset_parameter_is_accepted(client):
    response = client.post(
        "/register", data=json.dumps(GOOD), content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 202


def test_unknown_fields_are_ignored(client):
    response = client.post("/register", json={**GOOD, "is_admin": True, "confirmed": True})
    assert response.status_code == 202


def test_bad_authorization_headers_are_unauthorized(client):
    for header in ("Bearer", "Bearer ", "Basic abc", "Bearer not-a-token", "Bearer " + "a" * 5000):
        response = client.get("/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
