"""``flask usage``: how much the web application is used, per account per day."""

import click

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.models import utcnow
from app.services.usage import usage_report

group = DeskGroup("usage", help="Usage totals from the request log (no IP address, user agent or agent).")


@group.command("report")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3660),
              help="How many UTC days to total, today included.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def report(days, as_json):
    """Print requests and mean duration per account per day."""
    rows = [vars(row) for row in usage_report(db.session, days, utcnow())]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No requests in the last {days} day(s).")
        return
    echo_table([{**r, "account": r["account"] or "(no account)"} for r in rows],
               ["day", "account", "requests", "mean_ms"])
