"""``flask accounts``: customer accounts, their domains and contacts; the same services serve the
administration pages."""

import click
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.runtime import now
from app.services.accounts import AccountChanges, account_named, create_account, edit_account, list_accounts

group = DeskGroup("accounts", help="Customer accounts, their mail domains and contacts.")


@group.command("add")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, help="A mail domain of the company (repeatable).")
@click.option("--contact", "contacts", multiple=True, help="A contact's email address (repeatable).")
@click.option("--approver", "approvers", multiple=True,
              help="A contact who may approve access requests (repeatable).")
def add(name, domains, contacts, approvers):
    """Add an account NAME."""
    account = create_account(db.session, name, list(domains), list(contacts), list(approvers),
                             by=None, now=now())
    db.session.commit()
    click.echo(_("Added account %(name)s (id %(id)s).", name=account.name, id=account.id))


@group.command("edit")
@click.argument("name")
@click.option("--rename", metavar="NEW_NAME", help="A new name for the account.")
@click.option("--add-domain", "add_domains", multiple=True, help="Add a mail domain (repeatable).")
@click.option("--remove-domain", "remove_domains", multiple=True, help="Remove a mail domain (repeatable).")
@click.option("--add-contact", "add_contacts", multiple=True, help="Add a contact's address (repeatable).")
@click.option("--remove-contact", "remove_contacts", multiple=True, help="Remove a contact (repeatable).")
@click.option("--approver", "approvers", multiple=True,
              help="Let a contact approve access requests; a new address becomes a contact (repeatable).")
@click.option("--not-approver", "not_approvers", multiple=True,
              help="A contact who may no longer approve access requests (repeatable).")
def edit(name, rename, add_domains, remove_domains, add_contacts, remove_contacts, approvers, not_approvers):
    """Change account NAME: all the changes are made, or none when one is refused."""
    changes = AccountChanges(rename, list(add_domains), list(remove_domains), list(add_contacts),
                             list(remove_contacts), list(approvers), list(not_approvers))
    if changes == AccountChanges():
        raise click.UsageError(_("say what to change, e.g. --add-domain or --approver"))
    account = edit_account(db.session, account_named(db.session, name), changes, by=None, now=now())
    db.session.commit()
    click.echo(_("Changed account %(name)s: domains %(domains)s; contacts %(contacts)s; approvers "
                 "%(approvers)s.", name=account.name, domains=_listed(d.domain for d in account.domains),
                 contacts=_listed(c.email for c in account.contacts),
                 approvers=_listed(c.email for c in account.approvers)))


def _listed(values) -> str:
    return ", ".join(values) or _("none")


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
