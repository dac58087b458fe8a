"""``flask access``: operators list access requests and grants, and revoke a grant."""

import click

from app.access import notices
from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.models import AccessRequest
from app.runtime import now
from app.services import access
from app.services.accounts import account_named

group = DeskGroup("access", help="Access requests and grants to accounts' records.")


@group.command("list")
@click.option("--account", "account_name", help="Only this account's requests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_requests(account_name, as_json):
    """List access requests, newest first, with where each stands now."""
    account = account_named(db.session, account_name) if account_name else None
    rows = [access.request_summary(r, now()) for r in access.all_requests(db.session, account)]
    if as_json:
        echo_json(rows)
    elif rows:
        echo_table(rows, ["id", "account", "agent", "scope", "state", "requested_at", "ends_at"])
    else:
        click.echo("No access requests.")


@group.command("revoke")
@click.argument("request_id", type=int)
def revoke(request_id):
    """End an active grant now; the agent loses access at their next request."""
    request = db.session.get(AccessRequest, request_id)
    if request is None:
        raise click.ClickException(f"There is no access request {request_id} (see `flask access list`).")
    ended = access.revoke_by_operator(db.session, request, now())
    db.session.commit()
    notices.send_or_log(ended)
    click.echo(f"Grant {request_id} revoked; {request.agent.name} can no longer open "
               f"{request.account.name}'s records.")
