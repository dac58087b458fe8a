"""``flask archive``: counts, listings and verification of the archived mail."""

import click

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table, progressbar
from app.extensions import db
from app.runtime import raw_store
from app.services.archive import archive_stats, list_messages, verify_raw

group = DeskGroup("archive", help="The archive of every message: stats, list, verify.")


@group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json):
    """Count messages, linked, unmatched, quarantined, tickets, attachments, raw bytes."""
    counts = archive_stats(db.session)
    if as_json:
        echo_json(counts)
        return
    for name, value in counts.items():
        click.echo(f"{name.replace('_', ' ')}: {value}")


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many messages.")
def list_(as_json, limit):
    """List archived messages with where they were seen, hash, account and ticket."""
    rows = list_messages(db.session, limit)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [{**r, "sha256": r["sha256"][:12], "subject": (r["subject"] or "")[:50],
          "quarantined": "yes" if r["quarantined"] else ""} for r in rows],
        ["id", "mailbox", "folder", "uid", "sha256", "account", "ticket", "quarantined", "subject"],
    )


@group.command("verify")
def verify():
    """Re-hash every stored raw message and report any that differ or are missing."""
    total = archive_stats(db.session)["messages"]
    with progressbar(total, "Verifying") as bar:
        problems = list(verify_raw(db.session, raw_store(), progress=bar.update))
    for message_id, problem in problems:
        click.echo(f"message {message_id}: {problem}")
    if problems:
        raise click.ClickException(f"{len(problems)} of {total} raw messages failed verification.")
    click.echo(f"All {total} raw messages match their sha256.")
