"""English and Korean: complete catalogs, mails in the account's language, JSON by Accept-Language."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app import ConfigError, create_app
from app.extensions import db
from app.models import OutboxEmail
from tests.support.accounts import BROWSER, NEW_PASSWORD, PASSWORD, access_token, bearer, path_of
from tests.support.smtp import html_part, link_in, text_part, token_in

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "app" / "translations"
HANGUL = re.compile(r"[가-힣]")
ADDRESS = "ann@example.com"
NEW_ADDRESS = "ann.new@example.com"
# Phrases every English mail has somewhere (greeting, validity, footer, advice), and none of
# which may survive in a Korean one. The app name ("Account service") stays as it is.
ENGLISH_PHRASES = [
    "Hello",
    "is valid for",
    "This email was sent",
    "If ",
    " your ",
    "not work",
    "Or enter",
]
KOREAN = {"Accept-Language": "ko"}


# --- the catalogs ---


def _catalog_ids(catalog) -> set[str]:
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The message ids the code and templates use today, extracted by pybabel."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel", "-q", "extract", "-F", str(TRANSLATIONS / "babel.cfg"),
            "-k", "lazy_gettext", "--no-location", "-o", str(pot), str(ROOT),
        ]
    )  # fmt: skip
    with pot.open("rb") as file:
        catalog = read_po(file)
    ids = _catalog_ids(catalog)
    assert len(ids) > 80, "extraction found too few messages: is babel.cfg still right?"
    return ids


def _languages() -> list[str]:
    return sorted(path.name for path in TRANSLATIONS.iterdir() if (path / "LC_MESSAGES").is_dir())


def test_korean_is_one_of_the_catalogs():
    assert "ko" in _languages()


@pytest.mark.parametrize("language", _languages())
def test_every_message_is_translated_and_no_catalog_is_stale(extracted, language):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file)
    translated = {m.id: m for m in catalog if m.id}
    missing = extracted - set(translated)
    assert not missing, f"{language} lacks (run `make translations`): {sorted(missing)}"
    stale = set(translated) - extracted
    assert not stale, f"{language} still has messages the code no longer uses: {sorted(stale)}"
    empty = [m.id for m in translated.values() if not m.string]
    assert not empty, f"{language} has untranslated messages: {empty}"
    fuzzy = [m.id for m in translated.values() if m.fuzzy]
    assert not fuzzy, f"{language} has fuzzy (unchecked) translations: {fuzzy}"
    problems = [
        (m.id, errors) for m in catalog if m.id for errors in [list(m.check(catalog))] if errors
    ]
    assert not problems, f"{language}: placeholders that do not match: {problems}"


@pytest.mark.parametrize("language", _languages())
def test_the_compiled_catalog_matches_its_source(language):
    """The .mo files are committed: one compiled from an older .po would serve old texts."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as file:
        source = {m.id: m.string for m in read_po(file) if m.id}
    with (folder / "messages.mo").open("rb") as file:
        compiled = {m.id: m.string for m in read_mo(file) if m.id}
    assert compiled == source, "run `make translations` to recompile"


def test_the_committed_template_lists_what_the_code_uses(extracted):
    with (TRANSLATIONS / "messages.pot").open("rb") as file:
        assert _catalog_ids(read_po(file)) == extracted


# --- settings ---


