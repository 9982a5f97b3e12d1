"""Load benchmark: a real gunicorn server, SMTP server and database, driven over loopback.

    .venv/bin/python bench/run.py                 # production Argon2 parameters, SQLite
    .venv/bin/python bench/run.py --cheap-hash    # Argon2 t=1, m=1024 KiB
    .venv/bin/python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Every scenario is compared with GET /healthz measured in the same run: the machine is
shared and noisy, so the ratios are the figures to quote, not the absolute numbers.
"""

import argparse
import contextlib
import itertools
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file (bench/run.py) as well as a module
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support.server import LiveServer  # noqa: E402
from tests.support.smtp import SMTPServer, token_in  # noqa: E402

PASSWORD = "correct horse battery"
REQUEST_TIMEOUT = 30  # seconds a single request may take before it counts as an error
PRODUCTION_HASH = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 19456, "ARGON2_PARALLELISM": 1}
CHEAP_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}

Send = Callable[[requests.Session, int], requests.Response]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--requests", type=int, default=200, help="per scenario (default 200)")
    parser.add_argument(
        "--time-limit", type=float, default=60, help="seconds per scenario at most (default 60)"
    )
    parser.add_argument(
        "--mail-timeout", type=float, default=120, help="seconds to wait for mails (default 120)"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL; the run gets a schema of its own there (default: SQLite file)",
    )
    parser.add_argument(
        "--cheap-hash", action="store_true", help="Argon2 t=1, m=1024 KiB instead of production"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    args = parser.parse_args(argv)
    if min(args.concurrency, args.requests, args.workers, args.threads) < 1:
        parser.error("--concurrency, --requests, --workers and --threads must be at least 1")
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql URL (SQLite is the default)")
    return args


# --- services ---


class TimedMessages(list):
    """SMTPServer.messages that also records when each message arrived."""

    def __init__(self):
        super().__init__()
        self.arrivals: list[float] = []

    def append(self, message) -> None:
        self.arrivals.append(time.perf_counter())
        super().append(message)


class Database:
    """A fresh database for one run: an SQLite file, or a PostgreSQL schema of its own."""

    def __init__(self, workdir: Path, postgres_url: str | None):
        self.admin_url = postgres_url
        self.schema = None
        self.kind = "postgresql" if postgres_url else "sqlite"
        self.url = f"sqlite:///{workdir / 'bench.db'}"
        self.app = None

    def create(self) -> None:
        if self.admin_url:
            # Named before it exists: an interrupt right after CREATE still drops it.
            schema = self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            with self._admin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            separator = "&" if "?" in self.admin_url else "?"
            self.url = f"{self.admin_url}{separator}options=-csearch_path%3D{schema}"
        self.app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": self.url})
        with self.app.app_context():
            db.create_all()

    def outbox_stats(self) -> dict[str, int]:
        from app import outbox

        with self.app.app_context():
            try:
                return outbox.stats()
            finally:
                db.session.remove()

    def drop(self) -> None:
        if self.app is not None:
            with self.app.app_context():
                db.session.remove()  # else DROP SCHEMA waits for this session's locks
                db.engine.dispose()
            self.app = None
        if self.schema:
            with self._admin() as conn:
                conn.execute(sa.text("SET lock_timeout = '10s'"))
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.schema = None

    @contextlib.contextmanager
    def _admin(self):
        engine = sa.create_engine(self.admin_url, connect_args={"connect_timeout": 5})
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            engine.dispose()


@contextlib.contextmanager
def stderr_to(path: Path):
    """Processes started inside inherit `path` as their stderr: the server's log stays apart."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


# --- load ---


@dataclass
class Result:
    name: str
    sent: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, expected answers only
    wall: float = 0.0
    started: float = 0.0
    last_response: float = 0.0
    first_error: str | None = None
    ok_indexes: list[int] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else math.nan

    def percentile(self, p: int) -> float:
        if not self.latencies:
            return math.nan
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


class LoadDriver:
    """A bounded pool of client threads, each with its own requests.Session per scenario."""

    def __init__(self, concurrency: int, requests_per_scenario: int, time_limit: float):
        self.concurrency = concurrency
        self.count = requests_per_scenario
        self.time_limit = time_limit
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench")

    def run(
        self,
        name: str,
        send: Send,
        expected_status: int,
        count: int | None = None,
        check: Callable[[requests.Response], bool] | None = None,
    ) -> Result:
        count = self.count if count is None else count
        result = Result(name)
        lock = threading.Lock()
        indexes = itertools.count()
        started = time.perf_counter()
        deadline = started + self.time_limit

        def client() -> None:
            with requests.Session() as session:
                while not self.stop.is_set():
                    with lock:
                        index = next(indexes)
                        if index >= count or time.perf_counter() >= deadline:
                            return
                        result.sent += 1
                    began = time.perf_counter()
                    try:
                        response = send(session, index)
                        ok = response.status_code == expected_status and (
                            check is None or check(response)
                        )
                        problem = f"HTTP {response.status_code}: {response.text[:200]}"
                    except requests.RequestException as error:
                        ok, problem = False, f"{type(error).__name__}: {error}"
                    ended = time.perf_counter()
                    with lock:
                        result.last_response = max(result.last_response, ended)
                        if ok:
                            result.latencies.append(ended - began)
                            result.ok_indexes.append(index)
                        else:
                            result.errors += 1
                            result.first_error = result.first_error or problem

        futures = [self.pool.submit(client) for _ in range(min(self.concurrency, count))]
        for future in futures:
            future.result()
        result.started = started
        result.wall = time.perf_counter() - started
        return result

    def close(self) -> None:
        self.stop.set()
        self.pool.shutdown(wait=True, cancel_futures=True)


# --- mail ---


@dataclass
class MailFigure:
    label: str
    expected: int
    received: int
    after_last_request: float | None  # seconds from the last response to the last mail
    since_first_request: float | None


def wait_for_mail(
    smtp: SMTPServer, recipients: set[str], expected: int, since: int, timeout: float
) -> tuple[int, float | None]:
    """Wait until `expected` mails to `recipients` arrived after message number `since`."""

    def delivered() -> tuple[int, float | None]:
        messages = smtp.messages[since:]
        arrivals = smtp.messages.arrivals[since:]
        times = [t for m, t in zip(messages, arrivals, strict=True) if m["To"] in recipients]
        return len(times), max(times, default=None)

    deadline = time.perf_counter() + timeout
    with smtp.lock:
        received, last = delivered()
        while received < expected:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            smtp.lock.wait(min(remaining, 1.0))
            received, last = delivered()
    return received, last


def mail_figure(
    label: str, smtp: SMTPServer, result: Result, recipients: set[str], since: int, timeout: float
) -> MailFigure:
    expected = len(result.latencies)  # one mail per accepted request
    received, last = wait_for_mail(smtp, recipients, expected, since, timeout)
    return MailFigure(
        label,
        expected,
        received,
        None if last is None else last - result.last_response,
        None if last is None else last - result.started,
    )


def wait_for_empty_outbox(base_url: str, timeout: float) -> int:
    """Poll /healthz until no outbox row is pending; the count still pending at the end."""
    deadline = time.perf_counter() + timeout
    pending = -1
    while time.perf_counter() < deadline:
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            response = requests.get(f"{base_url}/healthz", timeout=10)
            pending = response.json()["outbox"]["pending"]
            if pending == 0:
                return 0
        time.sleep(0.2)
    return pending


# --- the run ---


def prepare_accounts(
    base_url: str, smtp: SMTPServer, count: int, timeout: float
) -> tuple[list[str], list[str]]:
    """Confirmed accounts, confirmed as a person would: with the token from the mail."""
    addresses = [f"owner{i}@example.com" for i in range(count)]
    since = len(smtp.messages)
    with requests.Session() as session:
        for address in addresses:
            response = session.post(
                f"{base_url}/register", json={"email": address, "password": PASSWORD}, timeout=60
            )
            if response.status_code != 202:
                raise RuntimeError(f"preparing {address}: register answered {response.text}")
        received, _ = wait_for_mail(smtp, set(addresses), count, since, timeout)
        if received < count:
            raise RuntimeError(f"preparing accounts: {received}/{count} confirmation mails")
        with smtp.lock:
            mails = {m["To"]: m for m in smtp.messages[since:] if m["To"] in addresses}
        tokens = []
        for address in addresses:
            response = session.post(
                f"{base_url}/confirm", json={"token": token_in(mails[address])}, timeout=60
            )
            if response.status_code != 200 or response.json().get("status") != "confirmed":
                raise RuntimeError(f"preparing {address}: confirm answered {response.text}")
            response = session.post(
                f"{base_url}/login", json={"email": address, "password": PASSWORD}, timeout=60
            )
            if response.status_code != 200:
                raise RuntimeError(f"preparing {address}: login answered {response.text}")
            tokens.append(response.json()["access_token"])
    return addresses, tokens


def run_scenarios(
    args: argparse.Namespace, base_url: str, smtp: SMTPServer, driver: LoadDriver
) -> tuple[list[Result], list[MailFigure], int]:
    accounts, tokens = prepare_accounts(base_url, smtp, args.concurrency, args.mail_timeout)
    owners = set(accounts)

    def healthz(session, i):
        return session.get(f"{base_url}/healthz", timeout=REQUEST_TIMEOUT)

    def register_new(session, i):
        body = {"email": f"new{i}@example.com", "password": PASSWORD}
        return session.post(f"{base_url}/register", json=body, timeout=REQUEST_TIMEOUT)

    def register_confirmed(session, i):
        body = {"email": accounts[i % len(accounts)], "password": PASSWORD}
        return session.post(f"{base_url}/register", json=body, timeout=REQUEST_TIMEOUT)

    def login(session, i):
        body = {"email": accounts[i % len(accounts)], "password": PASSWORD}
        return session.post(f"{base_url}/login", json=body, timeout=REQUEST_TIMEOUT)

    def me(session, i):
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
        return session.get(f"{base_url}/me", headers=headers, timeout=REQUEST_TIMEOUT)

    def resend_unknown(session, i):
        body = {"email": f"nobody{i}@example.com"}
        return session.post(f"{base_url}/confirm/resend", json=body, timeout=REQUEST_TIMEOUT)

    def has_token(response):
        return "access_token" in response.json()

    # Warm every worker's connections and caches on paths that send no mail.
    warmup = 4 * args.concurrency
    for send, status in ((healthz, 200), (login, 200), (me, 200)):
        driver.run("warm-up", send, status, count=warmup)

    results, mails = [], []
    results.append(driver.run("GET /healthz (baseline)", healthz, 200))

    since = len(smtp.messages)
    result = driver.run("POST /register new", register_new, 202)
    results.append(result)
    new_addresses = {f"new{i}@example.com" for i in result.ok_indexes}
    mails.append(
        mail_figure("confirmation mails", smtp, result, new_addresses, since, args.mail_timeout)
    )

    since = len(smtp.messages)
    result = driver.run("POST /register confirmed", register_confirmed, 202)
    results.append(result)
    mails.append(
        mail_figure("already-registered mails", smtp, result, owners, since, args.mail_timeout)
    )

    results.append(driver.run("POST /login", login, 200, check=has_token))
    results.append(driver.run("GET /me", me, 200))
    results.append(driver.run("POST /confirm/resend unknown", resend_unknown, 202))
    # Those rows end as "skipped" in the background: let that finish before the last row.
    pending = wait_for_empty_outbox(base_url, args.mail_timeout)
    results.append(driver.run("GET /healthz (again, drift)", healthz, 200))
    return results, mails, pending


# --- report ---


def ratio(value: float, base: float) -> str:
    if not base or math.isnan(base) or math.isnan(value):
        return "n/a"
    return f"{value / base:.2f}x"


def print_report(
    args: argparse.Namespace,
    hashing: dict,
    database: Database,
    results: list[Result],
    mails: list[MailFigure],
) -> None:
    base = results[0]
    base_p50, base_rps = base.percentile(50), base.throughput
    header = (
        f"{'scenario':<30} {'requests':>8} {'unexpected':>10} {'req/s':>8} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p50/base':>9} {'req/s/base':>10}"
    )
    print()
    print(
        f"database {database.kind}; argon2 t={hashing['ARGON2_TIME_COST']} "
        f"m={hashing['ARGON2_MEMORY_COST']} KiB p={hashing['ARGON2_PARALLELISM']}; "
        f"gunicorn {args.workers} workers x {args.threads} threads; "
        f"{args.concurrency} clients; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<30} {r.sent:>8} {r.errors:>10} {r.throughput:>8.1f} "
            f"{r.percentile(50):>8.1f} {r.percentile(95):>8.1f} "
            f"{ratio(r.percentile(50), base_p50):>9} {ratio(r.throughput, base_rps):>10}"
        )
    print(
        "base = GET /healthz (baseline) of this run; req/s and latencies count expected answers "
        "only; unexpected = any other status, or no answer at all"
    )
    for r in results:
        if r.sent < args.requests:
            print(f"  {r.name}: stopped by the {args.time_limit:g} s time limit")
        if r.first_error:
            print(f"  {r.name}: first error: {r.first_error}")
    print()
    for m in mails:
        complete = "all arrived" if m.received == m.expected else "MISSING MAILS"
        timing = (
            "none arrived"
            if m.after_last_request is None
            else f"last one {m.after_last_request * 1000:.0f} ms after the last register "
            f"response ({m.since_first_request:.2f} s after the first request)"
        )
        print(f"{m.label}: {m.received}/{m.expected} received ({complete}); {timing}")


def print_server_log(path: Path, limit: int = 20) -> None:
    """The server's warnings and errors, if any (its INFO lines would drown the table)."""
    if not path.exists():
        return
    marks = ("WARNING", "ERROR", "CRITICAL", "Traceback")
    lines = path.read_text(errors="replace").splitlines()
    problems = [line for line in lines if any(mark in line for mark in marks)]
    if problems:
        print(f"\nserver log: {len(problems)} warning/error lines; the last {limit}:")
        for line in problems[-limit:]:
            print(f"  {line[:300]}")


def start_server(server: LiveServer, timeout: float) -> None:
    """LiveServer.start, patient with a first answer slower than its 1 s (a loaded machine)."""
    deadline = time.monotonic() + timeout
    try:
        server.start(timeout)
        return
    except requests.Timeout:
        pass  # listening, but the first /healthz (database connect, dispatcher) took over 1 s
    while time.monotonic() < deadline:
        if server.process is None or server.process.poll() is not None:
            raise RuntimeError("server exited while starting")
        try:
            requests.get(f"{server.url}/healthz", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer /healthz within {timeout:g} s")


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hashing = CHEAP_HASH if args.cheap_hash else PRODUCTION_HASH
    # Ctrl-C and SIGTERM unwind through the finally below, which stops everything started.
    # SIGINT explicitly: a shell starts background jobs with it ignored, and so would we.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    server_log = workdir / "server.log"
    database = Database(workdir, args.database_url)
    smtp = SMTPServer()
    smtp.messages = TimedMessages()
    server = None
    driver = None
    try:
        smtp.start()
        database.create()
        server = LiveServer(
            database.url,
            smtp.port,
            workers=args.workers,
            threads=args.threads,
            RATELIMIT_ENABLED="false",
            **hashing,
        )
        with stderr_to(server_log):
            start_server(server, timeout=60)
        driver = LoadDriver(args.concurrency, args.requests, args.time_limit)
        results, mails, pending = run_scenarios(args, server.url, smtp, driver)
        print_report(args, hashing, database, results, mails)
        stats = database.outbox_stats()
        print(
            f"outbox at the end: sent {stats['sent']}, skipped {stats['skipped']}, "
            f"failed {stats['failed']}, pending {stats['pending']}"
            + ("" if pending == 0 else " (still pending after --mail-timeout)")
        )
        failed = any(r.errors for r in results) or any(m.received < m.expected for m in mails)
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        # The clean-up is bounded (server stop, lock_timeout): let a second Ctrl-C not cut it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if driver is not None:
            driver.stop.set()
        if server is not None:
            server.stop()
        if driver is not None:
            driver.close()
        smtp.stop()
        try:
            database.drop()
        finally:
            print_server_log(server_log)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
