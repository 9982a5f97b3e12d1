"""No enumeration by timing: each branch of registration and login takes about as long."""

import statistics
import time

import pytest

from config import Config
from tests.support.accounts import PASSWORD

ROUNDS = 20  # requests per branch, interleaved so that drift hits every branch alike
# Hashing dominates every branch (about 30 ms at the production parameters on this 2-core
# machine); the leak this guards against, a branch without a hash, is a ratio of 5 or more,
# and a branch with two hashes is 2. Database work differs by a few ms between branches
# (an insert against a select), so 1.5 catches both leaks with room for that and for noise.
MAX_RATIO = 1.5

pytestmark = pytest.mark.slow


@pytest.fixture
def timed_app(app_factory):
    return app_factory(
        # The production Argon2 parameters: with cheap ones the database would dominate.
        ARGON2_TIME_COST=Config.ARGON2_TIME_COST,
        ARGON2_MEMORY_COST=Config.ARGON2_MEMORY_COST,
        ARGON2_PARALLELISM=Config.ARGON2_PARALLELISM,
        # Delivery runs off the request path; a sending thread would only add noise here.
        OUTBOX_AUTODISPATCH=False,
    )


@pytest.fixture
def accounts(timed_app):
    """One unconfirmed and one confirmed account, hashed with the production parameters."""
    from app import passwords
    from app.addresses import email_key
    from app.extensions import db
    from app.models import User
    from app.timeutil import utcnow

    with timed_app.app_context():
        for email, confirmed_at in (("pending@example.com", None), ("owner@example.com", utcnow())):
            hashed = passwords.hash_password(PASSWORD)
            db.session.add(
                User(
                    email=email,
                    email_key=email_key(email),
                    password_hash=hashed,
                    confirmed_at=confirmed_at,
                )
            )
        db.session.commit()


def median_latencies(client, branches: dict) -> dict[str, float]:
    samples = {name: [] for name in branches}
    for send in branches.values():  # warm up each path once (caches, statements)
        send(-1)
    for n in range(ROUNDS):
        for name, send in branches.items():
            started = time.perf_counter()
            response = send(n)
            samples[name].append(time.perf_counter() - started)
            assert response.status_code < 500
    return {name: statistics.median(values) for name, values in samples.items()}


def assert_alike(medians: dict[str, float]) -> None:
    ratio = max(medians.values()) / min(medians.values())
    shown = ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in medians.items())
    print(f"medians: {shown}; ratio {ratio:.2f}")
    assert ratio < MAX_RATIO, f"timing tells the branches apart: {shown} (ratio {ratio:.2f})"


def test_registration_takes_as_long_for_new_unconfirmed_and_confirmed(timed_app, accounts):
    client = timed_app.test_client()

    def register(email):
        return lambda n: client.post("/register", json={"email": email(n), "password": PASSWORD})

    medians = median_latencies(
        client,
        {
            "new": register(lambda n: f"new{n}@example.com"),
            "unconfirmed": register(lambda n: "pending@example.com"),
            "confirmed": register(lambda n: "owner@example.com"),
        },
    )
    assert_alike(medians)


def test_login_takes_as_long_for_unknown_wrong_password_and_unconfirmed(timed_app, accounts):
    client = timed_app.test_client()

    def login(email, password):
        return lambda n: client.post("/login", json={"email": email, "password": password})

    medians = median_latencies(
        client,
        {
            "unknown": login("nobody@example.com", PASSWORD),
            "wrong password": login("owner@example.com", "not the password"),
            "right password, unconfirmed": login("pending@example.com", PASSWORD),
        },
    )
    assert_alike(medians)


# Both queue one outbox row for any well-formed address; the account is looked up at delivery.
@pytest.mark.parametrize("path", ["/confirm/resend", "/password/forgot"])
def test_mail_request_takes_as_long_for_unknown_unconfirmed_and_confirmed(
    timed_app, accounts, path
):
    client = timed_app.test_client()

    def ask(email):
        return lambda n: client.post(path, json={"email": email})

    medians = median_latencies(
        client,
        {
            "unknown": ask("nobody@example.com"),
            "unconfirmed": ask("pending@example.com"),
            "confirmed": ask("owner@example.com"),
        },
    )
    assert_alike(medians)


@pytest.fixture
def code_accounts(timed_app):
    """Per round n: an address with a live code, one with an expired code, one with none."""
    from datetime import timedelta

    from app import codes, passwords
    from app.addresses import email_key
    from app.extensions import db
    from app.models import User
    from app.purposes import confirm_email, reset_password
    from app.timeutil import utcnow

    with timed_app.app_context():
        hashed = passwords.hash_password(PASSWORD)
        for n in range(-1, ROUNDS):
            for kind in ("pending", "expired", "idle"):
                email = f"{kind}{n}@example.com"
                user = User(email=email, email_key=email_key(email), password_hash=hashed)
                db.session.add(user)
                db.session.flush()
                if kind != "idle":
                    confirm_email.make_code(user, email)
                    reset_password.make_code(user)
        db.session.flush()
        db.session.execute(
            db.update(codes.VerificationCode)
            .where(
                codes.VerificationCode.address_hash.in_(
                    [codes.address_hash(f"expired{n}@example.com") for n in range(-1, ROUNDS)]
                )
            )
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


# A wrong code, an expired one, an address with nothing pending and one with no account all
# answer code_invalid: each reserves a guess, compares against the address's codes and stops.
@pytest.mark.parametrize(
    "path, extra",
    [("/confirm/code", {}), ("/password/reset", {"password": "staple battery horse correct"})],
)
def test_wrong_code_takes_as_long_whatever_the_address_holds(timed_app, code_accounts, path, extra):
    client = timed_app.test_client()

    def guess(kind):
        def send(n):
            body = {"email": f"{kind}{n}@example.com", "code": "000000", **extra}
            response = client.post(path, json=body)
            assert response.status_code == 400, response.json
            assert response.json["error"]["code"] == "code_invalid"
            return response

        return send

    medians = median_latencies(
        client,
        {
            "wrong code": guess("pending"),
            "expired code": guess("expired"),
            "nothing pending": guess("idle"),
            "no account": guess("nobody"),
        },
    )
    assert_alike(medians)