@pytest.mark.parametrize(
    "overrides, variable",
    [
        ({"DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE"),
        ({"SUPPORTED_LOCALES": ["en", "ko", "fr"]}, "SUPPORTED_LOCALES"),
        ({"SUPPORTED_LOCALES": []}, "SUPPORTED_LOCALES"),
    ],
)
def test_language_settings_are_checked_at_start(overrides, variable):
    with pytest.raises(ConfigError, match=variable):
        create_app("testing", overrides)


def test_korean_can_be_the_default(app_factory, smtp_server):
    client = app_factory(DEFAULT_LOCALE="ko").test_client()
    response = client.post("/register", json={"email": "bad", "password": PASSWORD})
    assert response.headers["Content-Language"] == "ko"
    assert HANGUL.search(response.json["error"]["message"])


# --- mails ---


def _mail_journey(client, smtp_server, locale: str | None, headers=None) -> dict:
    """Register (with `locale`), then cause each mail an account gets; return them by kind."""
    got = {}

    def next_mail(kind, to=ADDRESS):
        count = len(smtp_server.messages) + 1
        message = smtp_server.wait_for(count)[count - 1]
        assert message["To"] == to
        got[kind] = message
        return message

    body = {"email": ADDRESS, "password": PASSWORD}
    if locale is not None:
        body["locale"] = locale
    assert client.post("/register", json=body, headers=headers).status_code == 202
    next_mail("confirm")
    # Registered again with another password before confirming: confirming keeps neither.
    client.post("/register", json={"email": ADDRESS, "password": NEW_PASSWORD})
    token = token_in(next_mail("confirm_again"))
    assert client.post("/confirm", json={"token": token}).json["password_reset_required"]
    password_set = next_mail("password_set")
    reset_token = token_in(password_set, "/password/reset")
    reset = client.post("/password/reset", json={"token": reset_token, "password": PASSWORD})
    assert reset.status_code == 200
    client.post("/register", json={"email": ADDRESS, "password": PASSWORD})
    next_mail("already_registered")
    client.post("/password/forgot", json={"email": ADDRESS})
    next_mail("password_reset")
    session = access_token(client, ADDRESS)
    change = client.post(
        "/me/email", json={"new_email": NEW_ADDRESS, "password": PASSWORD}, headers=bearer(session)
    )
    assert change.status_code == 202
    smtp_server.wait_for(len(smtp_server.messages) + 2)
    [got["email_change_confirm"]] = smtp_server.messages_to(NEW_ADDRESS)
    got["email_change_notice"] = smtp_server.messages_to(ADDRESS)[-1]
    return got


class _VisibleText(HTMLParser):
    """The text a reader sees in an HTML part: no markup, no <style>, no <title>."""

    def __init__(self):
        super().__init__()
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("style", "title")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("style", "title")

    def handle_data(self, data):
        if not self._hidden:
            self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.chunks)


def _assert_korean(kind, message):
    subject, text, html = message["Subject"], text_part(message), html_part(message)
    assert HANGUL.search(subject) and not re.search(r"[A-Za-z]", subject), (kind, subject)
    for part_name, part in (("text", text), ("html", visible_text(html))):
        assert HANGUL.search(part), (kind, part_name)
        for phrase in ENGLISH_PHRASES:
            assert phrase not in part, (kind, part_name, phrase)
    assert '<html lang="ko">' in html


def _assert_english(kind, message):
    subject, text, html = message["Subject"], text_part(message), html_part(message)
    for part in (subject, text, html):
        assert not HANGUL.search(part), kind
    assert "Hello" in text and "Hello" in html, kind
    assert '<html lang="en">' in html


def test_a_korean_account_gets_every_mail_in_korean(client, smtp_server):
    mails = _mail_journey(client, smtp_server, "ko-KR")
    assert set(mails) == {
        "confirm", "confirm_again", "password_set", "already_registered", "password_reset",
        "email_change_confirm", "email_change_notice",
    }  # fmt: skip
    for kind, message in mails.items():
        _assert_korean(kind, message)
    # Durations in Babel's Korean, links that open Korean pages.
    assert "24시간" in text_part(mails["confirm"]) and "24시간" in html_part(mails["confirm"])
    assert "1시간" in text_part(mails["password_reset"])
    assert "7일" in text_part(mails["email_change_notice"])
    assert "&lang=ko" in text_part(mails["confirm"])
    assert "&amp;lang=ko" in html_part(mails["confirm"])


def test_an_english_account_gets_every_mail_in_english(client, smtp_server):
    mails = _mail_journey(client, smtp_server, "en")
    for kind, message in mails.items():
        _assert_english(kind, message)
    assert "24 hours" in text_part(mails["confirm"])
    assert "7 days" in text_part(mails["email_change_notice"])
    assert "&lang=en" in text_part(mails["password_reset"])


def test_without_locale_the_accept_language_of_the_sign_up_decides(client, smtp_server):
    headers = {"Accept-Language": "fr-CH, ko-KR;q=0.8, en;q=0.5"}
    client.post("/register", json={"email": ADDRESS, "password": PASSWORD}, headers=headers)
    [message] = smtp_server.wait_for(1)
    _assert_korean("confirm", message)


def test_a_french_registration_falls_back_to_english(client, smtp_server):
    response = client.post(
        "/register",
        json={"email": ADDRESS, "password": PASSWORD, "locale": "fr-FR"},
        headers=KOREAN,  # the explicit locale wins, even when it is not one we speak
    )
    assert response.status_code == 202
    [message] = smtp_server.wait_for(1)
    _assert_english("confirm", message)
    client.post("/confirm", json={"token": token_in(message)})
    me = client.get("/me", headers=bearer(access_token(client, ADDRESS)))
    assert me.json["locale"] == "en"


