"""``flask archive``: counts, listings and verification of the archived mail."""

import click
from flask import current_app
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table, progressbar
from app.extensions import db
from app.runtime import raw_store, raw_store_of_kind
from app.services.archive import archive_stats, list_messages, move_raw, verify_raw

group = DeskGroup("archive", help="The archive of every message: stats, list, verify, migrate-store.")


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
    with progressbar(total, _("Verifying")) as bar:
        problems = list(verify_raw(db.session, raw_store(), progress=bar.update))
    for message_id, problem in problems:
        click.echo(_("message %(id)s: %(problem)s", id=message_id, problem=problem))
    if problems:
        raise click.ClickException(_("%(failed)s of %(total)s raw messages failed verification.",
                                     failed=len(problems), total=total))
    click.echo(_("All %(total)s raw messages match their sha256.", total=total))


@group.command("migrate-store")
@click.option("--to", "kind", type=click.Choice(["database", "files"]), required=True,
              help="Where raw messages go: database rows, or files under RAW_STORE_PATH.")
def migrate_store(kind):
    """Copy every raw message into the other raw store, checking each hash; resumable.

    Copies only what the destination lacks: run it again after an interruption, and once
    more after switching RAW_STORE, to copy mail archived meanwhile. Nothing is removed.
    """
    app = current_app._get_current_object()
    source = raw_store_of_kind(app, "files" if kind == "database" else "database")
    destination = raw_store_of_kind(app, kind)
    total = archive_stats(db.session)["messages"]
    with progressbar(total, _("Copying to %(where)s", where=destination.location)) as bar:
        moved = move_raw(db.session, source, destination, progress=bar.update)
    click.echo(_("Copied %(copied)s raw message(s) from %(source)s to %(destination)s; %(already)s were "
                 "there already. Every copy was read back and matches its sha256.", copied=moved.copied,
                 source=source.location, destination=destination.location, already=moved.already))
    for sha, problem in moved.problems:
        click.echo(f"{sha}: {problem}", err=True)
    if moved.problems:
        raise click.ClickException(_("%(count)s raw message(s) could not be copied; `flask archive verify` "
                                     "says which messages they belong to.", count=len(moved.problems)))
    if app.config["RAW_STORE"] != kind:
        click.echo(_("Set RAW_STORE=%(kind)s and restart the web and worker processes; then run this command "
                     "once more to copy what arrived in the meantime.", kind=kind))
