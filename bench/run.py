"""Load benchmark: every scenario as a ratio to a bare-Flask floor measured in the same run.

    .venv/bin/python bench/run.py                       # SQLite and PostgreSQL, sync and gthread
    .venv/bin/python bench/run.py --databases sqlite --workers-kind sync --duration 3
    .venv/bin/python bench/run.py --scenarios peek,confirm --profile /tmp/profiles

gunicorn serves the app (production config and Argon2 parameters, rate limits off, mail to a
local aiosmtpd server) and, with the same workers, bench/floor.py: GET /hello is the floor of
peek, confirm, resend and forgot; POST /hash (one Argon2 hash) the floor of register and
login. wrk drives the load (apt-get install wrk). Each scenario runs between two runs of its
floor and is divided by their mean: the machine is shared and its load drifts within
seconds, so quote the ratios, not the absolute numbers.
"""

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file (bench/run.py) as well as a module
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from argon2 import PasswordHasher, Type  # noqa: E402

from tests.support.server import TEST_SECRET_KEY, stop_process  # noqa: E402
from tests.support.smtp import SMTPServer, free_port  # noqa: E402

PASSWORD = "correct horse battery"
PRODUCTION_HASH = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 19456, "ARGON2_PARALLELISM": 1}
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
CONFIRMED_ACCOUNTS = 500
PEEK_ACCOUNTS = 1000


@dataclass(frozen=True)
class Scenario:
    name: str
    floor: str  # "hello" or "hash"
    method: str
    path: str
    body: str
    expected: int
    items: str = ""  # which seeded list fills {item}: tokens or addresses
    mails: bool = False
    smtp_delay: float = 0.0


SCENARIOS = [
    Scenario("peek", "hello", "GET", "/confirm?token={item}", "", 200, "peek_tokens"),
    Scenario("confirm", "hello", "POST", "/confirm", '{"token": "{item}"}', 200, "confirm_tokens"),
    Scenario(
        "login",
        "hash",
        "POST",
        "/login",
        '{"email": "{item}", "password": "' + PASSWORD + '"}',
        200,
        "confirmed",
    ),
    Scenario(
        "resend", "hello", "POST", "/confirm/resend", '{"email": "{item}"}', 202, "pending", True
    ),
    Scenario(
        "forgot", "hello", "POST", "/password/forgot", '{"email": "{item}"}', 202, "confirmed", True
    ),
    Scenario(
        "register",
        "hash",
        "POST",
        "/register",
        '{"email": "new{n}-{run}@example.com", "password": "' + PASSWORD + '"}',
        202,
        mails=True,
    ),
    Scenario(
        "register-slow-smtp",
        "hash",
        "POST",
        "/register",
        '{"email": "slow{n}-{run}@example.com", "password": "' + PASSWORD + '"}',
        202,
        mails=True,
        smtp_delay=0.5,
    ),
]
FLOORS = [
    Scenario("hello", "hello", "GET", "/hello", "", 200),
    Scenario("hash", "hash", "POST", "/hash", '{"password": "' + PASSWORD + '"}', 202),
]
# The goals of the performance work: (scenario, database or None for both) -> ratio to floor.
GOALS = {
    ("register", "postgresql"): 0.90,
    ("register", "sqlite"): 0.85,
    ("peek", None): 0.50,
    ("confirm", "postgresql"): 0.30,
    ("confirm", "sqlite"): 0.20,
}
DRAIN_GOAL_SECONDS = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--workers-kind", default="sync,gthread", help="sync and/or gthread")
    parser.add_argument(
        "--scenarios",
        default=",".join(s.name for s in SCENARIOS),
        help="comma-separated, of: " + ", ".join(s.name for s in SCENARIOS),
    )
    parser.add_argument("--duration", type=float, default=4, help="seconds of load per scenario")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES),
        help="PostgreSQL to use; the run gets a schema of its own there",
    )
    parser.add_argument("--drain-timeout", type=float, default=60, help="seconds (default 60)")
    parser.add_argument(
        "--profile", type=Path, help="py-spy record one worker in each scenario into DIR"
    )
    parser.add_argument(
        "--postgres-schema",
        help="run PostgreSQL scenarios in this existing schema (bench/load_users.py), kept",
    )
    args = parser.parse_args(argv)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    args.workers_kind = [k.strip() for k in args.workers_kind.split(",") if k.strip()]
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    args.scenarios = [known[n] for n in names]
    if set(args.databases) - {"sqlite", "postgresql"}:
        parser.error("--databases takes sqlite and/or postgresql")
    if set(args.workers_kind) - {"sync", "gthread"}:
        parser.error("--workers-kind takes sync and/or gthread")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    return args


# --- processes ---


