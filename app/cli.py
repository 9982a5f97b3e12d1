"""`flask outbox …` and `flask users …` commands for operators."""

import re
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from . import outbox, services
from .extensions import db
from .models import OUTBOX_STATUSES, OutboxEmail
from .timeutil import isoformat

AGE_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class Age(click.ParamType):
    """A positive age such as 7d, 12h or 30m."""

    name = "age"

    def convert(self, value, param, ctx) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", str(value))
        if not match or int(match.group(1)) == 0:
            self.fail(f"{value!r} is not an age like 7d, 12h or 30m", param, ctx)
        return timedelta(**{AGE_UNITS[match.group(2)]: int(match.group(1))})


outbox_cli = AppGroup("outbox", help="Inspect and deliver the outbox (emails, webhook events).")


@outbox_cli.command("list")
@click.option("--status", type=click.Choice(OUTBOX_STATUSES), help="Only rows in this state.")
@click.option("--limit", default=50, show_default=True, help="How many rows at most.")
def list_outbox(status: str | None, limit: int) -> None:
    """Show the queue (emails and webhook events), newest first, and the counts by state."""
    query = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxEmail.status == status)
    for row in db.session.scalars(query):
        click.echo(
            f"{row.id:>6}  {row.status:<8} {row.kind:<27} attempts={row.attempts} "
            f"next={isoformat(row.next_attempt_at)} to={row.recipient}"
            + (f"  error={row.last_error}" if row.last_error else "")
        )
    counts = outbox.stats()
    click.echo(" ".join(f"{name}={value}" for name, value in counts.items()))
    events = outbox.stats("webhook")
    if any(events.values()):
        click.echo("webhook events: " + " ".join(f"{k}={v}" for k, v in events.items()))


@outbox_cli.command("send")
def send_outbox() -> None:
    """Deliver every row that is due now."""
    counts = outbox.deliver_due()
    click.echo(" ".join(f"{outcome}={n}" for outcome, n in counts.items()))


@outbox_cli.command("retry")
@click.argument("row_id", type=int)
def retry_outbox(row_id: int) -> None:
    """Put a failed row back in the queue, due now."""
    if not outbox.retry_failed(row_id):
        raise click.ClickException(f"no failed outbox row with id {row_id}")
    # With Celery a task is queued; in-process, the web process's next sweep delivers it
    # (or run `flask outbox send`).
    outbox.dispatch([row_id])
    click.echo(f"row {row_id} queued again")


@outbox_cli.command("prune")
@click.option("--older-than", type=Age(), required=True, help="Age such as 30d, 12h or 30m.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune_outbox(older_than: timedelta, dry_run: bool) -> None:
    """Delete sent and skipped rows created longer ago than --older-than, in batches."""
    _report_deleted(services.prune_outbox(older_than, dry_run=dry_run), "outbox row", dry_run)


users_cli = AppGroup("users", help="Maintain user accounts.")


@users_cli.command("purge-unconfirmed")
@click.option("--older-than", type=Age(), required=True, help="Age such as 7d, 12h or 30m.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge_unconfirmed(older_than: timedelta, dry_run: bool) -> None:
    """Delete accounts never confirmed and created longer ago than --older-than."""
    count = services.purge_unconfirmed(older_than, dry_run=dry_run)
    _report_deleted(count, "unconfirmed account", dry_run)


def _report_deleted(count: int, noun: str, dry_run: bool) -> None:
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {count} {noun}{'' if count == 1 else 's'}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
    app.cli.add_command(users_cli)
