"""Per-request plumbing: request ids, proxy trust, security headers, CORS, one log line each."""

import logging
import re
import time
import uuid

from flask import Flask, g, make_response, request
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from . import metrics

log = logging.getLogger(__name__)

# Pages carry tokens in their URL: no referrer, no third-party anything, no framing.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Any other method a client invents is counted as "other": label values stay bounded.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class NoCookieSession(SessionInterface):
    """No cookie session: the API authenticates with bearer tokens and keeps no session.

    Flask's default would build a signing serializer and look for a cookie on every request.
    Every request gets Flask's read-only null session instead, and no Set-Cookie ever goes out.
    """

    def open_session(self, app, request):
        return None

    def save_session(self, app, session, response) -> None:
        return None


def register_http_hooks(app: Flask) -> None:
    app.session_interface = NoCookieSession()
    hops = app.config["PROXY_FIX_X_FOR"]
    if hops:
        # Only as many X-Forwarded-For hops as there are proxies we run; the default trusts none.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    allowed_origins = frozenset(app.config["CORS_ORIGINS"])

    @app.before_request
    def assign_request_id():
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex

    @app.before_request
    def answer_options():
        # Preflights (and plain OPTIONS) get an empty 204; the CORS headers, if the origin
        # is allowed, are added by harden() below. Unknown paths still fall through to 404.
        if request.method == "OPTIONS" and request.url_rule is not None:
            response = make_response("", 204)
            response.headers["Allow"] = ", ".join(_methods(request.url_rule))
            del response.headers["Content-Type"]
            return response
        return None

    @app.after_request
    def harden(response):
        headers = response.headers
        headers.setdefault("X-Request-ID", getattr(g, "request_id", ""))
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            # Answers carry tokens or personal data: no cache may keep them.
            headers["Cache-Control"] = "no-store"
        is_html = response.mimetype == "text/html"
        headers["Content-Security-Policy"] = PAGE_CSP if is_html else API_CSP
        if allowed_origins:
            add_cors_headers(response, allowed_origins)
        return response

    @app.after_request
    def record(response):
        # Registered last, so it runs first: the status is final, the clock still fair.
        started = g.get("request_started")
        if started is not None:
            record_request(response.status_code, time.perf_counter() - started)
        return response


def record_request(status: int, seconds: float) -> None:
    """One log line and the HTTP metrics for the request being answered."""
    method = request.method if request.method in KNOWN_METHODS else "other"
    # The endpoint name, never the raw path: a path is whatever a client typed.
    metrics.count_request(method, request.endpoint or "unmatched", status, seconds)
    # The route's path: never the query string, where tokens travel (/confirm?token=...),
    # and not what a client typed where no route matched (it may be an address).
    path = request.url_rule.rule if request.url_rule is not None else "(no route)"
    duration_ms = round(seconds * 1000, 1)
    log.info(
        "%s %s %s %sms",
        method,
        path,
        status,
        duration_ms,
        extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
    )


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD"})


def add_cors_headers(response, allowed_origins: frozenset[str]) -> None:
    """Allow-* headers for a configured origin only; any other origin gets none."""
    # Caches must not hand one origin's answer to another.
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin or origin not in allowed_origins:
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
    # No Allow-Credentials: the API uses bearer tokens, never cookies.
    if request.method == "OPTIONS" and request.url_rule is not None:
        headers["Access-Control-Allow-Methods"] = ", ".join(_methods(request.url_rule))
        headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        headers["Access-Control-Max-Age"] = "600"
