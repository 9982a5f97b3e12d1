"""The emailed-link pages in a real browser (Debian's headless Chromium), in English and Korean.

Each page is opened from a link in a delivered mail, served by gunicorn, checked for basic
accessibility in the browser, and photographed at a phone and a desktop size into
build/screenshots/ (kept out of git) for a person to look at.
"""

import re
import tempfile
from pathlib import Path

import pytest
import requests

from app import create_app
from app.extensions import db
from tests.conftest import Database, skip_or_fail
from tests.support.accounts import NEW_PASSWORD, PASSWORD
from tests.support.browser import SIZES, Browser, browser_missing, check_accessibility
from tests.support.server import LiveServer
from tests.support.smtp import SMTPServer, html_part, text_part

pytestmark = [pytest.mark.browser, pytest.mark.live_server]

LANGUAGES = ["en", "ko"]
EXPECTED = {
    "en": {
        "confirm_prompt": "Confirm your email address",
        "confirmed": "Email address confirmed",
        "reset_form": "Choose a new password",
        "too_short": "Must be at least 8 characters long.",
        "reset_done": "Password changed",
        "revert_prompt": "Keep your old email address",
        "revert_done": "Email address restored",
    },
    "ko": {
        "confirm_prompt": "이메일 주소 인증",
        "confirmed": "이메일 주소가 인증되었습니다",
        "reset_form": "새 비밀번호 설정",
        "too_short": "8자 이상이어야 합니다.",
        "reset_done": "비밀번호가 변경되었습니다",
        "revert_prompt": "기존 이메일 주소 유지",
        "revert_done": "이메일 주소가 복원되었습니다",
    },
}


@pytest.fixture(scope="module")
def browser():
    skip_or_fail(browser_missing())
    browser = Browser()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, smtp, browser):
    database = Database("sqlite", tmp_path_factory.mktemp("browser"))
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    server = LiveServer(database.url, smtp.port, workers=1, threads=4)
    # The links in the mails must lead to this server, as they would in production.
    server.env["PUBLIC_BASE_URL"] = server.url
    with server:
        yield server
    database.drop()


