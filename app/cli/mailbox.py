"""``flask mailbox``: configure IMAP mailboxes, poll them, import mail files, check health."""

import time

import click
from flask import current_app

from app.access.notices import send_new_links
from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table, progressbar
from app.extensions import db
from app.runtime import poll_settings, raw_store, search_index
from app.services.accounts import account_named
from app.services.indexing import IndexingAlongside
from app.services.mailboxes import (
    add_mailbox,
    check_connection,
    list_mailboxes,
    mailbox_status,
    poll_mailboxes,
)
from mailbox.errors import MailboxError
from mailbox.imports import import_source, open_source, refuse_non_mail

group = DeskGroup("mailbox", help="IMAP mailboxes: configure, poll, import, status.")


@group.command("add")
@click.argument("name")
@click.option("--host", required=True, help="IMAP server host name.")
@click.option("--port", required=True, type=click.IntRange(1, 65535), help="IMAP server port.")
@click.option("--security", required=True, type=click.Choice(["ssl", "starttls", "none"]),
              help="ssl (usually port 993), starttls (143), or none (only on a trusted network).")
@click.option("--username", required=True, help="The login name.")
@click.option("--password-env", required=True,
              help="The environment variable that holds the password at poll time.")
@click.option("--folder", "folders", multiple=True, help="A folder to archive (default INBOX).")
@click.option("--no-check", is_flag=True,
              help="Save without first connecting, signing in and opening each folder.")
def add(name, host, port, security, username, password_env, folders, no_check):
    """Add a mailbox NAME to poll, once the server answers and accepts the login (unless --no-check)."""
    mailbox = add_mailbox(db.session, name, host=host, port=port, security=security,
                          username=username, password_env=password_env, folders=list(folders))
    if not no_check:
        try:
            check_connection(mailbox, poll_settings())
        except MailboxError as exc:
            db.session.rollback()
            raise MailboxError(f"{exc}; nothing was saved (--no-check saves it unchecked)") from exc
    db.session.commit()
    folder_names = ", ".join(f.name for f in mailbox.folders)
    click.echo(f"Added mailbox {mailbox.name} ({folder_names}); "
               f"the password is read from ${password_env} at poll time.")


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json):
    """List configured mailboxes (passwords are never stored)."""
    rows = list_mailboxes(db.session)
    if as_json:
        echo_json(rows)
        return
    echo_table([{**r, "folders": ",".join(r["folders"])} for r in rows],
               ["name", "host", "port", "security", "username", "password_env", "folders"])


@group.command("poll")
@click.argument("names", nargs=-1)
@click.option("--once", is_flag=True,
              help="Poll once and return when the mail fetched is archived and searchable.")
def poll(names, once):
    """Poll the named mailboxes (all when none is named) now, and on the interval until Ctrl-C.

    With --once it polls a single time; the exit status is 1 when any folder had an error.
    """
    interval = current_app.config["POLL_INTERVAL_SECONDS"]
    while True:
        failed = _poll_and_index(list(names))
        if once:
            raise SystemExit(1 if failed else 0)
        click.echo(f"Next poll in {interval} s; stop with Ctrl-C.", err=True)
        time.sleep(interval)


def _poll_and_index(names: list[str]) -> bool:
    with IndexingAlongside(search_index(), db.engine, store=raw_store()) as indexing:
        def progress(report, total):
            indexing.nudge()
            click.echo(f"  {report.mailbox}/{report.folder}: {report.fetched}/{total} fetched",
                       err=True)

        reports = poll_mailboxes(db.session, names, poll_settings(), progress)
        for report in reports:
            click.echo(report.line())
        _send_new_links()
        new_ids = [i for r in reports for i in r.new_message_ids]
        if new_ids:
            click.echo(indexing.finish(db.session, new_ids), err=True)
    return any(r.errors for r in reports)


def _send_new_links() -> None:
    sent = send_new_links()
    if sent:
        click.echo(f"Customer links were found in the archived mail: they no longer work, and {sent} "
                   "new link(s) were emailed in their place.", err=True)


