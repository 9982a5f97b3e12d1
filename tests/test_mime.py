"""Outbox mail bytes: what Flask-Mail makes, written without the email package's generator."""

import email
import email.policy
import re

import pytest
from flask_mail import Message

from app.emails import Mail

LONG_KOREAN = "이메일 주소를 확인해 주세요, 이 제목은 한 줄에 들어가지 않을 만큼 깁니다"
CASES = [
    ("Confirm your email address", "ann@example.com", "Hello\nline two\n", "<p>Hello</p>"),
    ("이메일 주소를 확인해 주세요", "ann@example.com", "안녕하세요\r\n코드\r", "<p>안녕</p>\n"),
    (LONG_KOREAN, "a.rather.long.local.part.of.an.address@mail.subdomain.example.com", "", ""),
    ("Reset your password " * 5, "bob@exämple.com", "x" * 2000, "<p>\n\n</p>"),
]


def _boundaries_as_one(raw: bytes) -> bytes:
    return re.sub(rb"={15}\d+==", b"BOUNDARY", raw)


@pytest.mark.parametrize(("subject", "recipient", "text", "html"), CASES)
def test_outbox_mail_bytes_are_flask_mails_own(app, subject, recipient, text, html):
    with app.app_context():
        theirs = Message(subject=subject, recipients=[recipient], body=text, html=html)
        theirs.date, theirs.msgId = 1_700_000_000.0, "<1.2.3@example.com>"
        ours = Mail(subject, theirs.sender, recipient, text, html, "<1.2.3@example.com>")
        assert _boundaries_as_one(ours.as_bytes(theirs.date)) == _boundaries_as_one(
            theirs.as_bytes()
        )


def test_a_long_korean_subject_and_both_parts_read_back_as_written(app):
    text, html = "안녕하세요\n    123456\n", "<p>안녕하세요</p>"
    raw = Mail(LONG_KOREAN, "no-reply@example.com", "ann@example.com", text, html, "<1@x>")
    raw = raw.as_bytes()
    assert not raw.isascii() and b"\r\n" in raw and not re.search(rb"[^\r]\n", raw)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == LONG_KOREAN and parsed["To"] == "ann@example.com"
    assert parsed["Message-ID"] == "<1@x>" and parsed["Date"].datetime is not None
    assert parsed.get_content_type() == "multipart/mixed"
    (alternative,) = parsed.get_payload()
    plain, rich = alternative.get_payload()
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    # Lines end in CRLF on the wire, as SMTP wants.
    assert plain.get_content() == text.replace("\n", "\r\n") and rich.get_content() == html


@pytest.mark.parametrize(
    "fields",
    [{"recipient": "ann@example.com\r\nBcc: eve@example.com"}, {"subject": "Hi\nBcc: eve@x"}],
)
def test_a_line_break_in_an_address_or_the_subject_is_refused(fields):
    mail = Mail(
        **{**dict(subject="Hi", sender="a@b.c", recipient="ann@example.com"), **fields},
        text="",
        html="",
        message_id="<1@x>",
    )
    assert mail.has_bad_headers()
    assert not Mail("Hi", "a@b.c", "ann@example.com", "", "", "<1@x>").has_bad_headers()