def test_patch_me_switches_the_language_of_the_next_mail(client, smtp_server):
    client.post("/register", json={"email": ADDRESS, "password": PASSWORD})
    [confirm] = smtp_server.wait_for(1)
    _assert_english("confirm", confirm)
    client.post("/confirm", json={"token": token_in(confirm)})
    session = bearer(access_token(client, ADDRESS))
    assert client.get("/me", headers=session).json["locale"] == "en"

    response = client.patch("/me", json={"locale": "ko-KR"}, headers=session)
    assert response.status_code == 200
    assert response.json == client.get("/me", headers=session).json
    assert response.json["locale"] == "ko" and response.json["email"] == ADDRESS

    client.post("/password/forgot", json={"email": ADDRESS})  # no Accept-Language at all
    _assert_korean("password_reset", smtp_server.wait_for(2)[1])


@pytest.mark.parametrize(
    "body",
    [{"locale": "fr"}, {"locale": "klingon-and-more"}, {"locale": 7}, {"locale": None}, {}],
)
def test_patch_me_refuses_a_language_we_do_not_speak(client, make_user, body):
    make_user(ADDRESS)
    session = bearer(access_token(client, ADDRESS))
    response = client.patch("/me", json=body, headers=session)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert set(response.json["error"]["fields"]) == {"locale"}
    assert client.get("/me", headers=session).json["locale"] == "en"


