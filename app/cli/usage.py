"""``flask usage``: how much the web application is used, per account per day, and rolling
the request log up into daily totals once its days are older than ``REQUEST_LOG_DAYS``."""

import click
from flask import current_app

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
        click.echo(f"No requests in the last {days} day(s).")
        return
    echo_table([{**r, "account": r["account"] or "(no account)"} for r in rows],
               ["day", "account", "requests", "mean_ms"])


@group.command("rollup")
def rollup():
    """Roll up the raw request log of days older than REQUEST_LOG_DAYS into daily totals."""
    keep_days = current_app.config["REQUEST_LOG_DAYS"]
    click.echo(rollup_line(roll_up(db.session, now(), keep_days), keep_days))


def rollup_line(done: Rollup, keep_days: int) -> str:
    """Say in one line what a roll-up did."""
    kept = f"raw rows are kept from {done.kept_from} (REQUEST_LOG_DAYS={keep_days})"
    if not done.days:
        return f"Nothing to roll up: {kept}."
    days = sorted(done.days)
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]} to {days[-1]}"
    return (f"Rolled up {done.requests:,} request(s) of {len(days)} day(s) ({span}) into "
            f"{done.totals:,} daily total(s); {kept}.")
