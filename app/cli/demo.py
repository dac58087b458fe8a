"""``flask demo``: sample data for trying the product out."""

import click

from app.cli import DeskGroup
from app.extensions import db
from app.runtime import poll_settings, raw_store, search_index
from app.services.demo import seed
from app.services.indexing import index_now_or_wait

group = DeskGroup("demo", help="Sample data for trying the product out.")


@group.command("seed")
def seed_command():
    """Create sample accounts and archive sample mail (running it twice changes nothing)."""
    created, result = seed(db.session, raw_store(), poll_settings().tag_prefix)
    click.echo(f"Sample data: {created} account(s) created, {result.archived} message(s) archived.")
    if result.new_message_ids:
        click.echo(index_now_or_wait(db.session, search_index(), result.new_message_ids), err=True)
