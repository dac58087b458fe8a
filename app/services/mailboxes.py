"""Configuring IMAP mailboxes, polling them, and reporting their health."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Agent, Mailbox, MailboxFolder, utcnow
from app.models.mailbox import KINDS, SECURITY_CHOICES
from app.secretbox import SecretBox
from app.services import audit, oauth
from app.services.errors import ServiceError
from app.services.oauth import OAuthSettings
from mailbox.errors import MailboxError
from mailbox.oauth import PROVIDERS
from mailbox.poller import FolderReport, PollSettings, Progress, open_source, poll_mailbox

_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]{1,253}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def add_mailbox(session: Session, name: str, *, host: str | None = None, port: int | None = None,
                security: str | None = None, username: str, password_env: str | None = None,
                folders: list[str], kind: str = "password", oauth_settings: OAuthSettings | None = None,
                box: SecretBox | None = None, by: Agent | None = None,
                at: datetime | None = None) -> Mailbox:
    """Configure a mailbox to poll.

    A password mailbox names the environment variable its password is read from at poll
    time. An OAuth2 mailbox (``kind`` microsoft, google or oauth2) carries the application
    registered at the provider and is polled once connected (``app.services.oauth``); for
    Microsoft 365 and Google the IMAP server is the provider's unless one is given.
    """
    name = name.strip()
    folders = list(dict.fromkeys(folders or ["INBOX"]))
    if kind not in KINDS:
        raise ServiceError(f"the kind must be one of {', '.join(KINDS)}, not {kind!r}")
    preset = PROVIDERS.get(kind)
    if preset is not None:
        host, port, security = host or preset.imap[0], port or preset.imap[1], security or preset.imap[2]
    if kind == "password":
        if not password_env:
            raise ServiceError("a password mailbox needs the environment variable holding its password")
    elif oauth_settings is None or box is None:
        raise ServiceError("an OAuth2 mailbox needs the client id and secret of the application "
                           "registered at the provider")
    _check_settings(name, host or "", port or 0, security or "", username, password_env, folders)
    if session.scalar(select(Mailbox).where(Mailbox.name == name)):
        raise ServiceError(f"a mailbox named {name!r} exists already")
    mailbox = Mailbox(name=name, kind=kind, host=host, port=port, security=security,
                      username=username, password_env=password_env if kind == "password" else None)
    if preset is not None and preset.smtp is not None:
        mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security = preset.smtp
    for folder in folders:
        mailbox.folders.append(MailboxFolder(name=folder))
    if kind != "password":
        oauth.configure(mailbox, kind, oauth_settings, box)
    session.add(mailbox)
    session.flush()
    audit.append(session, "mailbox_added", at=at or utcnow(), agent_id=by.id if by else None,
                 detail=f"mailbox {mailbox.name} ({kind}, {username} at {host}:{port}, "
                        f"folders {', '.join(folders)})")
    return mailbox


def _check_settings(name: str, host: str, port: int, security: str, username: str,
                    password_env: str | None, folders: list[str]) -> None:
    # Lengths are checked here because PostgreSQL refuses an over-long value with an
    # error no person should have to read, while SQLite would silently store it.
    if not name:
        raise ServiceError("the mailbox needs a name")
    _check_length("the mailbox name", name, 100)
    if not _HOST.match(host):
        raise ServiceError(f"{host!r} is not a host name (for example: imap.example.com)")
    if security not in SECURITY_CHOICES:
        raise ServiceError(f"security must be one of {', '.join(SECURITY_CHOICES)}")
    if not 0 < port < 65536:
        raise ServiceError(f"port {port} is not a TCP port (1 to 65535)")
    if not username:
        raise ServiceError("the mailbox needs a username")
    _check_length("the username", username, 320)
    if password_env is not None and not _ENV_NAME.match(password_env):
        raise ServiceError(f"{password_env!r} is not an environment variable name")
    for folder in folders:
        if not folder.strip():
            raise ServiceError("a folder name cannot be empty")
        _check_length(f"the folder name {folder[:40]!r}", folder, 500)


def _check_length(what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ServiceError(f"{what} is longer than {limit} characters")


def check_connection(mailbox: Mailbox, settings: PollSettings) -> None:
    """Connect, sign in and examine each folder read-only; raise the ``MailboxError`` of what failed."""
    with open_source(mailbox, settings) as source:
        for folder in mailbox.folders:
            source.changes(folder.name, folder.uidvalidity, folder.checkpoint_uid)


def edit_mailbox(session: Session, mailbox: Mailbox, *, by: Agent | None, at: datetime,
                 name: str | None = None, host: str | None = None, port: int | None = None,
                 security: str | None = None, username: str | None = None, password_env: str | None = None,
                 oauth_settings: OAuthSettings | None = None, box: SecretBox | None = None,
                 smtp_host: str | None = None, smtp_port: int | None = None,
                 smtp_security: str | None = None) -> list[str]:
    """Change a mailbox's settings (None keeps one); return the names of the settings changed.

    ``smtp_host`` names the SMTP server replies leave through, signed in as the mailbox's
    account; an empty one sends replies through the desk's ``SMTP_URL`` again.

    For Microsoft 365 and Google a blank host, port or security is the provider's own. The
    kind stays: a mailbox signing in another way is another mailbox. A blank client secret
    keeps the stored one.
    """
    preset = PROVIDERS.get(mailbox.kind)
    if preset is not None:
        host = host if host is None or host.strip() else preset.imap[0]
        port = port if port is None or port else preset.imap[1]
        security = security if security is None or security else preset.imap[2]
    wanted = {"name": name.strip() if name is not None else None, "host": host, "port": port,
              "security": security, "username": username,
              "password_env": password_env if mailbox.kind == "password" else None}
    new = {key: getattr(mailbox, key) if value is None else value for key, value in wanted.items()}
    _check_settings(new["name"], new["host"] or "", new["port"] or 0, new["security"] or "",
                    new["username"], new["password_env"], [])
    if mailbox.kind == "password" and not new["password_env"]:
        raise ServiceError("a password mailbox needs the environment variable holding its password")
    if new["name"] != mailbox.name and session.scalar(select(Mailbox).where(Mailbox.name == new["name"])):
        raise ServiceError(f"a mailbox named {new['name']!r} exists already")
    reply = _reply_server(mailbox, smtp_host, smtp_port, smtp_security)
    new.update(reply)
    changed = [key for key, value in new.items() if value != getattr(mailbox, key)]
    if mailbox.uses_oauth and oauth_settings is not None:
        before = _oauth_fields(mailbox)
        oauth.configure(mailbox, mailbox.kind, oauth_settings, box)
        changed += [key for key, value in _oauth_fields(mailbox).items() if value != before[key]]
    old_name = mailbox.name
    for key in new:
        setattr(mailbox, key, new[key])
    if changed:
        audit.append(session, "mailbox_changed", at=at, agent_id=by.id if by else None,
                     detail=f"mailbox {old_name}: changed {', '.join(changed)}")
    session.flush()
    return changed


def _reply_server(mailbox: Mailbox, host: str | None, port: int | None, security: str | None) -> dict:
    """Check the SMTP server replies leave through; None keeps each setting, an empty host clears."""
    host = mailbox.smtp_host if host is None else host.strip() or None
    if host is None:
        return {"smtp_host": None, "smtp_port": None, "smtp_security": None}
    port = port or mailbox.smtp_port or 587
    security = security or mailbox.smtp_security or "starttls"
    if not _HOST.match(host):
        raise ServiceError(f"{host[:80]!r} is not a host name for the SMTP server "
                           "(for example: smtp.example.com)")
    if not 0 < port < 65536:
        raise ServiceError(f"the SMTP port {port} is not a TCP port (1 to 65535)")
    if security not in SECURITY_CHOICES:
        raise ServiceError(f"the SMTP security must be one of {', '.join(SECURITY_CHOICES)}")
    return {"smtp_host": host, "smtp_port": port, "smtp_security": security}


def current_settings(mailbox: Mailbox) -> dict:
    """Return a mailbox's editable settings as a form or the CLI fills them in; never a secret."""
    settings = {"kind": mailbox.kind, "name": mailbox.name, "username": mailbox.username,
                "host": mailbox.host, "port": mailbox.port, "security": mailbox.security,
                "password_env": mailbox.password_env, "smtp_host": mailbox.smtp_host,
                "smtp_port": mailbox.smtp_port, "smtp_security": mailbox.smtp_security}
    current = mailbox.oauth
    if current is not None:
        settings.update(client_id=current.client_id, authorize_url=current.authorize_url,
                        token_url=current.token_url, device_url=current.device_url, scopes=current.scopes,
                        mechanism=current.mechanism)
        if mailbox.kind == "microsoft":  # .../{tenant}/oauth2/v2.0/token
            settings["tenant"] = current.token_url.split("/")[3]
    return settings


