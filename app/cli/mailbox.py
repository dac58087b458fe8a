"""``flask mailbox``: configure IMAP mailboxes (password or OAuth2), test, pause and resume them,
choose their folders, poll them, import mail files, check health. The checks and sentences are
the service's (``app.services.mailboxes``), the same as the browser's.
"""

import time

import click
from flask import current_app
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table, progressbar
from app.extensions import db
from app.models.mailbox import KINDS, MECHANISMS, SECURITY_CHOICES
from app.runtime import now, poll_settings, raw_store, search_index, secret_box
from app.services import oauth
from app.services.access_notices import send_new_links
from app.services.accounts import account_named
from app.services.errors import ServiceError
from app.services.indexing import IndexingAlongside
from app.services.mailboxes import (
    add_mailbox,
    check_connection,
    check_folder_choice,
    current_settings,
    edit_mailbox,
    list_mailboxes,
    mailbox_status,
    mailboxes_named,
    pause_mailbox,
    plan_folders,
    poll_mailboxes,
    resume_mailbox,
    server_folders,
    set_folders,
)
from app.services.oauth import OAuthSettings
from config import read_secret
from mailbox.diagnosis import diagnose_connection
from mailbox.errors import MailboxError
from mailbox.imports import import_source, open_source, refuse_non_mail

group = DeskGroup("mailbox", help="IMAP mailboxes: configure, poll, import, status.")


def _oauth_options(command):
    """The OAuth2 application's options, shared by ``add`` and ``edit``."""
    options = [
        click.option("--client-id", help="OAuth2: the application (client) id registered at the provider."),
        click.option("--client-secret-env", metavar="VARIABLE",
                     help="OAuth2: the environment variable holding the client secret (never the secret "
                          "itself, which would stay in the shell's history); it is stored encrypted."),
        click.option("--tenant", help="Microsoft 365: a domain, a tenant id, or organizations."),
        click.option("--authorize-url", help="Other OAuth2 providers: the authorization endpoint."),
        click.option("--token-url", help="Other OAuth2 providers: the token endpoint."),
        click.option("--device-url", help="Other providers: the device authorisation endpoint, if any."),
        click.option("--scopes", help="OAuth2: the scopes, space-separated (preset for Microsoft, Google)."),
        click.option("--mechanism", type=click.Choice(MECHANISMS), help="OAuth2: the SASL mechanism."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@group.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), default="password", show_default=True,
              help="How it signs in: a password, or OAuth2 at Microsoft 365, Google or another provider.")
@click.option("--host", help="IMAP server host name (optional for microsoft and google).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="IMAP server port (optional for microsoft and google).")
@click.option("--security", type=click.Choice(SECURITY_CHOICES),
              help="ssl (usually port 993), starttls (143), or none (only on a trusted network).")
@click.option("--username", required=True, help="The login name.")
@click.option("--password-env",
              help="Password mailboxes: the environment variable that holds the password at poll time.")
@click.option("--folder", "folders", multiple=True, help="A folder to archive (default INBOX).")
@_oauth_options
@click.option("--no-check", is_flag=True,
              help="Save without first connecting, signing in and opening each folder.")
def add(name, kind, host, port, security, username, password_env, folders, no_check, **oauth_given):
    """Add a mailbox NAME to poll. A password mailbox is saved once the server answers and accepts
    the login (unless --no-check); an OAuth2 mailbox is saved, then connected at the provider."""
    if kind == "password":
        _require(host=host, port=port, security=security, password_env=password_env)
    _only_for_its_kind(kind, password_env, oauth_given)
    mailbox = add_mailbox(db.session, name, host=host, port=port, security=security, username=username,
                          password_env=password_env, folders=list(folders), kind=kind,
                          oauth_settings=_oauth_settings(kind, oauth_given, None), box=secret_box(), at=now())
    if kind == "password" and not no_check:
        try:
            check_connection(mailbox, poll_settings())
        except MailboxError as exc:
            db.session.rollback()
            raise MailboxError(_("%(error)s; nothing was saved (--no-check saves it unchecked)",
                                 error=exc)) from exc
    db.session.commit()
    folder_names = ", ".join(f.name for f in mailbox.folders)
    if kind == "password":
        click.echo(_("Added mailbox %(name)s (%(folders)s); the password is read from $%(variable)s at poll "
                     "time.", name=mailbox.name, folders=folder_names, variable=password_env))
    else:
        click.echo(_("Added mailbox %(name)s (%(folders)s) at %(host)s:%(port)s; it is polled once connected "
                     "at the provider (its page in the browser, under Mailboxes).", name=mailbox.name,
                     folders=folder_names, host=mailbox.host, port=mailbox.port))


@group.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="A new name for the mailbox.")
@click.option("--host", help="IMAP server host name.")
@click.option("--port", type=click.IntRange(1, 65535), help="IMAP server port.")
@click.option("--security", type=click.Choice(SECURITY_CHOICES), help="ssl, starttls or none.")
@click.option("--username", help="The login name.")
@click.option("--password-env", help="Password mailboxes: the environment variable holding the password.")
@_oauth_options
@click.option("--smtp-host", help="Send replies through this SMTP server, signed in as the mailbox's "
                                  "account (an empty value: through SMTP_URL again).")
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="The SMTP server's port (default 587).")
@click.option("--smtp-security", type=click.Choice(SECURITY_CHOICES),
              help="The SMTP server's security (default starttls).")
