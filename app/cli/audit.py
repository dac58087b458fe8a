"""``flask audit``: verify the hash chain of the audit log, and list its entries."""

import click
from flask_babel import gettext as _
from flask_babel import ngettext

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.services.accounts import account_named
from app.services.agents import agent_with_email
from app.services.audit import describe_entries, list_entries, read_anchor, verify

group = DeskGroup("audit", help="The audit log: verify its hash chain, list its entries.")


@group.command("verify")
@click.option("--anchor", "anchors", metavar="ID:HASH", multiple=True,
              help="An entry's id and hash as an earlier run or an approver's email states them "
                   "(or the hash alone); fail if the log no longer holds it. Repeatable.")
def verify_(anchors):
    """Re-hash every entry with AUDIT_KEY and check each follows the one before.

    Exits 1 naming the first entry altered, removed, inserted or forged, or an anchor the
    log no longer holds (entries cut from the end, or the log rewritten).
    """
    result = verify(db.session, anchors=[read_anchor(a) for a in anchors])
    if not result.ok:
        raise click.ClickException(_("Audit log broken: %(problem)s.", problem=result.problem))
    click.echo(_intact(result.checked, len(anchors)))
    if result.last_id is not None:
        click.echo(_("Last entry: %(id)s, hash %(hash)s (keep it elsewhere and pass --anchor %(id)s:%(hash)s "
                     "later).", id=result.last_id, hash=result.last_hash))


def _intact(checked: int, anchors: int) -> str:
    if not anchors:
        return ngettext("Audit log intact: %(num)d entry checked.",
                        "Audit log intact: %(num)d entries checked.", checked)
    found = ngettext("%(num)d anchor", "%(num)d anchors", anchors)
    return ngettext("Audit log intact: %(num)d entry checked, %(anchors)s found.",
                    "Audit log intact: %(num)d entries checked, %(anchors)s found.", checked, anchors=found)


@group.command("list")
@click.option("--account", "account_name", metavar="NAME", help="Only entries about this account.")
@click.option("--agent", "agent_email", metavar="EMAIL", help="Only entries by this agent.")
@click.option("--action", help="Only entries with this action.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(account_name, agent_email, action, limit, as_json):
    """List audit entries, newest first."""
    account_id = account_named(db.session, account_name).id if account_name else None
    agent_id = agent_with_email(db.session, agent_email).id if agent_email else None
    entries = list_entries(db.session, account_id=account_id, agent_id=agent_id, action=action, limit=limit)
    rows = describe_entries(db.session, entries)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(_("No audit entries match."))
        return
    echo_table([{**r, "at": r["at"][:19].replace("T", " "), "detail": r["detail"][:60]} for r in rows],
               ["id", "at", "action", "agent", "contact", "account", "record", "detail"])
