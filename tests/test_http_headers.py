"""Security headers on every response, and CORS only for the configured origins."""

import pytest

from app import services
from tests.support.accounts import PASSWORD

ALLOWED = "https://app.example.com"
BROWSER = {"Accept": "text/html"}


@pytest.fixture
def production_client(production_client, monkeypatch):
    """Production error handling, with /confirm/resend failing unexpectedly (a 500 to look at)."""

    def explode(email, locale):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "resend_confirmation", explode)
    return production_client


def test_every_kind_of_response_says_nosniff(client, production_client):
    responses = {
        "json": client.get("/healthz"),
        "html": client.get("/confirm?token=nope", headers=BROWSER),
        "404": client.get("/nowhere"),
        "405": client.delete("/login"),
        "options": client.options("/login"),
        "500": production_client.post("/confirm/resend", json={"email": "a@example.com"}),
    }
    assert responses["500"].status_code == 500
    assert responses["html"].mimetype == "text/html"
    for kind, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["Cache-Control"] == "no-store", kind


def test_token_bearing_answers_are_not_stored(client, make_user):
    make_user("ann@example.com", PASSWORD)
    login = client.post("/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert login.json["access_token"]
    assert login.headers["Cache-Control"] == "no-store"
    me = client.get("/me", headers={"Authorization": f"Bearer {login.json['access_token']}"})
    assert me.status_code == 200
    assert me.headers["Cache-Control"] == "no-store"


def test_no_cookie_session_is_read_or_set(app, client, make_user):
    from flask import session

    make_user("ann@example.com", PASSWORD)
    # The API keeps no session: a cookie is not even read, and nothing can be stored.
    with app.test_request_context("/healthz", headers={"Cookie": "session=x"}):
        app.preprocess_request()
        assert dict(session) == {}
        with pytest.raises(RuntimeError):
            session["user"] = 1
    login = client.post("/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert "Set-Cookie" not in login.headers


def test_html_pages_have_a_strict_policy_and_send_no_referrer(client, smtp_server):
    from tests.support.smtp import token_in

    client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    token = token_in(smtp_server.wait_for(1)[0])
    page = client.get(f"/confirm?token={token}", headers=BROWSER)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert token in page.get_data(as_text=True)  # the page that must not leak it onwards
    assert page.headers["Referrer-Policy"] == "no-referrer"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert "script-src" not in policy  # default-src 'none': no script at all


def test_no_cors_headers_without_configured_origins(client):
    response = client.post(
        "/confirm/resend", json={"email": "a@example.com"}, headers={"Origin": ALLOWED}
    )
    assert not [name for name in response.headers.keys() if name.startswith("Access-Control-")]


@pytest.fixture
def cors_client(app_factory):
    return app_factory(CORS_ORIGINS=[ALLOWED]).test_client()


def test_preflight_from_an_allowed_origin_is_answered(cors_client):
    response = cors_client.options(
        "/login",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_from_another_origin_gets_no_allow_headers(cors_client):
    response = cors_client.options(
        "/login",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert not [name for name in response.headers.keys() if name.startswith("Access-Control-")]
    assert "Origin" in response.headers["Vary"]


def test_actual_request_from_allowed_origin_may_read_the_answer(cors_client):
    allowed = cors_client.post(
        "/confirm/resend", json={"email": "a@example.com"}, headers={"Origin": ALLOWED}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Retry-After" in allowed.headers["Access-Control-Expose-Headers"]
    other = cors_client.post(
        "/confirm/resend",
        json={"email": "a@example.com"},
        headers={"Origin": "https://app.example.com.evil.net"},
    )
    assert other.status_code == 202
    assert "Access-Control-Allow-Origin" not in other.headers


def test_preflight_to_an_unknown_path_is_the_json_404(cors_client):
    response = cors_client.options(
        "/nowhere", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
