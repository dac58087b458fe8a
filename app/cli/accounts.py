"""``flask accounts``: customer accounts, their domains and contacts."""

import click

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.services.accounts import add_account, list_accounts

group = DeskGroup("accounts", help="Customer accounts, their mail domains and contacts.")


@group.command("add")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, help="A mail domain of the company (repeatable).")
@click.option("--contact", "contacts", multiple=True, help="A contact's email address (repeatable).")
@click.option("--approver", "approvers", multiple=True,
              help="A contact who may approve access requests (repeatable).")
def add(name, domains, contacts, approvers):
    """Add an account NAME."""
    account = add_account(db.session, name, list(domains), list(contacts), list(approvers))
    db.session.commit()
    click.echo(f"Added account {account.name} (id {account.id}).")


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json):
    """List accounts."""
    rows = list_accounts(db.session)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [{**r, "domains": ",".join(r["domains"]), "contacts": ",".join(r["contacts"]),
          "approvers": ",".join(r["approvers"])} for r in rows],
        ["id", "name", "domains", "contacts", "approvers"],
    )
