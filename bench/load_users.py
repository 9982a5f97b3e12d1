"""Bulk-load accounts and outbox rows into a PostgreSQL schema of their own, with COPY.

    .venv/bin/python bench/load_users.py                          # 1,000,000 accounts
    .venv/bin/python bench/load_users.py --accounts 1000 --sent 0 --pending 0
    .venv/bin/python bench/load_users.py --sent 1000000 --pending 10000 --explain
    .venv/bin/python bench/load_users.py --drop SCHEMA

Rows are written straight into the tables (not through the API, which would take days at the
Argon2 rate): realistic addresses, one real Argon2id hash shared by all, creation dates over
the past year, nine in ten confirmed, and for the outbox "sent" rows with their sent_at and
"pending" rows due now. The schema is left in place for `bench/run.py --postgres-schema`;
the last line printed is its name.
"""

import argparse
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from argon2 import PasswordHasher, Type  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery"
USER_COLUMNS = (
    "id, email, email_key, password_hash, created_at, confirmed_at, registration_conflict, "
    "token_version, pending_email, email_change_version"
)
OUTBOX_COLUMNS = (
    "id, kind, recipient, user_id, payload, message_id, status, attempts, last_error, "
    "created_at, next_attempt_at, locked_until, claim_id, sent_at"
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--schema", help="name of the schema to create (default: a new one)")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--sent", type=int, default=0, help="outbox rows already sent")
    parser.add_argument("--pending", type=int, default=0, help="outbox rows pending, due now")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the outbox claim")
    parser.add_argument("--drop", metavar="SCHEMA", help="drop that schema and stop")
    return parser.parse_args(argv)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_schema(url: str, schema: str) -> str:
    """The tables, made by the app's models in a new schema; the URL that points there."""
    from app import create_app
    from app.extensions import db

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    schema_url = f"{url}{separator}options=-csearch_path%3D{schema}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": schema_url})
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return schema_url


def load(conn, accounts: int, sent: int, pending: int) -> None:
    rng = random.Random(13)
    password_hash = PasswordHasher(
        time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID
    ).hash(PASSWORD)
    now = datetime.now(UTC)
    year = 365 * 86400
    created = [now - timedelta(seconds=year * (1 - i / max(accounts, 1))) for i in range(accounts)]
    addresses = [f"user{i}.{rng.randrange(10**6)}@example.com" for i in range(accounts)]
    started = time.perf_counter()
    with conn.cursor() as cur:
        with cur.copy(f"COPY users ({USER_COLUMNS}) FROM STDIN") as copy:
            for i, address in enumerate(addresses):
                confirmed = created[i] + timedelta(minutes=5) if rng.random() < 0.9 else None
                copy.write_row(
                    (i + 1, address, address, password_hash, created[i], confirmed,
                     False, 0, None, 0)
                )  # fmt: skip
        print(f"users: {accounts} rows in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        with cur.copy(f"COPY outbox_emails ({OUTBOX_COLUMNS}) FROM STDIN") as copy:
            for n in range(sent + pending):
                user = n % max(accounts, 1) + 1
                is_sent = n < sent
                when = created[user - 1] if accounts else now
                recipient = addresses[user - 1] if accounts else f"nobody{n}@example.com"
                copy.write_row(
                    (n + 1, "confirm", recipient, user if accounts else None,
                     None, f"<{uuid.UUID(int=rng.getrandbits(128)).hex}@example.com>",
                     "sent" if is_sent else "pending", 1 if is_sent else 0, None,
                     when, when if is_sent else now, None, None,
                     when + timedelta(seconds=1) if is_sent else None)
                )  # fmt: skip
        print(
            f"outbox_emails: {sent} sent + {pending} pending rows in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        # The next ids the application takes come after the loaded ones.
        cur.execute("SELECT setval('users_id_seq', GREATEST((SELECT max(id) FROM users), 1))")
        cur.execute(
            "SELECT setval('outbox_emails_id_seq', "
            "GREATEST((SELECT max(id) FROM outbox_emails), 1))"
        )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE users")
    conn.execute("VACUUM ANALYZE outbox_emails")
    conn.autocommit = False


def explain_claim(conn) -> list[str]:
    """The plan of the claim's row-locking SELECT, as app/outbox.py sends it."""
    conn.rollback()
    plan = conn.execute(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        "SELECT outbox_emails.id FROM outbox_emails "
        "WHERE outbox_emails.status = 'pending' AND outbox_emails.next_attempt_at <= now() "
        "AND (outbox_emails.locked_until IS NULL OR outbox_emails.locked_until < now()) "
        "ORDER BY outbox_emails.id LIMIT 100 FOR UPDATE SKIP LOCKED"
    ).fetchall()
    conn.rollback()
    return [line for (line,) in plan]


def sizes(conn) -> list[str]:
    rows = conn.execute(
        "SELECT relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), "
        "(SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) "
        "FROM pg_class c WHERE relname IN ('users', 'outbox_emails') "
        "AND relnamespace = current_schema()::regnamespace"
    ).fetchall()
    return [
        f"{name}: total {total / 2**20:.0f} MiB (table {table / 2**20:.0f} MiB, {indexes} indexes)"
        for name, total, table, indexes in rows
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.drop:
        with psycopg.connect(libpq_url(args.database_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{args.drop}" CASCADE')
        print(f"dropped {args.drop}")
        return 0
    schema = args.schema or f"scale_{uuid.uuid4().hex[:8]}"
    create_schema(args.database_url, schema)
    with psycopg.connect(libpq_url(args.database_url)) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        load(conn, args.accounts, args.sent, args.pending)
        for line in sizes(conn):
            print(line)
        if args.explain:
            print("EXPLAIN of the outbox claim:")
            for line in explain_claim(conn):
                print(f"  {line}")
    print(f"schema {schema}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