class Gunicorn:
    """A gunicorn master serving `target`; sync workers, or gthread with `threads` threads."""

    def __init__(self, target: str, env: dict, kind: str, workers: int, threads: int, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            sys.executable, "-m", "gunicorn", target,
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers),
            "--worker-class", kind,
            "--threads", str(threads if kind == "gthread" else 1),
            "--no-control-socket",  # several masters on one machine share ~/.gunicorn
            "--graceful-timeout", "2",
            "--log-level", "warning",
        ]  # fmt: skip
        self.env = {**os.environ, **env}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str, timeout: float = 60) -> "Gunicorn":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[3]} exited; see {self.log}")
            try:
                requests.get(self.url + ready_path, timeout=5)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{self.command[3]} did not answer within {timeout:g} s")

    def workers_rss_mb(self) -> list[float]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        sizes = []
        for child in children:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sorted(sizes)

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    unexpected: int
    socket_errors: int
    wrapped: int
    first_unexpected: str
    ended: float = 0.0  # perf_counter when the load stopped

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str, scenario: Scenario, items: Path | None, args, duration: float, run: str = ""
) -> Load:
    threads = 2
    command = [
        "wrk", "-t", str(threads), "-c", str(args.connections), "-d", f"{max(1, round(duration))}s",
        "--timeout", "10s", "-s", str(WRK_SCRIPT), url, "--",
        scenario.method, scenario.path, scenario.body.replace("{run}", run), str(scenario.expected),
        str(items or ""), str(threads),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    ended = time.perf_counter()
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    return Load(**json.loads(line[len("BENCH ") :]), ended=ended)


# --- the database of one run ---


class Database:
    """A fresh database for one run: an SQLite file, or a PostgreSQL schema of its own."""

    def __init__(self, kind: str, workdir: Path, postgres_url: str, existing: str | None = None):
        self.kind = kind
        self.admin_url = postgres_url
        self.schema = None
        self.existing = existing  # a schema loaded beforehand (bench/load_users.py): kept
        self.url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        self.engine: sa.Engine | None = None
        # Addresses of this run's accounts: unique, so an existing schema can be reused.
        self.prefix = uuid.uuid4().hex[:6]

    def create(self) -> None:
        from app import create_app
        from app.extensions import db

        if self.existing:
            separator = "&" if "?" in self.admin_url else "?"
            self.url = f"{self.admin_url}{separator}options=-csearch_path%3D{self.existing}"
            self.engine = sa.create_engine(self.url)
            return
        if self.kind == "postgresql":
            # Named before it exists: an interrupt right after CREATE still drops it.
            schema = self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            with self._admin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            separator = "&" if "?" in self.admin_url else "?"
            self.url = f"{self.admin_url}{separator}options=-csearch_path%3D{schema}"
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": self.url})
        with app.app_context():
            db.create_all()
            db.session.remove()
            db.engine.dispose()
        self.engine = sa.create_engine(self.url)

    def seed(self, workdir: Path, confirm_count: int) -> dict[str, Path]:
        """Accounts written directly (no API, one real hash shared): files of tokens/addresses."""
        from app import create_app, tokens
        from app.models import User
        from app.purposes.confirm_email import ConfirmEmail
        from app.timeutil import utcnow

        password_hash = PasswordHasher(
            time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID
        ).hash(PASSWORD)
        now = utcnow()

        def rows(prefix, count, confirmed):
            return [
                {
                    "email": f"{self.prefix}{prefix}{i}@example.com",
                    "email_key": f"{self.prefix}{prefix}{i}@example.com",
                    "password_hash": password_hash,
                    "created_at": now,
                    "confirmed_at": now if confirmed else None,
                    "registration_conflict": False,
                    "token_version": 0,
                    "email_change_version": 0,
                    # Given: the column's default reads the app's config, and no app runs here.
                    "locale": "en",
                }
                for i in range(count)
            ]

        with self.engine.begin() as conn:
            conn.execute(sa.insert(User), rows("owner", CONFIRMED_ACCOUNTS, True))
            conn.execute(sa.insert(User), rows("pending", PEEK_ACCOUNTS, False))
            conn.execute(sa.insert(User), rows("confirming", confirm_count, False))
            ids = dict(
                conn.execute(
                    sa.select(User.email_key, User.id).where(User.email_key.startswith(self.prefix))
                ).all()
            )
        app = create_app(
            "testing", {"SECRET_KEY": TEST_SECRET_KEY, "SQLALCHEMY_DATABASE_URI": self.url}
        )
        files = {}
        with app.app_context():

            def token(address):
                return ConfirmEmail(ids[address], tokens.digest(address)).sign()

            p = self.prefix
            lists = {
                "confirmed": [f"{p}owner{i}@example.com" for i in range(CONFIRMED_ACCOUNTS)],
                "pending": [f"{p}pending{i}@example.com" for i in range(PEEK_ACCOUNTS)],
            }
            lists["peek_tokens"] = [token(a) for a in lists["pending"]]
            lists["confirm_tokens"] = [
                token(f"{p}confirming{i}@example.com") for i in range(confirm_count)
            ]
        for name, values in lists.items():
            files[name] = workdir / f"{self.kind}-{name}.txt"
            files[name].write_text("\n".join(values) + "\n")
        return files

    def pending_mails(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(
                sa.text("SELECT count(*) FROM outbox_emails WHERE status = 'pending'")
            )

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        if self.schema and not self.existing:
            with self._admin() as conn:
                conn.execute(sa.text("SET lock_timeout = '10s'"))
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.schema = None

    def _admin(self):
        engine = sa.create_engine(self.admin_url, connect_args={"connect_timeout": 5})
        return _closing_begin(engine)


class _closing_begin:
    def __init__(self, engine):
        self.engine = engine

    def __enter__(self):
        self.context = self.engine.begin()
        return self.context.__enter__()

    def __exit__(self, *exc):
        try:
            return self.context.__exit__(*exc)
        finally:
            self.engine.dispose()


def postgres_problem(url: str) -> str | None:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any failure to connect: that database is left out, and said
        return f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    return None


# --- one run ---


@dataclass
class Row:
    setup: str
    database: str
    scenario: str
    floor: str
    load: Load
    floor_rate: float
    mails: str = ""
    drained: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.load.rate / self.floor_rate if self.floor_rate else 0.0


def wait_drained(database: Database, since: float, timeout: float) -> tuple[float | None, int]:
    """Seconds from `since` (the end of the load) until no outbox row is pending."""
    deadline = time.perf_counter() + timeout
    while True:
        pending = database.pending_mails()
        now = time.perf_counter()
        if pending == 0:
            return now - since, 0
        if now >= deadline:
            return None, pending
        time.sleep(0.05)


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def top_of_profile(path: Path, count: int = 15) -> list[str]:
    """The functions most often on the stack (inclusive) and at its top (self), from raw output."""
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        n = int(samples)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} samples; self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(count)]
    lines.append("inclusive:")
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(count)]
    return lines