def test_patch_me_needs_a_bearer_token(client):
    response = client.patch("/me", json={"locale": "ko"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("locale", [7, ["ko"], {"tag": "ko"}, True])
def test_a_locale_that_is_not_a_string_is_a_validation_error(client, smtp_server, locale):
    body = {"email": ADDRESS, "password": PASSWORD, "locale": locale}
    response = client.post("/register", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert set(response.json["error"]["fields"]) == {"locale"}


def test_mails_for_an_address_alone_keep_the_requesters_language(app, client, make_user):
    """forgot and resend queue a row with no account: the request's language rides with it."""
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": "nobody@example.com"}, headers=KOREAN)
    client.post("/confirm/resend", json={"email": "nobody@example.com"})
    with app.app_context():
        rows = db.session.scalars(db.select(OutboxEmail).order_by(OutboxEmail.id)).all()
        assert [(row.kind, row.user_id, row.payload) for row in rows] == [
            ("password_reset", None, {"locale": "ko"}),
            ("confirm", None, {"locale": "en"}),
        ]
        # With no account to ask, the mail is composed in the queued language.
        from app.emails import mail_locale

        assert mail_locale(rows[0], None) == "ko"


def test_link_templates_may_carry_the_language(app_factory, smtp_server):
    client = app_factory(
        CONFIRM_URL_TEMPLATE="myapp://confirm?token={token}&hl={lang}"
    ).test_client()
    client.post("/register", json={"email": ADDRESS, "password": PASSWORD, "locale": "ko"})
    [message] = smtp_server.wait_for(1)
    assert re.search(r"myapp://confirm\?token=[\w.\-]+&hl=ko", text_part(message))


def test_the_html_part_has_its_css_inlined_and_keeps_dark_mode(client, smtp_server):
    client.post("/register", json={"email": ADDRESS, "password": PASSWORD})
    html = html_part(smtp_server.wait_for(1)[0])
    assert re.search(r'<a class="button" href="[^"]+" style="[^"]*background: #0b57d0', html)
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html  # only a <style> can say this


# --- JSON answers and pages ---

ERRORS = [
    ("post", "/register", {"json": {"email": "nope", "password": "short"}}, 400, "validation_error"),
    ("post", "/register", {"data": "{", "content_type": "application/json"}, 400, "invalid_json"),
    ("post", "/register", {"data": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("post", "/login", {"json": {"email": ADDRESS, "password": "wrong password"}}, 401, "invalid_credentials"),
    ("post", "/confirm", {"json": {"token": "bad"}}, 400, "token_invalid"),
    ("post", "/confirm/code", {"json": {"email": ADDRESS, "code": "000000"}}, 400, "code_invalid"),
    ("get", "/me", {}, 401, "unauthorized"),
    ("get", "/nowhere", {}, 404, "not_found"),
    ("delete", "/login", {}, 405, "method_not_allowed"),
]  # fmt: skip


@pytest.mark.parametrize("method, path, kwargs, status, code", ERRORS)
def test_errors_in_korean_keep_their_status_and_code(client, method, path, kwargs, status, code):
    english = getattr(client, method)(path, headers={"Accept-Language": "en"}, **kwargs)
    korean = getattr(client, method)(path, headers={"Accept-Language": "ko-KR,ko;q=0.9"}, **kwargs)
    assert english.status_code == korean.status_code == status
    assert english.json["error"]["code"] == korean.json["error"]["code"] == code
    assert english.headers["Content-Language"] == "en"
    assert korean.headers["Content-Language"] == "ko"
    assert "Accept-Language" in korean.headers["Vary"]
    assert not HANGUL.search(english.json["error"]["message"])
    assert HANGUL.search(korean.json["error"]["message"])
    fields = korean.json["error"].get("fields", {})
    assert set(fields) == set(english.json["error"].get("fields", {}))
    for reason in fields.values():
        assert HANGUL.search(reason), reason


def test_password_reasons_are_translated(client):
    response = client.post(
        "/register", json={"email": ADDRESS, "password": "short"}, headers=KOREAN
    )
    assert response.json["error"]["fields"]["password"] == "8자 이상이어야 합니다."


def test_successes_in_korean_keep_their_status(client, smtp_server):
    response = client.post(
        "/register", json={"email": ADDRESS, "password": PASSWORD}, headers=KOREAN
    )
    assert response.status_code == 202
    assert response.json["status"] == "pending_confirmation"
    assert HANGUL.search(response.json["message"])
    assert response.headers["Content-Language"] == "ko"
    forgot = client.post("/password/forgot", json={"email": ADDRESS}, headers=KOREAN)
    assert forgot.json["status"] == "accepted" and HANGUL.search(forgot.json["message"])


def test_korean_answers_are_utf_8_not_escapes(client, smtp_server):
    # What a person reading curl's output sees: the words, not \uXXXX.
    success = client.post(
        "/register", json={"email": ADDRESS, "password": PASSWORD}, headers=KOREAN
    )
    error = client.post("/register", json={"email": ADDRESS, "password": "short"}, headers=KOREAN)
    for response in (success, error):
        body = response.get_data().decode("utf-8")
        assert HANGUL.search(body) and "\\u" not in body, body
    assert "8자 이상이어야 합니다." in error.get_data().decode("utf-8")


def test_without_accept_language_answers_are_in_the_default(client):
    response = client.post("/confirm", json={"token": "bad"})
    assert response.headers["Content-Language"] == "en"
    assert not HANGUL.search(response.json["error"]["message"])


def test_a_page_from_a_mail_speaks_the_mails_language(client, smtp_server):
    client.post("/register", json={"email": ADDRESS, "password": PASSWORD, "locale": "ko"})
    message = smtp_server.wait_for(1)[0]
    link = link_in(message)
    assert "&lang=ko" in text_part(message)
    english_browser = {**BROWSER, "Accept-Language": "en-US,en;q=0.9"}
    page = client.get(path_of(link) + "&lang=ko", headers=english_browser)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="ko">' in html
    assert "이메일 주소 인증하기" in html and page.headers["Content-Language"] == "ko"
    # The button's form carries the language on to the outcome page.
    done = client.post(
        "/confirm", data={"token": token_in(message), "lang": "ko"}, headers=english_browser
    )
    assert '<html lang="ko">' in done.get_data(as_text=True)
    assert "이메일 주소가 인증되었습니다" in done.get_data(as_text=True)


def test_a_page_without_lang_follows_accept_language_then_the_default(client):
    korean = client.get("/confirm?token=bad", headers={**BROWSER, **KOREAN})
    assert '<html lang="ko">' in korean.get_data(as_text=True)
    assert "유효하지 않은 링크입니다" in korean.get_data(as_text=True)
    plain = client.get("/confirm?token=bad&lang=xx", headers=BROWSER)
    assert '<html lang="en">' in plain.get_data(as_text=True)
    assert "This link is not valid" in plain.get_data(as_text=True)


def test_the_reset_form_shows_the_reason_in_the_pages_language(client, make_user, smtp_server):
    make_user(ADDRESS)
    client.post("/password/forgot", json={"email": ADDRESS}, headers=KOREAN)
    token = token_in(smtp_server.wait_for(1)[0], "/password/reset")
    page = client.post(
        "/password/reset", data={"token": token, "password": "short", "lang": "ko"}, headers=BROWSER
    )
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'id="password-error"' in html and "8자 이상이어야 합니다." in html


def test_a_rate_limit_is_worded_in_the_answers_language(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="1/minute").test_client()
    body = {"email": ADDRESS, "password": PASSWORD}
    client.post("/login", json=body)
    english = client.post("/login", json=body)
    korean = client.post("/login", json=body, headers=KOREAN)
    assert english.status_code == korean.status_code == 429
    assert korean.json["error"]["code"] == "rate_limited"
    assert "(1 per 1 minute)" in english.json["error"]["message"]
    assert (
        korean.json["error"]["message"]
        == "요청이 너무 많습니다(1분에 1회). 잠시 후 다시 시도해 주십시오."
    )


def test_a_null_locale_is_as_if_none_were_given(client, smtp_server):
    body = {"email": ADDRESS, "password": PASSWORD, "locale": None}
    assert client.post("/register", json=body, headers=KOREAN).status_code == 202
    _assert_korean("confirm", smtp_server.wait_for(1)[0])
