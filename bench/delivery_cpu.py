"""CPU time of delivering one outbox mail, as a fraction of one Argon2 hash, in one process.

    .venv/bin/python bench/delivery_cpu.py                      # SQLite file, 1,000 mails
    .venv/bin/python bench/delivery_cpu.py --databases sqlite,postgresql --mails 500
    .venv/bin/python bench/delivery_cpu.py --profile            # cProfile of the delivery

The dispatcher thread delivers in the same gunicorn worker that hashes passwords, so each
millisecond a mail costs is taken from sign-ups. This queues confirmation mails for accounts
written directly, delivers them with outbox.deliver_due() to an SMTP server in another
process (it counts, it does not parse), and prints the CPU time per mail next to the CPU
time of one hash with the production parameters. CPU time, not wall time: the figure holds
on a shared machine, where throughput does not.
"""

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from argon2 import PasswordHasher, Type  # noqa: E402

from bench.run import DEFAULT_POSTGRES, PASSWORD, PRODUCTION_HASH, Database  # noqa: E402
from tests.support.server import TEST_SECRET_KEY  # noqa: E402
from tests.support.smtp import free_port  # noqa: E402

SINK = "import sys, time; from tests.support.smtp import SMTPServer; " \
    "SMTPServer(int(sys.argv[1]), parse=False).start(); time.sleep(3600)"  # fmt: skip


def hash_cpu_seconds(rounds: int = 30) -> float:
    hasher = PasswordHasher(
        time_cost=PRODUCTION_HASH["ARGON2_TIME_COST"],
        memory_cost=PRODUCTION_HASH["ARGON2_MEMORY_COST"],
        parallelism=PRODUCTION_HASH["ARGON2_PARALLELISM"],
        type=Type.ID,
    )
    hasher.hash(PASSWORD)
    started = time.process_time()
    for _ in range(rounds):
        hasher.hash(PASSWORD)
    return (time.process_time() - started) / rounds


def delivery_cpu_seconds(database_url: str, port: int, mails: int, profile: bool) -> float:
    from app import create_app, outbox
    from app.extensions import db
    from app.models import User
    from app.timeutil import utcnow

    app = create_app(
        "production",
        {
            "SECRET_KEY": TEST_SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PUBLIC_BASE_URL": "http://testserver.example",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "OUTBOX_AUTODISPATCH": False,  # this process delivers, in the foreground
        },
    )
    with app.app_context():
        now = utcnow()
        rows = [
            {"email": f"u{i}@example.com", "email_key": f"u{i}@example.com",
             "password_hash": "x", "created_at": now, "registration_conflict": False,
             "token_version": 0, "email_change_version": 0, "locale": "en"}
            for i in range(mails)
        ]  # fmt: skip
        db.session.execute(sa.insert(User), rows)
        for user in db.session.scalars(sa.select(User)):
            outbox.enqueue("confirm", user.email, user)
        db.session.commit()
        profiler = cProfile.Profile() if profile else None
        started, sent = time.process_time(), 0
        if profiler:
            profiler.enable()
        while sent < mails:
            done = outbox.deliver_due(limit=100)["sent"]
            if not done:
                raise SystemExit(f"only {sent} of {mails} mails were sent")
            sent += done
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return (time.process_time() - started) / sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite", help="comma-separated: sqlite,postgresql")
    parser.add_argument(
        "--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the delivery")
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], cwd=ROOT)
    try:
        time.sleep(1.5)  # the server's thread starts listening
        hashing = hash_cpu_seconds()
        for kind in args.databases.split(","):
            with tempfile.TemporaryDirectory() as folder:
                database = Database(kind, Path(folder), args.database_url)
                database.create()
                try:
                    mail = delivery_cpu_seconds(database.url, port, args.mails, args.profile)
                finally:
                    database.drop()
            print(
                f"{kind:10s} delivery {mail * 1e3:5.2f} ms CPU a mail; one Argon2 hash "
                f"{hashing * 1e3:5.2f} ms; a mail costs {mail / hashing:.2f} of a hash"
            )
    finally:
        sink.kill()


if __name__ == "__main__":
    main()
