"""GET /metrics: counts that add up across gunicorn workers, gauges that match the outbox."""

import base64
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.accounts import PASSWORD, login
from tests.support.metrics import METRICS_TOKEN, SCRAPER, scrape, value
from tests.support.receiver import WebhookReceiver
from tests.support.server import ROOT, TEST_SECRET_KEY, LiveServer
from tests.support.smtp import code_in, token_in
from tests.support.waiting import wait_until


def outbox_list_counts(database_url: str) -> dict[str, int]:
    """The counts line of `flask outbox list`, as an operator sees it."""
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    last = result.stdout.strip().splitlines()[-1]
    return {name: int(n) for name, n in re.findall(r"(\w+)=(\d+)", last)}


def requests_per_process(directory: Path) -> dict[str, float]:
    """http_requests_total as each process's own file holds it (before a scrape adds them up)."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        alone = directory.parent / f"alone-{file.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[file.stem] = sum(
            sample.value
            for family in registry.collect()
            if family.name == "http_requests"
            for sample in family.samples
            if sample.name == "http_requests_total"
        )
    return counts


@pytest.mark.slow
@pytest.mark.live_server
def test_scraped_counters_equal_what_a_flow_did_across_two_workers(
    app_factory, database, smtp_server, tmp_path
):
    app_factory()  # creates the schema
    # The first mail is refused for good, the second deferred: one failed row, one pending.
    smtp_server.replies = ["550 5.1.1 No such mailbox", "451 4.3.0 Try again later"]
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {"METRICS_TOKEN": METRICS_TOKEN, "PROMETHEUS_MULTIPROC_DIR": multiproc}
    # Single-threaded workers: while one answers, the other must take the next connection,
    # so concurrent requests are spread over both (checked below, per process).
    with LiveServer(database.url, smtp_server.port, workers=2, threads=1, **env) as server:

        def post(path, **body):
            # A new connection per request: keep-alive would pin every request to one worker.
            return requests.post(f"{server.url}{path}", json=body, timeout=10)

        def concurrently(*calls):
            with ThreadPoolExecutor(len(calls)) as pool:
                return list(pool.map(lambda call: call(), calls))

        def deliveries_total(expected):
            samples = scrape(server)
            return (
                sum(v for k, v in samples.items() if k[0] == "outbox_deliveries_total") == expected
            )

        addresses = [f"user{n}@example.com" for n in range(4)]
        answers = concurrently(
            *(lambda a=a: post("/register", email=a, password=PASSWORD) for a in addresses)
        )
        assert [answer.status_code for answer in answers] == [202] * 4
        wait_until(lambda: deliveries_total(4), timeout=30, what="four delivery attempts")
        delivered = smtp_server.wait_for(2)
        confirmed = sorted(m["To"] for m in delivered)
        unconfirmed = sorted(set(addresses) - set(confirmed))
        by_address = {m["To"]: m for m in delivered}
        # One confirms by the link, the other by the code beside it.
        link_confirmed = post("/confirm", token=token_in(by_address[confirmed[0]]))
        assert link_confirmed.json() == {"status": "confirmed"}
        code = code_in(by_address[confirmed[1]])
        code_confirmed = post("/confirm/code", email=confirmed[1], code=code)
        assert code_confirmed.json() == {"status": "confirmed"}
        # A second confirmation of the same link confirms nothing new.
        again = post("/confirm", token=token_in(by_address[confirmed[0]])).json()
        assert again == {"status": "already_confirmed"}

        def login(email, password=PASSWORD):
            return post("/login", email=email, password=password).status_code

        assert concurrently(
            lambda: login(confirmed[0]),
            lambda: login(confirmed[1]),
            lambda: login(confirmed[1]),
            lambda: login(confirmed[0], "wrong horse battery"),
            lambda: login("nobody@example.com"),
            lambda: login(unconfirmed[0]),
        ) == [200, 200, 200, 401, 401, 403]
        assert requests.get(f"{server.url}/nowhere/ann@example.com").status_code == 404
        # Registering a confirmed address again mails its owner but is no new account.
        assert post("/register", email=confirmed[0], password=PASSWORD).status_code == 202
        wait_until(lambda: deliveries_total(5), timeout=30, what="the fifth delivery")

        # Both workers answered part of the flow: the sums below add up several processes.
        serving = [n for n in requests_per_process(multiproc).values() if n]
        assert len(serving) == 2, serving

        samples = scrape(server)
        assert value(samples, "accounts_registrations_total") == 4
        assert value(samples, "accounts_confirmations_total", via="link") == 1
        assert value(samples, "accounts_confirmations_total", via="code") == 1
        assert value(samples, "accounts_logins_total", outcome="success") == 3
        assert value(samples, "accounts_logins_total", outcome="invalid_credentials") == 2
        assert value(samples, "accounts_logins_total", outcome="email_not_confirmed") == 1
        # Four new accounts' mails and the re-registration's: one refused, one deferred.
        deliveries = {
            outcome: value(samples, "outbox_deliveries_total", kind="email", outcome=outcome)
            for outcome in ("sent", "failed", "retry")
        }
        assert deliveries == {"sent": 3, "failed": 1, "retry": 1}
        requests_total = {
            (dict(k[1:])["endpoint"], dict(k[1:])["status"]): v
            for k, v in samples.items()
            if k[0] == "http_requests_total"
        }
        assert requests_total[("register", "202")] == 5
        assert requests_total[("confirm", "200")] == 2
        assert requests_total[("confirm_code", "200")] == 1
        assert requests_total[("login", "200")] == 3
        assert requests_total[("login", "401")] == 2
        assert requests_total[("login", "403")] == 1
        # An unknown path is counted under one label, never under the path a client typed.
        assert requests_total[("unmatched", "404")] == 1
        assert not any("@" in str(k) for k in samples)
        assert value(samples, "http_request_duration_seconds_count", endpoint="login") == 6

        # The gauges are the database's state at scrape time: what `flask outbox list` says.
        listed = outbox_list_counts(database.url)
        assert (listed["pending"], listed["sent"], listed["failed"]) == (1, 3, 1)
        for status in ("pending", "sent", "failed", "skipped"):
            assert value(samples, "outbox_messages", status=status) == listed[status], status
        assert value(samples, "outbox_oldest_pending_age_seconds") > 0

        # Without the token, or with a wrong one, there is nothing here.
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789abcdef"}):
            refused = requests.get(f"{server.url}/metrics", headers=headers)
            assert refused.status_code == 404
            assert refused.json()["error"]["code"] == "not_found"


@pytest.mark.live_server
def test_metrics_is_not_served_without_a_configured_token(app_factory, database, smtp_server):
    app_factory()
    with LiveServer(database.url, smtp_server.port, workers=1, threads=2) as server:
        for headers in ({}, SCRAPER, {"Authorization": "Bearer "}):
            answer = requests.get(f"{server.url}/metrics", headers=headers, timeout=10)
            assert answer.status_code == 404
            assert answer.json() == {
                "error": {"code": "not_found", "message": "There is nothing at this address."}
            }


def test_a_refused_request_counts_as_a_rate_limit_hit(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2/minute").test_client()

    def hits():
        return REGISTRY.get_sample_value(
            "rate_limit_hits_total", {"limit": "login:ratelimit_login"}
        )

    before = hits() or 0.0
    answers = [login(client, "ann@example.com").status_code for _ in range(3)]
    assert answers == [401, 401, 429]
    assert hits() == before + 1


def test_webhook_deliveries_are_counted_apart_from_mails(app_factory, smtp_server):
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    receiver = WebhookReceiver(secret).start()
    try:
        app = app_factory(
            WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=secret, OUTBOX_AUTODISPATCH=False
        )

        def delivered(kind):
            labels = {"kind": kind, "outcome": "sent"}
            return REGISTRY.get_sample_value("outbox_deliveries_total", labels) or 0.0

        before = {kind: delivered(kind) for kind in ("email", "webhook")}
        body = {"email": "ann@example.com", "password": PASSWORD}
        assert app.test_client().post("/register", json=body).status_code == 202
        result = app.test_cli_runner().invoke(args=["outbox", "send"])
        assert "sent=2" in result.output, result.output  # the mail and user.registered
        assert delivered("email") == before["email"] + 1
        assert delivered("webhook") == before["webhook"] + 1
    finally:
        receiver.stop()