def start_floor(setup: str, args, workdir: Path) -> Gunicorn:
    env = {key: str(value) for key, value in PRODUCTION_HASH.items()}
    floor = Gunicorn(
        "bench.floor:app", env, setup, args.workers, args.threads, workdir / "floor.log"
    )
    floor.start("/hello")
    for scenario in FLOORS:
        run_wrk(floor.url, scenario, None, args, 1)  # warm-up
    return floor


def floor_rate(floor: Gunicorn, name: str, args) -> float:
    scenario = next(s for s in FLOORS if s.name == name)
    load = run_wrk(floor.url, scenario, None, args, args.duration)
    if load.unexpected or load.socket_errors:
        raise RuntimeError(f"floor {scenario.name}: {load}")
    return load.rate


def run_app(setup: str, kind: str, args, workdir: Path, smtp: SMTPServer, floor: Gunicorn) -> tuple:
    """Each scenario between two runs of its floor: the machine's load drifts within seconds."""
    existing = args.postgres_schema if kind == "postgresql" else None
    database = Database(kind, workdir, args.database_url, existing)
    server = None
    rows = []
    try:
        database.create()
        confirm_count = max(4000, int(args.duration * 3000))  # a token per confirm: none reused
        files = database.seed(workdir, confirm_count)
        env = {
            "APP_ENV": "production",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database.url,
            "PUBLIC_BASE_URL": "http://testserver.example",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp.port),
            "MAIL_TIMEOUT": "5",
            "RATELIMIT_ENABLED": "false",
            **{key: str(value) for key, value in PRODUCTION_HASH.items()},
        }
        server = Gunicorn(
            "wsgi:app", env, setup, args.workers, args.threads, workdir / f"app-{kind}.log"
        )
        server.start("/healthz")
        # Warm every worker's pool, templates and caches on paths that send no mail.
        run_wrk(server.url, SCENARIOS[0], files["peek_tokens"], args, 1)
        run_wrk(server.url, SCENARIOS[2], files["confirmed"], args, 1)
        time.sleep(2)  # sync workers still answer the warm-up's queued requests after wrk ends
        for scenario in args.scenarios:
            smtp.delay_seconds = scenario.smtp_delay
            with smtp.lock:
                smtp.messages.clear()
            items = files.get(scenario.items)
            before = floor_rate(floor, scenario.floor, args)
            recorder = None
            if args.profile:
                # Started after the floor's run, so that it records the scenario's load.
                args.profile.mkdir(parents=True, exist_ok=True)
                out = args.profile / f"{setup}-{kind}-{scenario.name}.txt"
                recorder = (profile(server.worker_pids()[0], args.duration, out), out)
            load = run_wrk(server.url, scenario, items, args, args.duration, database.prefix)
            row = Row(setup, kind, scenario.name, scenario.floor, load, 0.0)
            if scenario.mails:
                row.drained, pending = wait_drained(database, load.ended, args.drain_timeout)
                accepted = load.requests - load.unexpected
                with smtp.lock:
                    received = len(smtp.messages)
                row.mails = f"{received}/{accepted}"
                if pending:
                    row.notes.append(f"{pending} still pending after {args.drain_timeout:g} s")
            if load.unexpected or load.socket_errors:
                row.notes.append(
                    f"{load.unexpected} unexpected, {load.socket_errors} socket errors; "
                    f"first: {load.first_unexpected}"
                )
            row.floor_rate = (before + floor_rate(floor, scenario.floor, args)) / 2
            if load.wrapped and scenario.name == "confirm":
                row.notes.append(f"{load.wrapped} requests reused a token (list too short)")
            if recorder:
                recorder[0].wait(args.duration + 30)
                if recorder[1].exists():
                    row.notes.append("profile:\n    " + "\n    ".join(top_of_profile(recorder[1])))
            rows.append(row)
        smtp.delay_seconds = 0
        return rows, server.workers_rss_mb()
    finally:
        if server is not None:
            server.stop()
        database.drop()