def _oauth_fields(mailbox: Mailbox) -> dict:
    # The secret is compared as ciphertext: a new one always differs, and never shows.
    settings = mailbox.oauth
    names = ("client_id", "client_secret", "authorize_url", "token_url", "device_url", "scopes", "mechanism")
    return {name: getattr(settings, name, None) for name in names}


def pause_mailbox(session: Session, mailbox: Mailbox, *, by: Agent | None, at: datetime) -> None:
    """Stop polling and watching a mailbox until it is resumed; its archive stays as it is."""
    if mailbox.paused_at is not None:
        raise ServiceError(f"the mailbox {mailbox.name} is paused already")
    mailbox.paused_at = at
    audit.append(session, "mailbox_paused", at=at, agent_id=by.id if by else None,
                 detail=f"mailbox {mailbox.name} paused")
    session.flush()


def resume_mailbox(session: Session, mailbox: Mailbox, *, by: Agent | None, at: datetime) -> None:
    """Poll a paused mailbox again, from each folder's checkpoint."""
    if mailbox.paused_at is None:
        raise ServiceError(f"the mailbox {mailbox.name} is not paused")
    mailbox.paused_at = None
    audit.append(session, "mailbox_resumed", at=at, agent_id=by.id if by else None,
                 detail=f"mailbox {mailbox.name} resumed")
    session.flush()