def edit(name, new_name, host, port, security, username, password_env, smtp_host, smtp_port, smtp_security,
         **oauth_given):
    """Change settings of the mailbox NAME; what is not given stays. Folders: `flask mailbox folders`."""
    mailbox = _one(name)
    _only_for_its_kind(mailbox.kind, password_env, oauth_given)
    changed = edit_mailbox(db.session, mailbox, by=None, at=now(), name=new_name, host=host, port=port,
                           security=security, username=username, password_env=password_env,
                           oauth_settings=_oauth_settings(mailbox.kind, oauth_given, mailbox),
                           box=secret_box(), smtp_host=smtp_host, smtp_port=smtp_port,
                           smtp_security=smtp_security)
    db.session.commit()
    click.echo(_("Changed %(settings)s of mailbox %(name)s.", settings=", ".join(changed), name=mailbox.name)
               if changed else _("Nothing was changed in mailbox %(name)s.", name=mailbox.name))


@group.command("pause")
@click.argument("name")
def pause(name):
    """Stop polling the mailbox NAME until it is resumed; nothing archived is touched."""
    mailbox = _one(name)
    pause_mailbox(db.session, mailbox, by=None, at=now())
    db.session.commit()
    click.echo(_("Paused mailbox %(name)s: it is not polled until `flask mailbox resume %(name)s`.",
                 name=mailbox.name))


@group.command("resume")
@click.argument("name")
def resume(name):
    """Poll the paused mailbox NAME again, from each folder's checkpoint."""
    mailbox = _one(name)
    resume_mailbox(db.session, mailbox, by=None, at=now())
    db.session.commit()
    click.echo(_("Resumed mailbox %(name)s: it is polled again from where it stopped.", name=mailbox.name))


@group.command("test")
@click.argument("name")
def test(name):
    """Test reaching the mailbox NAME step by step: DNS, TCP, TLS, login, each folder (read-only).

    The exit status is 1 when a step failed.
    """
    steps = diagnose_connection(_one(name), poll_settings())
    oauth.record_refusals(db.session)  # a provider that refused the token marks the mailbox now
    for step in steps:
        click.echo(f"{step.name:<16} {step.status:<9} {step.detail}")
    if any(step.status == "failed" for step in steps):
        raise SystemExit(1)


@group.command("folders")
@click.argument("name")
@click.option("--set", "wanted", multiple=True, metavar="FOLDER",
              help="Archive exactly these folders (repeat it); unlisted ones stop being archived.")
@click.option("--yes", is_flag=True, help="Remove unlisted folders without asking.")
def folders_(name, wanted, yes):
    """List the folders on the server of the mailbox NAME, [x] for those archived; or choose them with --set.

    Removing a folder stops archiving it and deletes nothing already archived.
    """
    mailbox = _one(name)
    available = server_folders(mailbox, poll_settings())
    if not wanted:
        chosen = {f.name for f in mailbox.folders}
        for folder in dict.fromkeys([*available, *chosen]):
            gone = "" if folder in available else "  " + _("(not on the server)")
            click.echo(f"[{'x' if folder in chosen else ' '}] {folder}{gone}")
        return
    check_folder_choice(list(wanted), available)
    removed = plan_folders(mailbox, list(wanted)).removed
    if removed and not yes:
        click.confirm(_("Stop archiving %(folders)s? What is archived from them stays",
                        folders=", ".join(removed)), abort=True)
    change = set_folders(db.session, mailbox, list(wanted), by=None, at=now(), available=available,
                         removal_confirmed=True)
    db.session.commit()
    click.echo(_("Mailbox %(name)s: added %(added)s; removed %(removed)s (archived mail kept).",
                 name=mailbox.name, added=", ".join(change.added) or _("none"),
                 removed=", ".join(change.removed) or _("none")))


def _one(name: str):
    return mailboxes_named(db.session, [name])[0]


def _require(**given) -> None:
    missing = [name for name, value in given.items() if value is None]
    if missing:
        flag = "--" + missing[0].replace("_", "-")
        raise click.UsageError(_("Missing option '%(flag)s' (a password mailbox needs --host, --port, "
                                 "--security and --password-env)", flag=flag))


def _only_for_its_kind(kind: str, password_env: str | None, oauth_given: dict) -> None:
    if kind != "password" and password_env is not None:
        raise click.UsageError(_("--password-env is only for password mailboxes; OAuth2 ones sign in with "
                                 "--client-id and --client-secret-env"))
    given = [name for name, value in oauth_given.items() if value is not None]
    if kind == "password" and given:
        flag = "--" + given[0].replace("_", "-")
        raise click.UsageError(_("%(flag)s is only for OAuth2 mailboxes (--kind microsoft, google or oauth2)",
                                 flag=flag))