# --- report ---


def goal_of(row: Row) -> float | None:
    return GOALS.get((row.scenario, row.database), GOALS.get((row.scenario, None)))


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'setup':<8} {'database':<10} {'scenario':<22} {'req/s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'floor':>12} {'ratio':>6} {'goal':>6}  {'mails':>9} {'drained':>9}"
    )
    print(header)
    print("-" * len(header))
    fast = {(r.setup, r.database): r for r in rows if r.scenario == "register"}
    for r in rows:
        goal = goal_of(r)
        mark = ""
        if goal is not None:
            mark = f"{goal:.2f}" + (" ok" if r.ratio >= goal else " NO")
        if r.scenario == "register-slow-smtp" and (r.setup, r.database) in fast:
            reference = fast[(r.setup, r.database)].load.rate
            within = r.load.rate >= 0.9 * reference
            mark = "±10%" + (" ok" if within else " NO")
        drained = ""
        if r.mails:
            if r.drained is None:
                drained = "NOT"
            else:
                drained = f"{r.drained:.1f} s" + (" ok" if r.drained <= DRAIN_GOAL_SECONDS else "")
        print(
            f"{r.setup:<8} {r.database:<10} {r.scenario:<22} {r.load.rate:>7.1f} "
            f"{r.load.p50_ms:>7.1f} {r.load.p99_ms:>7.1f} "
            f"{r.floor:>5} {r.floor_rate:>6.0f} {r.ratio:>6.2f} {mark:>6}  "
            f"{r.mails:>9} {drained:>9}"
        )
    for r in rows:
        for note in r.notes:
            print(f"  {r.setup} {r.database} {r.scenario}: {note}")


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    databases = list(args.databases)
    if "postgresql" in databases:
        problem = postgres_problem(args.database_url)
        if problem:
            print(f"PostgreSQL left out: {problem}")
            databases.remove("postgresql")
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    # Counted, not parsed: parsing each mail would cost this machine more than sending it.
    smtp = SMTPServer(parse=False)
    rows: list[Row] = []
    rss: dict[str, list[float]] = {}
    started = time.perf_counter()
    try:
        smtp.start()
        for setup in args.workers_kind:
            floor = start_floor(setup, args, workdir)
            try:
                for kind in databases:
                    measured, rss[f"app {setup} {kind}"] = run_app(
                        setup, kind, args, workdir, smtp, floor
                    )
                    rows += measured
                rss[f"floor {setup}"] = floor.workers_rss_mb()
            finally:
                floor.stop()
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        smtp.stop()
        kept = [p for p in workdir.glob("*.log") if p.stat().st_size]
        for log in kept:
            problems = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if any(mark in line for mark in ("ERROR", "CRITICAL", "Traceback"))
            ]
            if problems:
                print(f"{log.name}: {len(problems)} error lines, the last: {problems[-1][:200]}")
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; gunicorn {args.workers} workers "
        f"(gthread: {args.threads} threads); wrk {args.connections} connections, "
        f"{args.duration:g} s a scenario; Argon2id t=2 m=19456 p=1; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}; whole run {time.perf_counter() - started:.0f} s"
    )
    print_table(rows)
    print("worker RSS after the run (MB): " + "; ".join(
        f"{name} {', '.join(f'{mb:.0f}' for mb in sizes)}" for name, sizes in rss.items()
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
