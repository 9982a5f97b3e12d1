"""Rate limits per client IP and per target address: 429 envelope, Retry-After, no enumeration."""

import time

import pytest
import time_machine

from tests.support.accounts import PASSWORD

# Generous on the side a test does not exercise, so only the limit under test can trip.
WIDE = "1000/minute"

ENDPOINTS = [
    (
        "/register",
        "RATELIMIT_REGISTER",
        lambda n: {"email": f"u{n}@example.com", "password": PASSWORD},
    ),
    ("/confirm/resend", "RATELIMIT_EMAIL_SEND", lambda n: {"email": f"u{n}@example.com"}),
    ("/login", "RATELIMIT_LOGIN", lambda n: {"email": f"u{n}@example.com", "password": PASSWORD}),
]


def limited_app(app_factory, **limits):
    settings = {
        "RATELIMIT_REGISTER": WIDE,
        "RATELIMIT_LOGIN": WIDE,
        "RATELIMIT_EMAIL_SEND": WIDE,
        "RATELIMIT_PER_ADDRESS": WIDE,
        "RATELIMIT_LOGIN_PER_ADDRESS": WIDE,
        **limits,
    }
    return app_factory(RATELIMIT_ENABLED=True, OUTBOX_AUTODISPATCH=False, **settings)


def assert_rate_limited(response):
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert set(response.json) == {"error"}
    assert 0 < int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("path, setting, body", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_per_ip_limit_answers_429_with_retry_after(app_factory, path, setting, body):
    client = limited_app(app_factory, **{setting: "3/minute"}).test_client()
    # A different address each time: only the client IP is common to the requests.
    for n in range(3):
        assert client.post(path, json=body(n)).status_code != 429
    assert_rate_limited(client.post(path, json=body(99)))


@pytest.mark.parametrize(
    "path, setting, body",
    [
        ("/register", "RATELIMIT_PER_ADDRESS", {"email": "Ann@Example.COM", "password": PASSWORD}),
        ("/confirm/resend", "RATELIMIT_PER_ADDRESS", {"email": "ann@example.com"}),
        (
            "/login",
            "RATELIMIT_LOGIN_PER_ADDRESS",
            {"email": "ann@example.com", "password": "wrong pw 1"},
        ),
    ],
)
def test_per_address_limit_counts_one_address_whatever_its_spelling(
    app_factory, path, setting, body
):
    client = limited_app(app_factory, **{setting: "2/minute"}).test_client()
    assert client.post(path, json=body).status_code != 429
    other_spelling = {**body, "email": body["email"].upper()}
    assert client.post(path, json=other_spelling).status_code != 429
    assert_rate_limited(client.post(path, json=body))
    # Another address from the same client is not affected.
    assert client.post(path, json={**body, "email": "bob@example.com"}).status_code != 429


def _visible(response) -> tuple:
    headers = {k: v for k, v in response.headers if k not in ("X-Request-ID", "Date")}
    return response.status_code, response.get_data(), sorted(headers.items())


@pytest.mark.parametrize("path", ["/register", "/confirm/resend", "/login"])
@pytest.mark.parametrize("state", ["unconfirmed", "confirmed"])
def test_per_address_limit_answers_the_same_for_existing_and_unknown_addresses(
    app_factory, make_user, path, state
):
    settings = {"RATELIMIT_PER_ADDRESS": "2/minute", "RATELIMIT_LOGIN_PER_ADDRESS": "2/minute"}
    app = limited_app(app_factory, **settings)
    make_user("taken@example.com", PASSWORD, confirmed=state == "confirmed")
    client = app.test_client()

    def run(address):
        # A wrong password for login, so both addresses take the counted (failure) path.
        body = {"email": address, "password": "not the password 1"}
        return [_visible(client.post(path, json=body)) for _ in range(3)]

    # Frozen clock: Retry-After and X-RateLimit-Reset count seconds, and a slow machine
    # would otherwise let the two runs straddle a second boundary.
    with time_machine.travel(time.time(), tick=False):
        existing, unknown = run("taken@example.com"), run("nobody@example.com")
    assert [status for status, *_ in existing] == [status for status, *_ in unknown]
    assert existing[-1][0] == 429
    assert existing[-1] == unknown[-1]


def test_register_and_resend_share_one_mail_budget_per_address(app_factory):
    client = limited_app(app_factory, RATELIMIT_PER_ADDRESS="2/minute").test_client()
    assert (
        client.post(
            "/register", json={"email": "ann@example.com", "password": PASSWORD}
        ).status_code
        == 202
    )
    assert client.post("/confirm/resend", json={"email": "ann@example.com"}).status_code == 202
    assert_rate_limited(client.post("/confirm/resend", json={"email": "ann@example.com"}))
    assert_rate_limited(
        client.post("/register", json={"email": "ann@example.com", "password": PASSWORD})
    )


def test_login_per_address_counts_only_failures(app_factory, make_user):
    client = limited_app(app_factory, RATELIMIT_LOGIN_PER_ADDRESS="2/minute").test_client()
    make_user("ann@example.com", PASSWORD)
    right = {"email": "ann@example.com", "password": PASSWORD}
    wrong = {**right, "password": "not the password"}
    for _ in range(4):  # the owner's own sign-ins never use up the budget
        assert client.post("/login", json=right).status_code == 200
    assert client.post("/login", json=wrong).status_code == 401
    assert client.post("/login", json=wrong).status_code == 401
    # Once the failures are used up the address is throttled, the right password included.
    assert_rate_limited(client.post("/login", json=right))


def test_x_forwarded_for_is_ignored_by_default(app_factory):
    client = limited_app(app_factory, RATELIMIT_EMAIL_SEND="2/minute").test_client()
    for n in range(2):
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        client.post("/confirm/resend", json={"email": f"u{n}@example.com"}, headers=headers)
    spoofed = {"X-Forwarded-For": "203.0.113.77"}
    assert_rate_limited(
        client.post("/confirm/resend", json={"email": "u9@example.com"}, headers=spoofed)
    )


def test_x_forwarded_for_is_honoured_for_the_configured_proxies(app_factory):
    app = limited_app(app_factory, RATELIMIT_EMAIL_SEND="2/minute", PROXY_FIX_X_FOR=1)
    client = app.test_client()

    def resend(n, forwarded_for):
        return client.post(
            "/confirm/resend",
            json={"email": f"u{n}@example.com"},
            headers={"X-Forwarded-For": forwarded_for},
        )

    # Two clients behind our one proxy have separate budgets.
    for n in range(2):
        assert resend(n, "198.51.100.1").status_code == 202
    assert resend(2, "198.51.100.2").status_code == 202
    assert_rate_limited(resend(3, "198.51.100.1"))
    # What the client itself puts in front of the header is not trusted: only the hop our
    # proxy appended (the rightmost) names the client.
    assert_rate_limited(resend(4, "10.9.9.9, 198.51.100.1"))
