"""What the administration pages show of mailboxes: each one's state and lag, and each
folder's health, read from the database alone (what the last polls recorded).

Lag is the time since the last successful poll; a mailbox's lag is its most behind
folder's. Nothing here connects to a server: the connection test does
(``mailbox.diagnosis.diagnose_connection``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.models import Mailbox, MailboxFolder
from app.services.mailboxes import mailbox_state, mailboxes_named
from mailbox.oauth import PROVIDERS

KIND_LABELS = {"password": "Password", "microsoft": PROVIDERS["microsoft"].label,
               "google": PROVIDERS["google"].label, "oauth2": "Other OAuth2 provider"}


def mailbox_overview(session: Session, now: datetime) -> list[dict]:
    """Return every mailbox by name with its kind, username, state, folders, last success and lag."""
    rows = []
    for mailbox in mailboxes_named(session, None):
        oldest = _oldest_success(mailbox.folders)
        rows.append({"id": mailbox.id, "name": mailbox.name, "kind": KIND_LABELS[mailbox.kind],
                     "username": mailbox.username, "state": mailbox_state(mailbox),
                     "folders": [f.name for f in mailbox.folders], "last_success": oldest,
                     "lag": lag_words(now - oldest if oldest else None)})
    return rows


def folders_health(mailbox: Mailbox, now: datetime) -> list[dict]:
    """Return each polled folder's last poll, success and error, checkpoint, backlog and lag."""
    return [{"name": f.name, "last_poll": f.last_poll_at, "last_success": f.last_success_at,
             "last_error": f.last_error, "last_error_at": f.last_error_at,
             "uidvalidity": f.uidvalidity, "checkpoint": f.checkpoint_uid,
             "server_count": f.server_count, "not_yet_archived": f.server_pending,
             "lag": lag_words(now - f.last_success_at if f.last_success_at else None)}
            for f in mailbox.folders]


def last_errors(mailbox: Mailbox) -> list[dict]:
    """Return the latest error of each folder that has one, and the provider's refusal, newest first."""
    errors = [{"where": f"folder {f.name}", "at": f.last_error_at, "error": f.last_error}
              for f in mailbox.folders if f.last_error]
    if mailbox.oauth is not None and mailbox.oauth.failure:
        settings = mailbox.oauth
        errors.append({"where": "OAuth2 provider", "at": settings.failed_at, "error": settings.failure})
    return sorted(errors, key=lambda e: e["at"] or datetime.min, reverse=True)


def _oldest_success(folders: list[MailboxFolder]) -> datetime | None:
    successes = [f.last_success_at for f in folders]
    if not successes or None in successes:
        return None
    return min(successes)


def lag_words(lag: timedelta | None) -> str:
    """Say a lag in words a person reads at a glance: "never succeeded", "4 min", "2 h 5 min"."""
    if lag is None:
        return "never succeeded"
    minutes = max(int(lag.total_seconds() // 60), 0)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} days"
