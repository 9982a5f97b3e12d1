"""Outbox mail bytes: what Flask-Mail makes, written without the email package's generator."""

import email
import email.policy
import re

import pytest
from flask_mail import Message

from app.emails import OutboxMessage

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
def test_outbox_message_bytes_are_flask_mails_own(app, subject, recipient, text, html):
    fields = dict(subject=subject, recipients=[recipient], body=text, html=html)
    with app.app_context():
        ours, theirs = OutboxMessage(**fields), Message(**fields)
        for message in (ours, theirs):
            message.date, message.msgId = 1_700_000_000.0, "<1.2.3@example.com>"
        assert _boundaries_as_one(ours.as_bytes()) == _boundaries_as_one(theirs.as_bytes())


def test_a_long_korean_subject_and_both_parts_read_back_as_written(app):
    text, html = "안녕하세요\n    123456\n", "<p>안녕하세요</p>"
    with app.app_context():
        message = OutboxMessage(
            subject=LONG_KOREAN, recipients=["ann@example.com"], body=text, html=html
        )
        message.date = 1_700_000_000.0
        raw = message.as_bytes()
    assert raw.isascii() is False and b"\r\n" in raw and not re.search(rb"[^\r]\n", raw)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == LONG_KOREAN and parsed["To"] == "ann@example.com"
    assert parsed.get_content_type() == "multipart/mixed"
    (alternative,) = parsed.get_payload()
    plain, rich = alternative.get_payload()
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    # Lines end in CRLF on the wire, as SMTP wants.
    assert plain.get_content() == text.replace("\n", "\r\n") and rich.get_content() == html