def server_folders(mailbox: Mailbox, settings: PollSettings) -> list[str]:
    """Sign in and return the names of the folders on the server."""
    with open_source(mailbox, settings) as source:
        return source.folders()


@dataclass(frozen=True)
class FolderChange:
    added: list[str]
    removed: list[str]


def plan_folders(mailbox: Mailbox, wanted: list[str]) -> FolderChange:
    """Say which folders choosing ``wanted`` adds and which it removes."""
    current = [f.name for f in mailbox.folders]
    return FolderChange(added=[f for f in dict.fromkeys(wanted) if f not in current],
                        removed=[f for f in current if f not in wanted])


def check_folder_choice(wanted: list[str], available: list[str] | None) -> None:
    """Refuse an empty choice, an empty or over-long name, and a folder the server does not have."""
    if not wanted:
        raise ServiceError("choose at least one folder; pause the mailbox to stop archiving it")
    for folder in wanted:
        if not folder.strip():
            raise ServiceError("a folder name cannot be empty")
        _check_length(f"the folder name {folder[:40]!r}", folder, 500)
    if available is not None:
        unknown = [f for f in wanted if f not in available]
        if unknown:
            raise ServiceError(f"the server has no folder {unknown[0]!r} (it has: {', '.join(available)})")


def set_folders(session: Session, mailbox: Mailbox, wanted: list[str], *, by: Agent | None, at: datetime,
                available: list[str] | None = None, removal_confirmed: bool = False) -> FolderChange:
    """Archive exactly the ``wanted`` folders from now on.

    A new folder starts from checkpoint 0 (all its mail is archived); one chosen again goes on
    from its old checkpoint. Removing a folder, which needs ``removal_confirmed``, stops its
    polling and deletes nothing: its archived mail stays, with where it was seen.
    """
    wanted = list(dict.fromkeys(wanted))
    check_folder_choice(wanted, available)
    change = plan_folders(mailbox, wanted)
    if change.removed and not removal_confirmed:
        raise ServiceError(f"removing {', '.join(change.removed)} needs confirming: their mail is no longer "
                           "archived from then on (what is archived stays)")
    _apply_folders(session, mailbox, change, at)
    if change.added or change.removed:
        audit.append(session, "mailbox_folders_changed", at=at, agent_id=by.id if by else None,
                     detail=f"mailbox {mailbox.name}: added {', '.join(change.added) or 'none'}; "
                            f"removed {', '.join(change.removed) or 'none'} (archived mail kept)")
    return change


def _apply_folders(session: Session, mailbox: Mailbox, change: FolderChange, at: datetime) -> None:
    kept = {f.name: f for f in mailbox.all_folders}
    for name in change.removed:
        kept[name].removed_at = at
    for name in change.added:
        if name in kept:
            kept[name].removed_at = None
        else:
            session.add(MailboxFolder(mailbox_id=mailbox.id, name=name))
    session.flush()
    session.expire(mailbox, ["folders", "all_folders"])


