"""A real SMTP server for tests (aiosmtpd), with scriptable replies, delays and hangs."""

import asyncio
import email
import email.policy
import logging
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO; test output needs only its problems.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    # aiosmtpd will not bind port 0: ask the OS for a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        server = self.server
        if server.hang_seconds:
            await asyncio.sleep(server.hang_seconds)
        if server.delay_seconds:
            await asyncio.sleep(server.delay_seconds)
        with server.lock:
            server.attempts += 1
            server.sessions.append(session.peer)
            reply = server.replies.pop(0) if server.replies else None
        if reply:
            return reply
        message = (
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            if server.parse
            else envelope.content
        )
        with server.lock:
            server.messages.append(message)
            server.lock.notify_all()
        return "250 Message accepted for delivery"


class SMTPServer:
    """Collects delivered messages. `replies` are answered to DATA, in order, before accepting
    (None: accept that one). `sessions` has the client's address of every DATA, in order.
    With parse=False messages are kept as the bytes received: a benchmark that only counts
    them does not spend the machine's CPU on parsing them."""

    def __init__(self, port: int | None = None, parse: bool = True):
        self.port = port or free_port()
        self.parse = parse
        self.messages: list[email.message.EmailMessage] = []
        self.replies: list[str | None] = []
        self.sessions: list[tuple[str, int]] = []
        self.attempts = 0
        self.delay_seconds = 0.0
        self.hang_seconds = 0.0
        self.lock = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """Block until at least `count` messages arrived; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
                self.lock.wait(remaining)
            return list(self.messages)

    def messages_to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if m["To"].lower() == address.lower()]


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message, path: str = "/confirm") -> str:
    """The first link to `path` in the plain-text part, as a person would copy it."""
    match = re.search(
        r"https?://\S+" + re.escape(path) + r"\?token=[A-Za-z0-9._\-]+", text_part(message)
    )
    assert match, f"no {path} link in:\n{text_part(message)}"
    return match.group(0)


def token_in(message, path: str = "/confirm") -> str:
    return link_in(message, path).split("token=", 1)[1]


def code_in(message) -> str:
    """The verification code printed on a line of its own in the plain-text part."""
    match = re.search(r"^ {4}(\d{6,10})\r?$", text_part(message), re.MULTILINE)
    assert match, f"no code in:\n{text_part(message)}"
    return match.group(1)
