"""``flask worker``: the long-running process that polls mailboxes and keeps the index current."""

import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from app.cli import clear_errors, in_shell_language
from app.worker import run_worker


@click.command("worker")
@with_appcontext
def command():
    """Run the worker (APScheduler) in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # APScheduler logs every run of every job; the worker logs what the jobs did instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with in_shell_language():
        click.echo(_("Worker starting; stop it with Ctrl-C."), err=True)
    with clear_errors():
        run_worker(current_app._get_current_object())