def mailboxes_named(session: Session, names: list[str] | None) -> list[Mailbox]:
    """Return the named mailboxes (all when no name is given), or raise for an unknown one."""
    mailboxes = session.scalars(select(Mailbox).order_by(Mailbox.name)).all()
    if not names:
        return list(mailboxes)
    by_name = {m.name: m for m in mailboxes}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ServiceError(f"no mailbox is named {unknown[0]!r} (see `flask mailbox list`)")
    return [by_name[n] for n in names]


def list_mailboxes(session: Session) -> list[dict]:
    """Return every mailbox's settings (never a password) for printing or JSON."""
    return [
        {
            "name": m.name,
            "kind": m.kind,
            "host": m.host,
            "port": m.port,
            "security": m.security,
            "username": m.username,
            "password_env": m.password_env,
            "folders": [f.name for f in m.folders],
            "state": mailbox_state(m),
        }
        for m in mailboxes_named(session, None)
    ]


_WHY_NOT_POLLED = {
    "paused": "the mailbox is paused",
    "not connected": "the mailbox is not connected to its provider yet",
    "needs reconnecting": "the provider refused its sign-in; an administrator must reconnect it",
}


def mailbox_state(mailbox: Mailbox) -> str:
    """Say in a few words whether the mailbox is polled: active, paused, not connected, or
    needs reconnecting."""
    if mailbox.paused_at is not None:
        return "paused"
    if mailbox.needs_reconnecting:
        return "needs reconnecting"
    if not mailbox.connected:
        return "not connected"
    return "active"


def poll_mailboxes(session: Session, names: list[str] | None, settings: PollSettings,
                   progress: Progress | None = None) -> list[FolderReport]:
    """Poll the named mailboxes (all when none named) once; return one report per folder.

    Paused mailboxes, and OAuth2 mailboxes that are not connected or need reconnecting, are
    not asked: each of their folders reports why. Afterwards the administrators are emailed
    about any mailbox that newly needs reconnecting.
    """
    reports: list[FolderReport] = []
    for mailbox in mailboxes_named(session, names):
        state = mailbox_state(mailbox)
        if state != "active":
            why = [f"not polled: {_WHY_NOT_POLLED[state]}"]
            reports += [FolderReport(mailbox.name, f.name, notes=why) if state == "paused"
                        else FolderReport(mailbox.name, f.name, errors=why) for f in mailbox.folders]
            continue
        reports += poll_mailbox(session, mailbox, settings, progress)
        oauth.record_refusals(session)
    oauth.notify_needing_reconnect(session, utcnow())
    return reports


def mailbox_status(session: Session, settings: PollSettings,
                   check_server: bool = True) -> list[dict]:
    """Return each folder's health; with ``check_server``, count what waits on the server."""
    rows, now = [], utcnow()
    for mailbox in mailboxes_named(session, None):
        waiting, problem = _waiting_on_server(mailbox, settings) if check_server else ({}, None)
        for folder in mailbox.folders:
            rows.append({
                "mailbox": mailbox.name,
                "folder": folder.name,
                "last_success": _iso(folder.last_success_at),
                "last_error": folder.last_error,
                "last_error_at": _iso(folder.last_error_at),
                "uidvalidity": folder.uidvalidity,
                "checkpoint": folder.checkpoint_uid,
                "not_yet_archived": waiting.get(folder.name),
                "server_check": problem or ("ok" if check_server else "skipped"),
                "lease": _lease(folder, now),
            })
    if check_server:
        oauth.record_refusals(session)  # a provider that refused a token marks its mailbox now
    return rows


def _waiting_on_server(mailbox: Mailbox, settings: PollSettings) -> tuple[dict, str | None]:
    waiting: dict[str, int] = {}
    try:
        with open_source(mailbox, settings) as source:
            for folder in mailbox.folders:
                changes = source.changes(folder.name, folder.uidvalidity, folder.checkpoint_uid)
                waiting[folder.name] = len(changes.uids)
    except MailboxError as exc:
        return waiting, str(exc)
    return waiting, None


def _lease(folder: MailboxFolder, now: datetime) -> str | None:
    """Name the poller working on the folder (host:pid:tag) and until when, if one is."""
    if folder.lease_owner is None or folder.lease_until is None or folder.lease_until < now:
        return None
    return f"{folder.lease_owner} until {_iso(folder.lease_until)}"


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None
