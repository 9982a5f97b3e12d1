"""A real webhook receiver for tests: a loopback HTTP server that verifies every request.

Each request is checked with standardwebhooks' `Webhook.verify`, as a receiver would. Its
answers are scripted: `replies` are used in order (a status, a (status, headers) pair, or
HANG to say nothing until the test ends), then every request gets 204.
"""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.smtp import free_port

HANG = "hang"
PATH = "/hooks"


@dataclass
class Request:
    """One request as the receiver saw it, and what it answered (None: it never did)."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    problem: str | None
    answered: int | None = None

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    @property
    def delivered(self) -> bool:
        return self.answered is not None and 200 <= self.answered < 300


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_POST(self):  # noqa: N802 (http.server's naming)
        receiver = self.server.receiver
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            Webhook(receiver.secret).verify(body, headers)
            verified, problem = True, None
        except (WebhookVerificationError, ValueError) as error:
            verified, problem = False, f"{type(error).__name__}: {error}"
        request = Request(self.path, headers, body, verified, problem)
        with receiver.lock:
            receiver.requests.append(request)
            reply = receiver.replies.pop(0) if receiver.replies else 204
        if reply == HANG:
            receiver.release.wait(60)
            self.close_connection = True
            return
        status, extra = reply if isinstance(reply, tuple) else (reply, {})
        if not verified:
            status, extra = 400, {}  # what a real receiver answers to a forged request
        # Recorded before the answer leaves: the sender may record its outcome and the test
        # look at this request before this thread runs again after the write.
        with receiver.lock:
            request.answered = status
            receiver.lock.notify_all()
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # the test output needs none of it
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: "WebhookReceiver"


class WebhookReceiver:
    """Collects and verifies webhook requests on 127.0.0.1; can stop and start on one port."""

    def __init__(self, secret: str, port: int | None = None):
        self.secret = secret
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self.replies: list = []
        self.requests: list[Request] = []
        self.lock = threading.Condition()
        self.release = threading.Event()  # lets hung handlers go when the test ends
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "WebhookReceiver":
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
        self.release = threading.Event()

    def delivered(self) -> list[Request]:
        """Requests answered 2xx (each verified: a forged one is answered 400)."""
        with self.lock:
            return [r for r in self.requests if r.delivered]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Block until at least `count` deliveries were answered 2xx; fail the test if not."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while sum(r.delivered for r in self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = sum(r.delivered for r in self.requests)
                    raise AssertionError(f"expected {count} webhook deliveries, got {got}")
                self.lock.wait(remaining)
            return [r for r in self.requests if r.delivered]

    def events(self) -> list[tuple]:
        """The delivered events as (type, data items), sorted: order is not guaranteed."""
        return sorted(
            (r.event["type"], tuple(sorted(r.event["data"].items()))) for r in self.delivered()
        )
