"""Configuring IMAP mailboxes, polling them, and reporting their health."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Mailbox, MailboxFolder, utcnow
from app.models.mailbox import SECURITY_CHOICES
from app.services.errors import ServiceError
from mailbox.errors import MailboxError
from mailbox.poller import FolderReport, PollSettings, Progress, open_source, poll_mailbox

_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]{1,253}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def add_mailbox(session: Session, name: str, *, host: str, port: int, security: str,
                username: str, password_env: str, folders: list[str]) -> Mailbox:
    """Configure a mailbox to poll; the password stays in the named environment variable."""
    name = name.strip()
    folders = list(dict.fromkeys(folders or ["INBOX"]))
    _check_settings(name, host, port, security, username, password_env, folders)
    if session.scalar(select(Mailbox).where(Mailbox.name == name)):
        raise ServiceError(f"a mailbox named {name!r} exists already")
    mailbox = Mailbox(name=name, host=host, port=port, security=security,
                      username=username, password_env=password_env)
    for folder in folders:
        mailbox.folders.append(MailboxFolder(name=folder))
    session.add(mailbox)
    session.flush()
    return mailbox


def _check_settings(name: str, host: str, port: int, security: str, username: str,
                    password_env: str, folders: list[str]) -> None:
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
    if not _ENV_NAME.match(password_env):
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
            "host": m.host,
            "port": m.port,
            "security": m.security,
            "username": m.username,
            "password_env": m.password_env,
            "folders": [f.name for f in m.folders],
        }
        for m in mailboxes_named(session, None)
    ]


def poll_mailboxes(session: Session, names: list[str] | None, settings: PollSettings,
                   progress: Progress | None = None) -> list[FolderReport]:
    """Poll the named mailboxes (all when none named) once; return one report per folder."""
    reports: list[FolderReport] = []
    for mailbox in mailboxes_named(session, names):
        reports += poll_mailbox(session, mailbox, settings, progress)
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


