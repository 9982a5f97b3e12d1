"""Prometheus metrics: the counters the code bumps, and the text served at GET /metrics.

Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (before
prometheus_client is first imported: it decides its storage at import) every process writes
its counts to files there and a scrape adds them up. Without it, this process's own registry
is served. Label values are bounded: endpoint names and fixed outcomes, never paths or input.
"""

import os
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered.", ["method", "endpoint", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request.", ["endpoint"]
)
REGISTRATIONS = Counter("accounts_registrations_total", "New accounts created.")
CONFIRMATIONS = Counter(
    "accounts_confirmations_total", "Accounts whose address was confirmed.", ["via"]
)
LOGINS = Counter("accounts_logins_total", "Sign-in attempts by outcome.", ["outcome"])
DELIVERIES = Counter(
    "outbox_deliveries_total", "Outbox delivery attempts by outcome.", ["kind", "outcome"]
)
RATE_LIMIT_HITS = Counter("rate_limit_hits_total", "Requests refused by a rate limit.", ["limit"])

CONFIRMATION_VIAS = ("link", "code")
LOGIN_OUTCOMES = ("success", "invalid_credentials", "email_not_confirmed")


def count_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, endpoint, str(status)).inc()
    HTTP_DURATION.labels(endpoint).observe(seconds)


def count_registration() -> None:
    REGISTRATIONS.inc()


def count_confirmation(via: str) -> None:
    """An account confirmed its address, by emailed link or by code."""
    if via not in CONFIRMATION_VIAS:
        raise ValueError(f"unknown confirmation route {via!r}")
    CONFIRMATIONS.labels(via).inc()


def count_login(outcome: str) -> None:
    LOGINS.labels(outcome).inc()


def count_delivery(kind: str, outcome: str) -> None:
    """One outbox row's delivery attempt ended: sent, retry, failed, skipped or lease_lost."""
    DELIVERIES.labels(kind, outcome).inc()


def count_rate_limit_hit(request_limit) -> None:
    """Flask-Limiter's on_breach callback; the label is the limit's scope (its bucket name)."""
    RATE_LIMIT_HITS.labels(request_limit.request_args[-1]).inc()


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def outbox_gauges(counts: dict[str, int], oldest_pending: datetime | None, now: datetime):
    """The queue as the database holds it now, read at scrape time (as `flask outbox list`)."""
    messages = GaugeMetricFamily("outbox_messages", "Outbox rows by status.", labels=["status"])
    for status, n in counts.items():
        messages.add_metric([status], n)
    age = GaugeMetricFamily(
        "outbox_oldest_pending_age_seconds",
        "Seconds since the oldest row still pending was queued; 0 when none is pending.",
    )
    age.add_metric([], (now - oldest_pending).total_seconds() if oldest_pending else 0.0)
    return [messages, age]


class _Families:
    def __init__(self, families: Iterable):
        self.families = list(families)

    def collect(self):
        return self.families


def exposition(extra_families: Iterable = ()) -> bytes:
    """The Prometheus text of every process's counters plus families computed for this scrape."""
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Families(extra_families))
    return generate_latest(_registry()) + generate_latest(extra)