class Journey:
    """API calls as an app would make them, and mails as the SMTP server received them."""

    def __init__(self, server, smtp, lang):
        self.url, self.smtp, self.lang = server.url, smtp, lang

    def call(self, method, path, **kwargs):
        return requests.request(method, f"{self.url}{path}", timeout=10, **kwargs)

    def mail_after(self, action, to: str):
        before = len(self.smtp.messages)
        action()
        message = self.smtp.wait_for(before + 1)[before]
        assert message["To"] == to
        return message

    def link_in(self, message, path: str) -> str:
        """The whole link, lang included, as a person clicks it in the mail."""
        match = re.search(
            re.escape(self.url + path) + r"\?token=[\w.\-]+&lang=\w+", text_part(message)
        )
        assert match, text_part(message)
        assert match.group(0).endswith(f"&lang={self.lang}")
        return match.group(0)

    def confirmed_account(self, email: str) -> None:
        body = {"email": email, "password": PASSWORD, "locale": self.lang}
        mail = self.mail_after(lambda: self.call("POST", "/register", json=body), email)
        token = self.link_in(mail, "/confirm").split("token=")[1].split("&")[0]
        assert self.call("POST", "/confirm", json={"token": token}).json()["status"] == "confirmed"

    def access_token(self, email: str, password: str = PASSWORD) -> str:
        response = self.call("POST", "/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]


def _heading(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "h1").text


def _submit(driver, heading: str) -> None:
    """Press the form's button and wait for the next page, whose h1 reads `heading`.

    The old page must be gone first (the next one may have the same heading), and
    while Chromium swaps documents a lookup can fail with a stale reference or an
    inspector error ("Node with given id does not belong to the document"): both
    only mean "not yet".
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait = WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,))
    wait.until(expected_conditions.staleness_of(old_page), "the form was not submitted")
    wait.until(lambda d: _heading(d) == heading, f"no page with the heading {heading!r}")


def _look_at(browser, name: str, lang: str) -> None:
    """Check and photograph the current page at each size."""
    for width, height in SIZES:
        browser.resize(width, height)
        check_accessibility(browser.driver, lang)
        browser.screenshot(f"{name}-{lang}-{width}x{height}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_confirmation_link_from_the_mail_opens_a_page_in_its_language(browser, server, smtp, lang):
    journey = Journey(server, smtp, lang)
    email = f"confirm-{lang}@example.com"
    body = {"email": email, "password": PASSWORD, "locale": lang}
    mail = journey.mail_after(lambda: journey.call("POST", "/register", json=body), email)
    driver = browser.driver

    # The browser asks for English (--lang=en-US): the link's lang= decides.
    driver.get(journey.link_in(mail, "/confirm"))
    assert _heading(driver) == EXPECTED[lang]["confirm_prompt"]
    _look_at(browser, "confirm-prompt", lang)
    _submit(driver, EXPECTED[lang]["confirmed"])
    _look_at(browser, "confirm-done", lang)
    assert journey.access_token(email)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_reset_form_shows_a_too_short_password_beside_the_field_then_succeeds(
    browser, server, smtp, lang
):
    from selenium.webdriver.common.by import By

    journey = Journey(server, smtp, lang)
    email = f"reset-{lang}@example.com"
    journey.confirmed_account(email)
    mail = journey.mail_after(
        lambda: journey.call("POST", "/password/forgot", json={"email": email}), email
    )
    driver = browser.driver

    driver.get(journey.link_in(mail, "/password/reset"))
    assert _heading(driver) == EXPECTED[lang]["reset_form"]
    _look_at(browser, "reset-form", lang)
    driver.find_element(By.ID, "password").send_keys("short")
    _submit(driver, EXPECTED[lang]["reset_form"])
    error = driver.find_element(By.ID, "password-error")
    field = driver.find_element(By.ID, "password")
    assert error.text == EXPECTED[lang]["too_short"]
    assert "password-error" in field.get_attribute("aria-describedby").split()
    assert field.get_attribute("aria-invalid") == "true"
    # Beside the field: right above it, in the same column.
    gap = field.rect["y"] - (error.rect["y"] + error.rect["height"])
    assert 0 <= gap < 24 and abs(field.rect["x"] - error.rect["x"]) < 2
    _look_at(browser, "reset-error", lang)

    driver.find_element(By.ID, "password").send_keys(NEW_PASSWORD)
    _submit(driver, EXPECTED[lang]["reset_done"])
    _look_at(browser, "reset-done", lang)
    assert journey.access_token(email, NEW_PASSWORD)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_revert_link_from_the_notice_restores_the_address(browser, server, smtp, lang):
    journey = Journey(server, smtp, lang)
    email = f"revert-{lang}@example.com"
    journey.confirmed_account(email)
    session = {"Authorization": f"Bearer {journey.access_token(email)}"}
    before = len(smtp.messages)
    change = journey.call(
        "POST",
        "/me/email",
        json={"new_email": f"revert-{lang}-new@example.com", "password": PASSWORD},
        headers=session,
    )
    assert change.status_code == 202
    smtp.wait_for(before + 2)
    [notice] = [m for m in smtp.messages[before:] if m["To"] == email]
    driver = browser.driver

    driver.get(journey.link_in(notice, "/email/revert"))
    assert _heading(driver) == EXPECTED[lang]["revert_prompt"]
    _look_at(browser, "revert-prompt", lang)
    _submit(driver, EXPECTED[lang]["revert_done"])
    _look_at(browser, "revert-done", lang)
    assert journey.call("GET", "/me", headers=session).status_code == 401  # signed out
    assert journey.access_token(email)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_html_mail_reads_at_320_px_in_light_and_dark(browser, server, smtp, lang):
    journey = Journey(server, smtp, lang)
    email = f"mail-{lang}@example.com"
    body = {"email": email, "password": PASSWORD, "locale": lang}
    mail = journey.mail_after(lambda: journey.call("POST", "/register", json=body), email)
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "mail.html"
        page.write_text(html_part(mail), encoding="utf-8")
        browser.driver.get(page.as_uri())
        try:
            for scheme in ("light", "dark"):
                browser.color_scheme(scheme)
                browser.resize(320, 640)
                report = check_accessibility(browser.driver, lang)
                body_colour = browser.driver.execute_script(
                    "return getComputedStyle(document.body).backgroundColor"
                )
                browser.screenshot(f"mail-confirm-{lang}-{scheme}-320x640")
                assert (body_colour == "rgb(17, 24, 39)") == (scheme == "dark"), body_colour
                assert report["texts"] >= 5
        finally:
            browser.color_scheme("light")
