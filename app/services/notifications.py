"""Telling agents what happened to their work: in the console and by email, as each chose.

Four kinds of event notify an agent: a ticket assigned to them by someone else (or by a
rule), a customer's answer threaded onto a ticket of theirs, a customer's decision on
their access request or grant (approved, denied, revoked), and a grant of theirs about
to end. The code where each happens calls one function here, in its own transaction, so
a notification exists exactly when its event does. Each agent chooses per kind whether
it is listed in the console and whether it is emailed (``KINDS`` holds the defaults); a
kind with neither writes nothing. Emails are sent by the worker from the same rows
(``app.services.notification_emails``). Services flush; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.access.rules import scope_words
from app.models import AccessRequest, Agent, Message, Notification, NotificationPreference, Ticket
from app.services.errors import ServiceError
from app.services.rows import change_if

MAX_SUBJECT_CHARS = 200
PAGE_SIZE = 100


@dataclass(frozen=True)
class Kind:
    label: str
    in_console: bool
    by_email: bool


KINDS = {
    "assigned": Kind("A ticket is assigned to me by someone else", True, True),
    "answered": Kind("A customer answers a ticket assigned to me", True, True),
    "access": Kind("A customer approves, denies or revokes my access to records", True, True),
    "grant_ending": Kind("My access to records is about to end", True, False),
}


@dataclass(frozen=True)
class Choice:
    in_console: bool
    by_email: bool


def _clock() -> datetime:
    from app.runtime import now  # app.runtime imports the services that call this module

    return now()


def preferences(session: Session, agent: Agent) -> dict[str, Choice]:
    """Return the agent's choice for every kind: their own where they made one, else the default."""
    chosen = {p.kind: Choice(p.in_console, p.by_email) for p in session.scalars(
        select(NotificationPreference).where(NotificationPreference.agent_id == agent.id))}
    return {kind: chosen.get(kind, Choice(k.in_console, k.by_email)) for kind, k in KINDS.items()}


def save_preferences(session: Session, agent: Agent, choices: dict[str, Choice]) -> None:
    """Keep the agent's choices for each kind named; kinds not named keep theirs."""
    unknown = set(choices) - KINDS.keys()
    if unknown:
        raise ServiceError(f"there is no kind of notification called {', '.join(sorted(unknown))}")
    rows = {p.kind: p for p in session.scalars(
        select(NotificationPreference).where(NotificationPreference.agent_id == agent.id))}
    for kind, choice in choices.items():
        row = rows.get(kind) or NotificationPreference(agent_id=agent.id, kind=kind)
        row.in_console, row.by_email = choice.in_console, choice.by_email
        session.add(row)
    session.flush()


def notify(session: Session, agent: Agent, kind: str, text: str, at: datetime,
           **about) -> Notification | None:
    """Write what happened for the agent, as they chose for this kind; None when they chose neither."""
    if agent.disabled:
        return None
    with session.no_autoflush:  # called while mail is archived, with its rows not flushed yet
        choice = preferences(session, agent)[kind]
    if not (choice.in_console or choice.by_email):
        return None
    notification = Notification(agent=agent, kind=kind, text=text, created_at=at,
                                in_console=choice.in_console, by_email=choice.by_email, **about)
    session.add(notification)
    return notification


def _subject(ticket: Ticket) -> str:
    subject = " ".join((ticket.subject or "").split()) or "(no subject)"
    return subject if len(subject) <= MAX_SUBJECT_CHARS else subject[:MAX_SUBJECT_CHARS - 1] + "…"


def ticket_assigned(session: Session, ticket: Ticket, actor: Agent | None, assignee: Agent | None) -> None:
    """Tell the new assignee, unless they took the ticket themselves; ``actor`` None is a rule."""
    if assignee is None or (actor is not None and actor.id == assignee.id):
        return
    by = actor.name if actor is not None else "A rule"
    notify(session, assignee, "assigned", f"{by} assigned ticket #{ticket.id} to you: {_subject(ticket)}",
           _clock(), ticket=ticket, account_id=ticket.account_id)


