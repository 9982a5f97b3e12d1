"""Unicode emails and passwords, NUL bytes, over-long fields and deep JSON: 400s, never a 500."""

import json

import pytest

from tests.support.smtp import token_in

PASSWORD_COMPOSED = "caf\u00e9 au lait 42"  # é as one code point (most keyboards)
PASSWORD_DECOMPOSED = "cafe\u0301 au lait 42"  # e + combining acute (macOS input, some IMEs)
JSON = "application/json"


def test_idn_domain_is_accepted_stored_normalized_and_one_account(client, smtp_server):
    body = {"email": "ann@B\u00dcCHER.example", "password": "correct horse battery"}
    assert client.post("/register", json=body).status_code == 202
    [message] = smtp_server.wait_for(1)
    # Delivered to the ASCII (IDNA) form of the domain, which any SMTP server accepts.
    assert message["To"] == "ann@xn--bcher-kva.example"
    token = token_in(message)
    assert client.post("/confirm", json={"token": token}).json == {"status": "confirmed"}
    # The ASCII (punycode) spelling of the domain names the same account.
    login = {"email": "ann@xn--bcher-kva.example", "password": "correct horse battery"}
    response = client.post("/login", json=login)
    assert response.status_code == 200
    me = client.get("/me", headers={"Authorization": f"Bearer {response.json['access_token']}"})
    assert me.json["email"] == "ann@b\u00fccher.example"  # stored lowercased, in Unicode


@pytest.mark.parametrize("path", ["/register", "/confirm/resend"])
def test_non_ascii_local_part_is_refused_because_smtp_cannot_send_it(client, path):
    response = client.post(path, json={"email": "j\u00f6rg@example.com", "password": "x" * 12})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert "email" in response.json["error"]["fields"]


def test_password_is_nfkc_normalized_before_hashing(client, smtp_server):
    assert PASSWORD_COMPOSED != PASSWORD_DECOMPOSED
    client.post("/register", json={"email": "ann@example.com", "password": PASSWORD_COMPOSED})
    client.post("/confirm", json={"token": token_in(smtp_server.wait_for(1)[0])})
    typed_elsewhere = {"email": "ann@example.com", "password": PASSWORD_DECOMPOSED}
    assert client.post("/login", json=typed_elsewhere).status_code == 200
    wrong = {"email": "ann@example.com", "password": "cafe au lait 42"}
    assert client.post("/login", json=wrong).status_code == 401


NUL = "\u0000"
BAD_FIELDS = [
    (
        "register nul email",
        "/register",
        {"email": f"ann{NUL}@example.com", "password": "correct horse battery"},
        400,
    ),
    (
        "register nul password",
        "/register",
        {"email": "ann@example.com", "password": f"correct{NUL}horse"},
        400,
    ),
    ("resend nul email", "/confirm/resend", {"email": f"ann@exa{NUL}mple.com"}, 400),
    (
        "login nul email",
        "/login",
        {"email": f"ann{NUL}@example.com", "password": "correct horse"},
        400,
    ),
    (
        "login nul password",
        "/login",
        {"email": "ann@example.com", "password": f"correct{NUL}horse"},
        400,
    ),
    ("confirm nul token", "/confirm", {"token": f"abc{NUL}def"}, 400),
    (
        "register long email",
        "/register",
        {"email": "a" * 5000 + "@example.com", "password": "correct horse battery"},
        400,
    ),
    (
        "register long password",
        "/register",
        {"email": "ann@example.com", "password": "p" * 5000},
        400,
    ),
    ("resend long email", "/confirm/resend", {"email": "a" * 5000 + "@example.com"}, 400),
    ("confirm long token", "/confirm", {"token": "t" * 50000}, 400),
    # Login does not explain itself: an impossible address or password is wrong credentials.
    (
        "login long email",
        "/login",
        {"email": "a" * 5000 + "@example.com", "password": "correct horse"},
        401,
    ),
    ("login long password", "/login", {"email": "ann@example.com", "password": "p" * 50000}, 401),
    (
        "nested email",
        "/register",
        {"email": {"a": {"b": ["c"]}}, "password": "correct horse battery"},
        400,
    ),
]


@pytest.mark.parametrize(
    "path, body, status", [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS]
)
def test_bad_field_is_answered_with_the_envelope(production_client, path, body, status):
    response = production_client.post(path, json=body)
    assert response.status_code == status
    assert set(response.json) == {"error"}


def _nested(depth: int) -> str:
    return '{"email": ' + '{"a": ' * depth + "1" + "}" * depth + ', "password": "x"}'


@pytest.mark.parametrize("path", ["/register", "/confirm/resend", "/login", "/confirm"])
@pytest.mark.parametrize(
    "body, status, code",
    [
        ("[" * 20000 + "]" * 20000, 400, "invalid_json"),
        (_nested(5000), 400, "invalid_json"),  # deeper than the parser's recursion limit
        (_nested(50), 400, "validation_error"),  # deep but parsable: a wrongly typed field
        (_nested(20000), 413, "payload_too_large"),  # over 64 KiB
    ],
    ids=["arrays", "objects too deep", "objects", "over 64 KiB"],
)
def test_deeply_nested_json_is_a_400_or_413(production_client, path, body, status, code):
    assert len(body.encode()) <= 64 * 1024 or status == 413
    response = production_client.post(path, data=body, content_type=JSON)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code


def test_json_with_a_charset_parameter_is_accepted(client):
    response = client.post(
        "/confirm/resend",
        data=json.dumps({"email": "ann@example.com"}).encode("utf-8"),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 202
