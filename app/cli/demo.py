"""``flask demo``: sample data for trying the product out."""

import click
from flask import current_app
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.extensions import db
from app.runtime import poll_settings, raw_store, search_index
from app.services.demo import seed, seed_agents, seed_records
from app.services.indexing import index_now_or_wait

group = DeskGroup("demo", help="Sample data for trying the product out.")


@group.command("seed")
def seed_command():
    """Create sample accounts, mail, records and agents (running it twice changes nothing)."""
    created, result = seed(db.session, raw_store(), poll_settings().tag_prefix)
    click.echo(_("Sample data: %(accounts)s account(s) created, %(messages)s message(s) archived.",
                 accounts=created, messages=result.archived))
    click.echo(_("Sample records: %(count)s added.", count=seed_records(db.session)))
    db.session.commit()
    _seed_agents()
    if result.new_message_ids:
        message = index_now_or_wait(db.session, search_index(), result.new_message_ids, store=raw_store())
        click.echo(message, err=True)


def _seed_agents() -> None:
    if not current_app.config["DEMO_AGENTS"]:
        click.echo(_("Sample agents: skipped, as their passwords are published (production config)."))
        return
    seeded = seed_agents(db.session)
    db.session.commit()
    click.echo(_("Sample agents (sign in at /login; these passwords are for trying the product out):"))
    for email, role, password, created in seeded:
        note = "" if created else " " + _("(existed already; password not changed)")
        click.echo(f"  {role:<8} {email:<22} {password}{note}")
