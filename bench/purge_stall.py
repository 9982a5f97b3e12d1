"""Does `users purge-unconfirmed` stall sign-ups? Registrations timed while it deletes.

    .venv/bin/python bench/purge_stall.py --databases sqlite,postgresql
    .venv/bin/python bench/purge_stall.py --batch-size 0     # one transaction, for contrast

Loads --accounts stale unconfirmed accounts (30 days old, one sent mail each) straight into
a fresh database, serves the app with gunicorn (cheap Argon2, so registrations are frequent
and a stall shows), registers from 4 client threads throughout, and runs the purge in this
process with the given batch size. Prints the purge's time and the registrations' latency
before and during it.
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.run import DEFAULT_POSTGRES, Database, Gunicorn  # noqa: E402
from tests.support.server import TEST_SECRET_KEY  # noqa: E402

PASSWORD = "correct horse battery"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="0: the unbatched DELETE, for contrast"
    )
    parser.add_argument("--database-url", default=DEFAULT_POSTGRES)
    return parser.parse_args(argv)


def load_stale(database: Database, count: int) -> None:
    from app.models import OutboxEmail, User
    from app.timeutil import utcnow

    then = utcnow() - timedelta(days=30)
    chunk = 10_000
    with database.engine.begin() as conn:
        for start in range(0, count, chunk):
            conn.execute(
                sa.insert(User),
                [
                    {
                        "email": f"stale{i}@example.com",
                        "email_key": f"stale{i}@example.com",
                        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
                        "created_at": then,
                        "registration_conflict": False,
                        "token_version": 0,
                        "email_change_version": 0,
                    }
                    for i in range(start, min(start + chunk, count))
                ],
            )
        ids = conn.scalars(sa.select(User.id)).all()
        for start in range(0, len(ids), chunk):
            conn.execute(
                sa.insert(OutboxEmail),
                [
                    {
                        "kind": "confirm",
                        "recipient": f"stale{n}@example.com",
                        "user_id": user_id,
                        "message_id": f"<stale{n}@example.com>",
                        "status": "sent",
                        "attempts": 1,
                        "created_at": then,
                        "next_attempt_at": then,
                        "sent_at": then,
                    }
                    for n, user_id in enumerate(ids[start : start + chunk], start)
                ],
            )


def purge_in_one_statement(older_than: timedelta) -> int:
    """The purge as it was before batching: one DELETE, one transaction (for contrast)."""
    from app.extensions import db
    from app.models import OutboxEmail, User
    from app.timeutil import utcnow

    stale = (User.confirmed_at.is_(None), User.created_at < utcnow() - older_than)
    result = db.session.execute(sa.delete(User).where(*stale))
    db.session.execute(
        sa.delete(OutboxEmail).where(
            OutboxEmail.user_id.is_not(None), OutboxEmail.user_id.not_in(sa.select(User.id))
        )
    )
    db.session.commit()
    return result.rowcount


def measure(kind: str, args, workdir: Path) -> str:
    from app import create_app, services
    from app.extensions import db
    from app.services import cleanup

    database = Database(kind, workdir, args.database_url)
    server = None
    try:
        database.create()
        load_stale(database, args.accounts)
        server = Gunicorn(
            "wsgi:app",
            {
                "APP_ENV": "production",
                "SECRET_KEY": TEST_SECRET_KEY,
                "DATABASE_URL": database.url,
                "PUBLIC_BASE_URL": "http://testserver.example",
                "MAIL_BACKEND": "console",
                "OUTBOX_SWEEP_SECONDS": "3600",
                "RATELIMIT_ENABLED": "false",
                "ARGON2_TIME_COST": "1",
                "ARGON2_MEMORY_COST": "1024",
            },
            "gthread",
            2,
            4,
            workdir / f"{kind}.log",
        ).start("/healthz")
        timings: list[tuple[float, float, bool]] = []  # (start, seconds, ok)
        stop = threading.Event()
        counter = iter(range(10**9))
        lock = threading.Lock()

        def client() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    with lock:
                        n = next(counter)
                    body = {"email": f"new{n}@example.com", "password": PASSWORD}
                    began = time.perf_counter()
                    try:
                        ok = session.post(f"{server.url}/register", json=body, timeout=30)
                        ok = ok.status_code == 202
                    except requests.RequestException:
                        ok = False
                    timings.append((began, time.perf_counter() - began, ok))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        app = create_app(
            "production",
            {"SECRET_KEY": TEST_SECRET_KEY, "SQLALCHEMY_DATABASE_URI": database.url},
        )
        cleanup.BATCH_SIZE = args.batch_size
        with app.app_context():
            began = time.perf_counter()
            if args.batch_size:
                deleted = services.purge_unconfirmed(timedelta(days=7))
            else:
                deleted = purge_in_one_statement(timedelta(days=7))
            ended = time.perf_counter()
            db.session.remove()
            db.engine.dispose()
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join()

        def describe(rows):
            latencies = [seconds * 1000 for _, seconds, ok in rows if ok]
            failed = sum(not ok for _, _, ok in rows)
            if not latencies:
                return f"0 ok, {failed} failed"
            return (
                f"{len(latencies)} ok, {failed} failed, p50 {statistics.median(latencies):.0f} ms, "
                f"max {max(latencies):.0f} ms"
            )

        before = [t for t in timings if t[0] + t[1] < began]
        during = [t for t in timings if t[0] < ended and t[0] + t[1] > began]
        batch = args.batch_size or "all"
        return (
            f"{kind}: purge of {deleted} accounts (batch {batch}) took {ended - began:.1f} s; "
            f"registrations before: {describe(before)}; overlapping the purge: {describe(during)}"
        )
    finally:
        if server is not None:
            server.stop()
        database.drop()


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="purge-"))
    for kind in [d.strip() for d in args.databases.split(",") if d.strip()]:
        print(measure(kind, args, workdir), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