def customer_answered(session: Session, ticket: Ticket, message: Message) -> None:
    """Tell the ticket's assignee that a customer's message joined their ticket."""
    if ticket.assignee is None:
        return
    who = message.from_name or message.from_addr or "The customer"
    notify(session, ticket.assignee, "answered", f"{who} answered ticket #{ticket.id}: {_subject(ticket)}",
           _clock(), ticket=ticket, message=message, account_id=ticket.account_id)


ACCESS_WORDS = {"approved": "approved your access to", "denied": "denied your access to",
                "revoked": "revoked your access to"}


def access_decided(session: Session, request: AccessRequest, outcome: str, by: str, at: datetime) -> None:
    """Tell the agent who asked that a customer approved, denied or revoked their access."""
    records = f"{request.account.name}'s {scope_words(request.scope)}"
    text = f"{by} {ACCESS_WORDS[outcome]} {records}"
    if outcome == "approved":
        text += f" for {request_length(request)}"
    notify(session, request.agent, "access", text, at, request=request, account_id=request.account_id)


def request_length(request: AccessRequest) -> str:
    minutes = int((request.ends_at - request.starts_at).total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


def notify_grants_ending(session: Session, now: datetime, lead: timedelta) -> int:
    """Tell each agent whose grant ends within ``lead``, once per grant; return how many were told.

    Each grant is marked by one conditional UPDATE before its agent is told, so two
    workers looking at once tell the agent once.
    """
    ending = session.scalars(select(AccessRequest).where(
        AccessRequest.status == "approved", AccessRequest.ended_at.is_(None),
        AccessRequest.ending_notified_at.is_(None), AccessRequest.starts_at <= now,
        AccessRequest.ends_at > now, AccessRequest.ends_at <= now + lead)).all()
    told = 0
    for request in ending:
        if not change_if(session, request, [AccessRequest.ending_notified_at.is_(None)],
                         ending_notified_at=now):
            continue  # another worker told the agent
        left = max(int((request.ends_at - now).total_seconds() // 60), 1)
        notify(session, request.agent, "grant_ending",
               f"Your access to {request.account.name}'s {scope_words(request.scope)} ends in {left} min",
               now, request=request, account_id=request.account_id)
        told += 1
    session.flush()
    return told


def _console(agent: Agent):
    return (Notification.agent_id == agent.id, Notification.in_console.is_(True))


def unread_count(session: Session, agent: Agent) -> int:
    """Return how many of the agent's console notifications are unread."""
    return session.scalar(select(func.count(Notification.id))
                          .where(*_console(agent), Notification.read_at.is_(None)))


def recent(session: Session, agent: Agent, limit: int = PAGE_SIZE) -> list[Notification]:
    """Return the agent's console notifications, newest first."""
    return list(session.scalars(select(Notification).where(*_console(agent))
                                .order_by(Notification.id.desc()).limit(limit)))


def mark_read(session: Session, agent: Agent, notification_id: int, at: datetime) -> Notification:
    """Mark one of the agent's notifications read, or raise ``ServiceError`` if it is not theirs."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.agent_id != agent.id or not notification.in_console:
        raise ServiceError(f"there is no notification {notification_id} of yours")
    if notification.read_at is None:
        notification.read_at = at
    session.flush()
    return notification


def mark_all_read(session: Session, agent: Agent, at: datetime) -> int:
    """Mark every unread notification of the agent read; return how many."""
    return session.execute(update(Notification).where(*_console(agent), Notification.read_at.is_(None))
                           .values(read_at=at).execution_options(synchronize_session=False)).rowcount


def mark_ticket_read(session: Session, agent: Agent, ticket_id: int, at: datetime) -> int:
    """Mark the agent's unread notifications about a ticket read, as they open it; return how many."""
    return session.execute(update(Notification).where(*_console(agent), Notification.read_at.is_(None),
                                                      Notification.ticket_id == ticket_id)
                           .values(read_at=at).execution_options(synchronize_session=False)).rowcount


def path_of(notification: Notification) -> str:
    """Return the console page a notification is about, from the site's root."""
    if notification.ticket_id is not None:
        return f"/tickets/{notification.ticket_id}"
    if notification.account_id is not None:
        return f"/accounts/{notification.account_id}"
    return "/notifications"