def _oauth_settings(kind: str, given: dict, mailbox) -> OAuthSettings | None:
    """The OAuth2 application from the options, over the mailbox's current one when editing."""
    if kind == "password" or (mailbox is not None and not any(v is not None for v in given.values())):
        return None
    current = current_settings(mailbox) if mailbox is not None else {}
    secret = None
    if given["client_secret_env"]:
        secret = read_secret(given["client_secret_env"])
        if not secret:
            raise ServiceError(_("the environment variable %(name)s holding the client secret is not set",
                                 name=given["client_secret_env"]))

    def pick(key: str) -> str | None:
        return given[key] if given.get(key) is not None else current.get(key)

    return OAuthSettings(client_id=pick("client_id") or "", client_secret=secret,
                         tenant=pick("tenant") or "organizations", authorize_url=pick("authorize_url"),
                         token_url=pick("token_url"), device_url=pick("device_url"), scopes=pick("scopes"),
                         mechanism=pick("mechanism"))


def no_mailbox() -> str:
    """Say that no mailbox is configured, and how to add one."""
    return _("No mailbox is configured yet: add one with `flask mailbox add` or under Administration, "
             "Mailboxes. Mail imported with `flask mailbox import` needs none.")


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json):
    """List configured mailboxes (passwords are never stored)."""
    rows = list_mailboxes(db.session)
    if as_json:
        echo_json(rows)
        return
    echo_table([{**r, "folders": ",".join(r["folders"])} for r in rows],
               ["name", "host", "port", "security", "username", "password_env", "folders"],
               empty=no_mailbox())


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
        click.echo(_("Next poll in %(seconds)s s; stop with Ctrl-C.", seconds=interval), err=True)
        time.sleep(interval)


def _poll_and_index(names: list[str]) -> bool:
    with IndexingAlongside(search_index(), db.engine, store=raw_store()) as indexing:
        def progress(report, total):
            indexing.nudge()
            line = _("%(mailbox)s/%(folder)s: %(fetched)s/%(total)s fetched", mailbox=report.mailbox,
                     folder=report.folder, fetched=report.fetched, total=total)
            click.echo(f"  {line}", err=True)

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
        click.echo(_("Customer links were found in the archived mail: they no longer work, and %(sent)s new "
                     "link(s) were emailed in their place.", sent=sent), err=True)


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
                      "not_yet_archived", "last_error", "server_check", "lease"], empty=no_mailbox())


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
    click.echo(_("Importing %(count)s message(s) from the %(kind)s %(path)s", count=source.count,
                 kind=source.kind, path=source.path), err=True)
    with IndexingAlongside(search_index(), db.engine, store=raw_store()) as indexing:
        with progressbar(source.count, _("Archiving")) as bar:
            def progress(count: int) -> None:
                indexing.nudge()
                bar.update(count)

            result = import_source(db.session, raw_store(), source,
                                   tag_prefix=poll_settings().tag_prefix,
                                   account=(owner.id, owner.name) if owner else None,
                                   progress=progress)
        click.echo(_("%(path)s: read %(read)s, archived %(archived)s, duplicates %(duplicates)s, quarantined "
                     "%(quarantined)s", path=source.path, read=source.count, archived=result.archived,
                     duplicates=result.duplicates + result.already, quarantined=result.quarantined))
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
    from app.services.mailboxes import mailboxes_named

    [mailbox] = mailboxes_named(db.session, [name])
    if not mailbox.uses_oauth:
        raise click.ClickException(_("The mailbox %(name)s signs in with a password; there is nothing to "
                                     "connect.", name=name))
    box = secret_box()
    if mailbox.oauth.device_url and not paste:
        device = oauth.begin_device(mailbox, box)
        click.echo(_("Open %(address)s on any device, enter the code %(code)s, sign in as %(username)s and "
                     "allow access.", address=device.verification_uri, code=device.user_code,
                     username=mailbox.username))
        click.echo(_("Waiting for the provider (Ctrl-C to give up)..."), err=True)
        oauth.finish_device(db.session, mailbox, box, device, by=None, at=now())
    else:
        callback = redirect_uri()
        begun = oauth.begin(mailbox, box, callback)
        click.echo(_("Open this address, sign in as %(username)s and allow access:\n\n%(address)s\n",
                     username=mailbox.username, address=begun.url))
        click.echo(_("Your browser then opens an address starting with %(callback)s; copy it from the "
                     "address bar, even if the page shows an error.", callback=callback))
        returned = click.prompt(_("Address"))
        oauth.finish(db.session, mailbox, box, returned_to=returned, state=begun.state,
                     verifier=begun.verifier, redirect_uri=callback, by=None, at=now())
    db.session.commit()
    click.echo(_("Connected the mailbox %(name)s; it is polled from its checkpoint on.", name=name))
