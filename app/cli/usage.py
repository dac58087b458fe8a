"""``flask usage``: how much the web application is used, per account per day, and rolling
the request log up into daily totals once its days are older than ``REQUEST_LOG_DAYS``."""

import click
from flask import current_app
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.runtime import now
from app.services.request_log import Rollup, roll_up
from app.services.usage import usage_report

group = DeskGroup("usage", help="Usage totals from the request log (no IP address, user agent or agent).")


@group.command("report")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3660),
              help="How many UTC days to total, today included.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def report(days, as_json):
    """Print requests and mean duration per account per day."""
    rows = [vars(row) for row in usage_report(db.session, days, now())]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(_("No requests in the last %(days)s day(s).", days=days))
        return
    echo_table([{**r, "account": r["account"] or _("(no account)")} for r in rows],
               ["day", "account", "requests", "mean_ms"])


@group.command("rollup")
def rollup():
    """Roll up the raw request log of days older than REQUEST_LOG_DAYS into daily totals."""
    keep_days = current_app.config["REQUEST_LOG_DAYS"]
    click.echo(rollup_line(roll_up(db.session, now(), keep_days), keep_days))


def rollup_line(done: Rollup, keep_days: int) -> str:
    """Say in one line what a roll-up did."""
    if not done.days:
        return _("Nothing to roll up: raw rows are kept from %(day)s (REQUEST_LOG_DAYS=%(keep)s).",
                 day=done.kept_from, keep=keep_days)
    days = sorted(done.days)
    span = f"{days[0]}" if len(days) == 1 else _("%(first)s to %(last)s", first=days[0], last=days[-1])
    return _("Rolled up %(requests)s request(s) of %(days)s day(s) (%(span)s) into %(totals)s daily "
             "total(s); raw rows are kept from %(day)s (REQUEST_LOG_DAYS=%(keep)s).",
             requests=f"{done.requests:,}", days=len(days), span=span, totals=f"{done.totals:,}",
             day=done.kept_from, keep=keep_days)
