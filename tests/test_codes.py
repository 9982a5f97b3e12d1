"""Verification codes beside the links: confirm, change email and reset with the mailed code."""

import hashlib
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import CodeGuesses, VerificationCode
from app.timeutil import utcnow
from tests.support.accounts import NEW_PASSWORD, PASSWORD, access_token, bearer, login
from tests.support.smtp import code_in, html_part, text_part, token_in
from tests.support.waiting import wait_until

ADDRESS = "ann@example.com"
NEW = "new-home@example.com"


def register(client, email=ADDRESS, password=PASSWORD):
    assert client.post("/register", json={"email": email, "password": password}).status_code == 202


def confirm_code(client, code, email=ADDRESS):
    return client.post("/confirm/code", json={"email": email, "code": code})


def reset_code(client, code, email=ADDRESS, password=NEW_PASSWORD):
    return client.post("/password/reset", json={"email": email, "code": code, "password": password})


def error_code(response, status=400):
    assert response.status_code == status, response.json
    return response.json["error"]["code"]


def wrong(code: str) -> str:
    """A code of the same length that is not this one."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def mailed(smtp_server, count, to=ADDRESS):
    """The newest of `count` expected messages that went to `to`."""
    smtp_server.wait_for(count)
    return smtp_server.messages_to(to)[-1]


# --- the mails ---


def test_confirmation_mail_shows_the_code_beside_the_link_with_its_validity(client, smtp_server):
    register(client)
    message = mailed(smtp_server, 1)
    code = code_in(message)
    assert re.fullmatch(r"\d{6}", code)
    assert code in html_part(message)
    assert "The code is valid for 1 hour" in text_part(message)
    assert "The code is valid for 1 hour" in html_part(message)
    # Beside the link, not instead of it.
    assert token_in(message)


def test_code_length_and_lifetime_follow_the_settings(app_factory, smtp_server):
    client = app_factory(VERIFICATION_CODE_LENGTH=8, VERIFICATION_CODE_MAX_AGE=1800).test_client()
    register(client)
    message = mailed(smtp_server, 1)
    assert re.fullmatch(r"\d{8}", code_in(message))
    assert "The code is valid for 30 minutes" in text_part(message)


# --- flows through real SMTP ---


def test_code_from_the_mail_confirms_a_new_account(client, smtp_server):
    register(client)
    message = mailed(smtp_server, 1)
    assert confirm_code(client, code_in(message)).json == {"status": "confirmed"}
    assert login(client, ADDRESS).status_code == 200
    # The code worked once; the link of the same mail changes nothing any more.
    assert error_code(confirm_code(client, code_in(message))) == "code_invalid"
    token = token_in(message)
    assert client.post("/confirm", json={"token": token}).json == {"status": "already_confirmed"}


def test_link_confirms_where_the_code_was_not_used_and_ends_the_code(client, smtp_server):
    register(client)
    message = mailed(smtp_server, 1)
    assert client.post("/confirm", json={"token": token_in(message)}).json == {
        "status": "confirmed"
    }
    assert error_code(confirm_code(client, code_in(message))) == "code_invalid"


def test_confirming_ends_the_codes_of_earlier_mails_too(client, smtp_server):
    register(client)
    first = code_in(mailed(smtp_server, 1))
    assert client.post("/confirm/resend", json={"email": ADDRESS}).status_code == 202
    second = code_in(mailed(smtp_server, 2))
    assert confirm_code(client, second).json == {"status": "confirmed"}
    assert error_code(confirm_code(client, first)) == "code_invalid"


def test_case_variants_of_the_address_take_the_same_code(client, smtp_server):
    register(client, "Ann@Example.COM")
    code = code_in(mailed(smtp_server, 1, "Ann@example.com"))
    assert confirm_code(client, code, "ANN@example.com").json == {"status": "confirmed"}


def test_code_confirms_an_email_change_at_the_new_address(client, make_user, smtp_server):
    make_user(ADDRESS)
    session = access_token(client, ADDRESS)
    response = client.post(
        "/me/email", json={"new_email": NEW, "password": PASSWORD}, headers=bearer(session)
    )
    assert response.status_code == 202
    message = mailed(smtp_server, 2, NEW)
    code = code_in(message)
    # Bound to the new address: the old one (the account's current login) does not take it.
    assert error_code(confirm_code(client, code, ADDRESS)) == "code_invalid"
    assert confirm_code(client, code, NEW).json == {"status": "email_changed"}
    assert login(client, NEW).status_code == 200
    assert error_code(confirm_code(client, code, NEW)) == "code_invalid"
    assert client.post("/confirm", json={"token": token_in(message)}).json == {
        "status": "already_confirmed"
    }


def test_email_change_link_still_works_where_the_code_was_not_used(client, make_user, smtp_server):
    make_user(ADDRESS)
    session = access_token(client, ADDRESS)
    client.post("/me/email", json={"new_email": NEW, "password": PASSWORD}, headers=bearer(session))
    message = mailed(smtp_server, 2, NEW)
    assert client.post("/confirm", json={"token": token_in(message)}).json == {
        "status": "email_changed"
    }
    assert error_code(confirm_code(client, code_in(message), NEW)) == "code_invalid"


def test_code_of_a_superseded_email_change_is_dead(client, make_user, smtp_server):
    make_user(ADDRESS)
    session = access_token(client, ADDRESS)
    body = {"new_email": NEW, "password": PASSWORD}
    client.post("/me/email", json=body, headers=bearer(session))
    first = code_in(mailed(smtp_server, 2, NEW))
    client.post("/me/email", json=body, headers=bearer(session))  # asked again: a newer request
    second = code_in(mailed(smtp_server, 4, NEW))
    assert error_code(confirm_code(client, first, NEW)) == "code_invalid"
    assert confirm_code(client, second, NEW).json == {"status": "email_changed"}


def test_code_from_the_reset_mail_resets_the_password(client, make_user, smtp_server):
    make_user(ADDRESS)
    session = access_token(client, ADDRESS)
    assert client.post("/password/forgot", json={"email": ADDRESS}).status_code == 202
    message = mailed(smtp_server, 1)
    assert "The code is valid for 1 hour" in text_part(message)
    response = reset_code(client, code_in(message))
    assert response.status_code == 200 and response.json == {"status": "password_reset"}
    assert login(client, ADDRESS, PASSWORD).status_code == 401
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200
    # Signs out everywhere, as the link does.
    assert client.get("/me", headers=bearer(session)).status_code == 401
    # Used: neither the code again nor the link of the same mail works.
    assert error_code(reset_code(client, code_in(message))) == "code_invalid"
    token = token_in(message, "/password/reset")
    response = client.post("/password/reset", json={"token": token, "password": "a b c d e f g h"})
    assert error_code(response) == "token_invalid"


def test_reset_link_still_works_where_the_code_was_not_used_and_ends_it(
    client, make_user, smtp_server
):
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": ADDRESS})
    message = mailed(smtp_server, 1)
    token = token_in(message, "/password/reset")
    response = client.post("/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert response.json == {"status": "password_reset"}
    assert error_code(reset_code(client, code_in(message), password=PASSWORD)) == "code_invalid"


def test_reset_by_code_confirms_an_unconfirmed_account(client, smtp_server):
    register(client)
    smtp_server.wait_for(1)  # mails queued together may be composed and sent in either order
    client.post("/password/forgot", json={"email": ADDRESS})
    message = smtp_server.wait_for(2)[1]
    assert message["Subject"] == "Reset your password"
    assert reset_code(client, code_in(message)).json == {"status": "password_reset"}
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


def test_a_weak_password_costs_no_guess_and_keeps_the_code(app_factory, make_user, smtp_server):
    client = app_factory(VERIFICATION_CODE_MAX_ATTEMPTS=1).test_client()
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": ADDRESS})
    code = code_in(mailed(smtp_server, 1))
    response = reset_code(client, code, password="short")
    assert error_code(response) == "validation_error"
    assert "password" in response.json["error"]["fields"]
    assert reset_code(client, code).json == {"status": "password_reset"}


def test_code_confirmation_keeps_the_pre_hijacking_rule(client, smtp_server):
    register(client, password=PASSWORD)
    register(client, password="another horse battery")  # someone else, another password
    message = mailed(smtp_server, 2)
    assert confirm_code(client, code_in(message)).json == {
        "status": "confirmed",
        "password_reset_required": True,
    }
    assert login(client, ADDRESS, PASSWORD).status_code == 401
    password_set = mailed(smtp_server, 3)
    assert password_set["Subject"] == "Choose a password for your account"
    assert reset_code(client, code_in(password_set)).json == {"status": "password_reset"}
    assert login(client, ADDRESS, NEW_PASSWORD).status_code == 200


# --- what a code is bound to ---


def test_expired_code_is_invalid(client, smtp_server):
    register(client)
    code = code_in(mailed(smtp_server, 1))
    with time_machine.travel(utcnow() + timedelta(seconds=3601)):
        assert error_code(confirm_code(client, code)) == "code_invalid"
    with time_machine.travel(utcnow() + timedelta(seconds=3590)):
        assert confirm_code(client, code).json == {"status": "confirmed"}


def test_code_of_another_address_is_invalid(client, smtp_server):
    register(client, "ann@example.com")
    register(client, "bob@example.com")
    smtp_server.wait_for(2)
    ann = code_in(smtp_server.messages_to("ann@example.com")[0])
    assert error_code(confirm_code(client, ann, "bob@example.com")) == "code_invalid"
    assert confirm_code(client, ann, "ann@example.com").json == {"status": "confirmed"}


def test_reset_code_never_confirms_and_confirmation_code_never_resets(client, smtp_server):
    register(client)
    confirmation = code_in(mailed(smtp_server, 1))
    client.post("/password/forgot", json={"email": ADDRESS})
    reset = code_in(mailed(smtp_server, 2))
    assert error_code(confirm_code(client, reset)) == "code_invalid"
    assert error_code(reset_code(client, confirmation)) == "code_invalid"
    assert login(client, ADDRESS).json["error"]["code"] == "email_not_confirmed"


def test_code_issued_before_a_key_rotation_still_works(app_factory, smtp_server):
    old_key = "old-secret-key-0123456789-0123456789-abcdef"
    new_key = "new-secret-key-0123456789-0123456789-abcdef"
    register(app_factory(SECRET_KEY=old_key).test_client())
    code = code_in(mailed(smtp_server, 1))

    dropped = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]).test_client()
    assert error_code(confirm_code(dropped, code)) == "code_invalid"
    rotated = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]).test_client()
    assert confirm_code(rotated, code).json == {"status": "confirmed"}


# --- the guess cap ---


def five_wrong_then_right(client, email, right):
    responses = [confirm_code(client, wrong(right), email) for _ in range(5)]
    responses.append(confirm_code(client, right, email))
    return responses


def shape(response):
    return (
        response.status_code,
        response.json["error"]["code"],
        sorted(k for k in response.headers.keys() if k not in ("Date", "X-Request-ID")),
        response.headers.get("Retry-After"),
    )


def test_five_wrong_codes_lock_the_address_and_kill_its_codes(client, smtp_server):
    register(client)
    code = code_in(mailed(smtp_server, 1))
    with time_machine.travel(utcnow(), tick=False):
        responses = five_wrong_then_right(client, ADDRESS, code)
    assert [r.status_code for r in responses] == [400] * 5 + [429]
    assert {error_code(r) for r in responses[:5]} == {"code_invalid"}
    assert error_code(responses[5], 429) == "rate_limited"
    assert responses[5].headers["Retry-After"] == str(15 * 60)
    # The right code stays dead after the window, as does the account's other purpose.
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert error_code(confirm_code(client, code)) == "code_invalid"
    assert login(client, ADDRESS).json["error"]["code"] == "email_not_confirmed"


def test_an_address_without_account_gets_the_same_answers(client, smtp_server):
    register(client)
    code = code_in(mailed(smtp_server, 1))
    with time_machine.travel(utcnow(), tick=False):
        known = five_wrong_then_right(client, ADDRESS, code)
        unknown = five_wrong_then_right(client, "nobody@example.com", code)
    assert [shape(r) for r in known] == [shape(r) for r in unknown]
    assert [r.json for r in known] == [r.json for r in unknown]


def test_a_new_code_after_the_window_works(client, smtp_server):
    register(client)
    code = code_in(mailed(smtp_server, 1))
    for _ in range(5):
        confirm_code(client, wrong(code))
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert client.post("/confirm/resend", json={"email": ADDRESS}).status_code == 202
        fresh = code_in(mailed(smtp_server, 2))
        assert confirm_code(client, fresh).json == {"status": "confirmed"}


def test_the_cap_counts_both_endpoints_together(client, make_user, smtp_server):
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": ADDRESS})
    code = code_in(mailed(smtp_server, 1))
    for _ in range(3):
        assert error_code(confirm_code(client, wrong(code))) == "code_invalid"
    for _ in range(2):
        assert error_code(reset_code(client, wrong(code))) == "code_invalid"
    assert error_code(reset_code(client, code), 429) == "rate_limited"


def test_a_right_code_gives_back_its_guess(app_factory, make_user, smtp_server):
    client = app_factory(VERIFICATION_CODE_MAX_ATTEMPTS=2).test_client()
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": ADDRESS})
    code = code_in(mailed(smtp_server, 1))
    assert error_code(reset_code(client, wrong(code))) == "code_invalid"
    assert reset_code(client, code).status_code == 200
    # One wrong guess counted, not two: one more wrong code is still answered, then the cap.
    assert error_code(reset_code(client, code)) == "code_invalid"
    assert error_code(reset_code(client, code), 429) == "rate_limited"


def test_at_most_twenty_wrong_codes_a_day(client):
    start = utcnow()
    statuses = []
    for window in range(5):
        with time_machine.travel(start + timedelta(minutes=16 * window), tick=False):
            statuses.append([confirm_code(client, "000000").status_code for _ in range(5)])
    assert statuses == [[400] * 5] * 4 + [[429] * 5]
    with time_machine.travel(start + timedelta(minutes=16 * 4), tick=False):
        retry_after = int(confirm_code(client, "000000").headers["Retry-After"])
    assert retry_after == 24 * 3600 - 16 * 4 * 60
    with time_machine.travel(start + timedelta(days=1, minutes=1)):
        assert error_code(confirm_code(client, "000000")) == "code_invalid"


def test_the_cap_holds_with_rate_limits_switched_off(app):
    assert app.config["RATELIMIT_ENABLED"] is False  # as every test app here
    client = app.test_client()
    statuses = [confirm_code(client, "123456", "x@example.com").status_code for _ in range(7)]
    assert statuses == [400] * 5 + [429] * 2


# --- bad input ---


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"email", "code"}),
        ({"email": ADDRESS}, {"code"}),
        ({"code": "123456"}, {"email"}),
        ({"email": "not an address", "code": "123456"}, {"email"}),
        ({"email": ADDRESS, "code": 123456}, {"code"}),
        ({"email": ADDRESS, "code": "1" * 33}, {"code"}),
    ],
)
def test_code_confirmation_refuses_malformed_bodies(client, body, fields):
    response = client.post("/confirm/code", json=body)
    assert error_code(response) == "validation_error"
    assert set(response.json["error"]["fields"]) == fields


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"token", "password"}),
        ({"password": NEW_PASSWORD}, {"token"}),
        ({"email": ADDRESS, "password": NEW_PASSWORD}, {"code"}),
        ({"code": "123456", "password": NEW_PASSWORD}, {"email"}),
        ({"email": ADDRESS, "code": "123456"}, {"password"}),
    ],
)
def test_reset_refuses_a_body_that_completes_neither_form(client, body, fields):
    response = client.post("/password/reset", json=body)
    assert error_code(response) == "validation_error"
    assert set(response.json["error"]["fields"]) == fields


def test_malformed_bodies_cost_no_guess(client):
    for _ in range(10):
        client.post("/confirm/code", json={"email": ADDRESS})
    assert error_code(confirm_code(client, "123456")) == "code_invalid"


def test_spaces_and_dashes_in_a_typed_code_are_ignored(client, smtp_server):
    register(client)
    code = code_in(mailed(smtp_server, 1))
    assert confirm_code(client, f" {code[:3]}-{code[3:]} ").json == {"status": "confirmed"}


# --- storage and logs ---


def dump_database(app) -> str:
    """Every row of every table, as text: what a leaked backup would show."""
    with app.app_context():
        inspector = sa.inspect(db.engine)
        lines = []
        with db.engine.connect() as connection:
            for table in inspector.get_table_names():
                for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                    lines.append(f"{table}: {tuple(row)!r}")
        return "\n".join(lines)


def test_database_holds_no_code_only_its_keyed_hash(app, client, smtp_server, make_user):
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": ADDRESS})
    register(client, "bob@example.com")
    smtp_server.wait_for(2)
    codes = [code_in(m) for m in smtp_server.messages]
    dump = dump_database(app)
    assert "verification_codes" in dump  # the rows are there
    for code in codes:
        assert code not in dump
        # Nor an unkeyed hash of it, which a dump alone would let anyone reverse in a second.
        for algorithm in ("md5", "sha1", "sha224", "sha256", "sha512"):
            assert hashlib.new(algorithm, code.encode()).hexdigest() not in dump
    with app.app_context():
        stored = db.session.scalars(sa.select(VerificationCode.code_hash)).all()
    assert len(stored) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


def test_a_whole_code_flow_logs_no_code(app_factory, smtp_server, caplog):
    app = app_factory(RATELIMIT_ENABLED=True)
    caplog.set_level(logging.DEBUG)
    for name in ("flask-limiter", "app", "werkzeug", "flask.app"):
        caplog.set_level(logging.DEBUG, logger=name)
    client = app.test_client()
    register(client)
    confirmation = code_in(mailed(smtp_server, 1))
    assert error_code(confirm_code(client, wrong(confirmation))) == "code_invalid"
    assert confirm_code(client, confirmation).json == {"status": "confirmed"}
    client.post("/password/forgot", json={"email": ADDRESS})
    reset = code_in(mailed(smtp_server, 2))
    assert reset_code(client, reset).status_code == 200
    # The server has the mail a moment before the dispatcher marks the row sent and logs it.
    wait_until(
        lambda: any("outbox row 2 sent" in r.getMessage() for r in caplog.records),
        what="the delivery log line",
    )
    text = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert "outbox row 2 sent" in text  # the flow logged: an empty capture would prove nothing
    for code in (confirmation, wrong(confirmation), reset):
        assert code not in text


def test_purging_an_unconfirmed_account_removes_its_codes(app, client, smtp_server):
    from app import services

    register(client)
    mailed(smtp_server, 1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCode)) == 1
    with time_machine.travel(utcnow() + timedelta(days=8)), app.app_context():
        assert services.purge_unconfirmed(timedelta(days=7)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCode)) == 0


def test_delivery_deletes_expired_codes_now_and_then_and_keeps_valid_ones(app_factory):
    from app import codes, outbox

    app = app_factory(OUTBOX_AUTODISPATCH=False)
    client = app.test_client()
    register(client, "old@example.com")
    with app.app_context():
        assert outbox.deliver_due()["sent"] == 1
    register(client, "new@example.com")

    def addresses_with_codes():
        return set(db.session.scalars(sa.select(VerificationCode.address_hash)))

    life = app.config["VERIFICATION_CODE_MAX_AGE"]
    with time_machine.travel(utcnow() + timedelta(seconds=life), tick=False), app.app_context():
        old, new = codes.address_hash("old@example.com"), codes.address_hash("new@example.com")
        # Within a minute of the last removal, an expired code waits for the next one.
        assert outbox.deliver_due()["sent"] == 1
        assert addresses_with_codes() == {old, new}
        app.extensions["outbox_codes_removed_at"][0] -= outbox.EXPIRED_CODES_EVERY_SECONDS
        assert outbox.deliver_due()["sent"] == 0
        assert addresses_with_codes() == {new}


def test_spent_guess_counts_go_with_the_expired_codes(app_factory):
    from app import codes, outbox

    app = app_factory(OUTBOX_AUTODISPATCH=False)
    client = app.test_client()
    confirm_code(client, "123456", "old@example.com")
    with app.app_context():
        outbox.deliver_due()  # the last removal: now

    def guessed_at():
        return set(db.session.scalars(sa.select(CodeGuesses.address_hash)))

    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1), tick=False):
        confirm_code(client, "123456", "new@example.com")
        with app.app_context():
            old, new = codes.address_hash("old@example.com"), codes.address_hash("new@example.com")
            assert guessed_at() == {old, new}
            app.extensions["outbox_codes_removed_at"][0] -= outbox.EXPIRED_CODES_EVERY_SECONDS
            outbox.deliver_due()
            # A day and a window past its guess, old@'s count is spent; new@'s still counts.
            assert guessed_at() == {new}


def test_guess_counts_are_filed_under_a_hash_not_the_address(app, client):
    confirm_code(client, "123456", "nobody@example.com")
    with app.app_context():
        [key] = db.session.scalars(sa.select(CodeGuesses.address_hash)).all()
    assert "nobody" not in key and re.fullmatch(r"[0-9a-f]+", key)


def test_only_the_three_newest_codes_of_an_address_work(client, smtp_server):
    register(client)
    # One mail at a time: queued together, two mails may be composed in either order.
    smtp_server.wait_for(1)
    for count in range(2, 5):
        assert client.post("/confirm/resend", json={"email": ADDRESS}).status_code == 202
        smtp_server.wait_for(count)
    first, second, *_ = [code_in(m) for m in smtp_server.messages_to(ADDRESS)]
    # Each code compared is one more chance for a guess: mails cannot multiply the odds.
    assert error_code(confirm_code(client, first)) == "code_invalid"
    assert confirm_code(client, second).json == {"status": "confirmed"}


def test_change_code_for_an_address_taken_meanwhile_is_code_invalid(client, make_user, smtp_server):
    make_user(ADDRESS)
    session = access_token(client, ADDRESS)
    client.post("/me/email", json={"new_email": NEW, "password": PASSWORD}, headers=bearer(session))
    code = code_in(mailed(smtp_server, 2, NEW))
    make_user(NEW)  # someone else signed up with the new address while the change waited
    response = confirm_code(client, code, NEW)
    assert error_code(response) == "code_invalid"
    assert login(client, ADDRESS).status_code == 200