@group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--no-server", is_flag=True, help="Do not connect to count what waits on the server.")
def status(as_json, no_server):
    """Show each folder's last success, last error, UIDVALIDITY, checkpoint, backlog and the
    poller working on it now, if one is."""
    rows = mailbox_status(db.session, poll_settings(), check_server=not no_server)
    if as_json:
        echo_json(rows)
        return
    echo_table(rows, ["mailbox", "folder", "last_success", "uidvalidity", "checkpoint",
                      "not_yet_archived", "last_error", "server_check", "lease"])


@group.command("import")
@click.argument("path", type=click.Path())
@click.option("--account", help="Link every newly archived message to this account.")
@click.option("--allow-non-mail", is_flag=True,
              help="Archive files that are not mail too (raw, quarantined, and never deleted).")
def import_(path, account, allow_non_mail):
    """Archive an mbox file, a Maildir, or a folder of .eml files.

    A source holding anything that is not mail is refused whole, naming the files, unless
    --allow-non-mail says you mean it.
    """
    owner = account_named(db.session, account) if account else None
    source = open_source(path)
    if not allow_non_mail:
        refuse_non_mail(source)
    click.echo(f"Importing {source.count} message(s) from the {source.kind} {source.path}", err=True)
    with IndexingAlongside(search_index(), db.engine, store=raw_store()) as indexing:
        with progressbar(source.count, "Archiving") as bar:
            def progress(count: int) -> None:
                indexing.nudge()
                bar.update(count)

            result = import_source(db.session, raw_store(), source,
                                   tag_prefix=poll_settings().tag_prefix,
                                   account=(owner.id, owner.name) if owner else None,
                                   progress=progress)
        click.echo(f"{source.path}: read {source.count}, archived {result.archived}, "
                   f"duplicates {result.duplicates + result.already}, "
                   f"quarantined {result.quarantined}")
        _send_new_links()
        if result.new_message_ids:
            click.echo(indexing.finish(db.session, result.new_message_ids), err=True)


@group.command("connect")
@click.argument("name")
@click.option("--paste", is_flag=True,
              help="Sign in through an address to open and paste back, even where the provider "
                   "offers device sign-in.")
def connect(name, paste):
    """Connect the OAuth2 mailbox NAME: sign in at its provider and consent, from any device.

    Where the provider offers device sign-in (Microsoft 365 does), it prints an address and a
    code to enter there; otherwise (Google) an address to open, after which you paste the
    address the browser ended on (PUBLIC_URL/admin/oauth/callback?code=...).
    """
    from app.admin.oauth import redirect_uri
    from app.runtime import now, secret_box
    from app.services import oauth
    from app.services.mailboxes import mailboxes_named

    [mailbox] = mailboxes_named(db.session, [name])
    if not mailbox.uses_oauth:
        raise click.ClickException(f"The mailbox {name} signs in with a password; "
                                   "there is nothing to connect.")
    box = secret_box()
    if mailbox.oauth.device_url and not paste:
        device = oauth.begin_device(mailbox, box)
        click.echo(f"Open {device.verification_uri} on any device, enter the code {device.user_code}, "
                   f"sign in as {mailbox.username} and allow access.")
        click.echo("Waiting for the provider (Ctrl-C to give up)...", err=True)
        oauth.finish_device(db.session, mailbox, box, device, by=None, at=now())
    else:
        callback = redirect_uri()
        begun = oauth.begin(mailbox, box, callback)
        click.echo(f"Open this address, sign in as {mailbox.username} and allow access:\n\n{begun.url}\n")
        click.echo("Your browser then opens an address starting with "
                   f"{callback}; copy it from the address bar, even if the page shows an error.")
        returned = click.prompt("Address")
        oauth.finish(db.session, mailbox, box, returned_to=returned, state=begun.state,
                     verifier=begun.verifier, redirect_uri=callback, by=None, at=now())
    db.session.commit()
    click.echo(f"Connected the mailbox {name}; it is polled from its checkpoint on.")
