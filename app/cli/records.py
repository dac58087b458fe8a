"""``flask records``: load an account's business and personal records, and count them.

Nothing here prints a record's content: the summary is counts and bytes, and import
errors name a position in the file, never what it says.
"""

from pathlib import Path

import click
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.services.accounts import account_named
from app.services.records import import_records, parse_import_file, record_summary

group = DeskGroup("records", help="An account's records (jobs, tasks, todos, employees): import, summary.")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
def import_(file):
    """Add the records in FILE (JSON) to the account it names; a bad file adds nothing.

    FILE holds {"account": NAME, "jobs": [{"title", "description"}], "tasks": [{"title",
    "notes"}], "todos": [{"text"}], "employees": [{"name", "email", "notes"}]}; any kind
    may be left out, and other fields are ignored. Each run adds the records it reads.
    """
    data = parse_import_file(file.read_bytes(), file.name)
    account, counts = import_records(db.session, data)
    db.session.commit()
    added = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    click.echo(_("Added to %(account)s: %(added)s.", account=account.name, added=added))


@group.command("summary")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def summary(account, as_json):
    """Count ACCOUNT's records and the bytes their text holds, per kind (never their content)."""
    rows = [vars(row) for row in record_summary(db.session, account_named(db.session, account))]
    if as_json:
        echo_json(rows)
        return
    echo_table(rows, ["kind", "count", "bytes"])
