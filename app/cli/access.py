"""``flask access``: operators list access requests and grants, revoke a grant, and sweep the
archive for customer links that reached it before it looked for them."""

import click
from flask_babel import gettext as _

from app.access import grants, queries
from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table, progressbar
from app.extensions import db
from app.ids import MAX_ID
from app.models import AccessRequest, Message
from app.runtime import now, raw_store
from app.services import access_notices, leaks
from app.services.accounts import account_named

group = DeskGroup("access", help="Access requests and grants to accounts' records.")


@group.command("list")
@click.option("--account", "account_name", help="Only this account's requests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_requests(account_name, as_json):
    """List access requests, newest first, with where each stands now."""
    account = account_named(db.session, account_name) if account_name else None
    rows = [grants.request_summary(r, now()) for r in queries.all_requests(db.session, account)]
    if as_json:
        echo_json(rows)
    elif rows:
        echo_table(rows, ["id", "account", "agent", "scope", "state", "requested_at", "ends_at"])
    else:
        click.echo(_("No access requests."))


@group.command("revoke")
@click.argument("request_id", type=click.IntRange(1, MAX_ID))
def revoke(request_id):
    """End an active grant now; the agent loses access at their next request."""
    request = db.session.get(AccessRequest, request_id)
    if request is None:
        raise click.ClickException(_("There is no access request %(id)s (see `flask access list`).",
                                     id=request_id))
    ended = grants.revoke_by_operator(db.session, request, now())
    db.session.commit()
    access_notices.send_or_log(ended)
    click.echo(_("Grant %(id)s revoked; %(agent)s can no longer open %(account)s's records.",
                 id=request_id, agent=request.agent.name, account=request.account.name))


@group.command("sweep")
def sweep():
    """Look for customer links in all archived mail, once after upgrading; leaked ones stop working.

    New mail is looked at as it is archived. Each link found is refused from now on, and
    its approver is emailed a new one where it still has a use.
    """
    total = db.session.query(Message).count()
    with progressbar(total, _("Sweeping")) as bar:
        burned = leaks.sweep_archive(db.session, raw_store(), bar.update)
    sent = access_notices.send_new_links()
    click.echo(_("Looked at %(total)s archived message(s): %(burned)s customer link(s) found no longer "
                 "work; %(sent)s new link(s) were emailed.", total=total, burned=burned, sent=sent))
