"""What the console's templates need beyond the models: local times, sizes, and how each
archived message is shown (text, or sanitised HTML in a sandboxed frame, and how many
remote resources wait for the agent's permission).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import Session

from app.access import grants, queries, rules
from app.console.mailbody import sanitise_html
from app.models import AccessRequest, Message
from app.rawstore import RawStore
from mailbox.parse import parse_message


@dataclass(frozen=True)
class MessageView:
    message: Message
    # HTML messages are shown in a sandboxed frame; others as their text.
    has_html: bool
    blocked_remote: int
    remote_allowed: bool
    # Shown for the first time: how it is shown was read from the raw message just now.
    first_shown: bool = False


def show_message(store: RawStore, message: Message, *, remote_allowed: bool) -> MessageView:
    """Return how to show one archived message in a ticket's thread.

    The first time a message is shown, its raw bytes are parsed to learn whether it has
    HTML and how much remote content that would load; the answer is kept on the message
    (the caller commits it), and later views read only the row.
    """
    first = message.shown_as_html is None
    if first:
        html = None if message.quarantined else parse_message(store.get(message.sha256)).html
        message.shown_as_html = html is not None
        message.remote_resources = sanitise_html(html, allow_remote=False).blocked_remote if html else 0
    if not message.shown_as_html:
        return MessageView(message, False, 0, False, first)
    blocked = 0 if remote_allowed else message.remote_resources
    return MessageView(message, True, blocked, remote_allowed, first)


@dataclass(frozen=True)
class RequestRow:
    request: AccessRequest
    state: str
    minutes_left: int
    mine: bool


def access_rows(session: Session, account_id: int, agent_id: int, now: datetime) -> list[RequestRow]:
    """Return the account's recent access requests as the account page lists them."""
    rows = []
    for req in queries.requests_of(session, account_id):
        left = grants.remaining_minutes(req, now)
        rows.append(RequestRow(req, grants.describe(req, now), left, req.agent_id == agent_id))
    return rows


@dataclass(frozen=True)
class GrantStatus:
    """What the signed-in agent may open of an account's records now, scope by scope."""

    scope: str
    grant: AccessRequest | None
    minutes_left: int


def grant_status(session: Session, agent, account_id: int, now: datetime) -> list[GrantStatus]:
    """Return, for each scope, the grant that lets the agent open the account's records now, if any."""
    statuses = []
    for scope in rules.SCOPES:
        grant = queries.grant_for(session, agent, account_id, scope, now)
        statuses.append(GrantStatus(scope, grant, grants.remaining_minutes(grant, now) if grant else 0))
    return statuses


def local_time(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """Format a stored UTC time in the signed-in agent's time zone, naming the zone.

    Every time a page shows goes through this filter, so all read alike: "2026-11-30 14:05
    CET" for an agent, "2026-11-30 13:05 UTC" for a customer, who has no time zone here. A
    calendar day (a ``date``, such as a policy's effective day) has no zone: "2026-11-30".
    """
    if value is None:
        return _("no date")
    if not isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    zone = ZoneInfo(current_user.time_zone) if current_user.is_authenticated else UTC
    return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def human_size(size: int) -> str:
    """Return a byte count as people read it: 512 B, 1.5 KiB, 3.2 MiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def duration(minutes: int | float) -> str:
    """Return whole minutes as people read them: 45 min, 1 h, 3 h 59 min."""
    hours, rest = divmod(max(int(minutes), 0), 60)
    if not hours:
        return _("%(minutes)s min", minutes=rest)
    if not rest:
        return _("%(hours)s h", hours=hours)
    return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)


def age(since: datetime, now: datetime) -> str:
    """Say how long ago ``since`` was, roughly: 12 min, 5 h, 3 days."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 60:
        return _("%(minutes)s min", minutes=minutes)
    if minutes < 48 * 60:
        return _("%(hours)s h", hours=minutes // 60)
    return ngettext("%(num)d day", "%(num)d days", minutes // (24 * 60))


def init_app(app: Flask) -> None:
    app.add_template_filter(age, "age")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(human_size, "human_size")
