"""Tickets as agents work them: the queue, one ticket's thread, and every change to a ticket.

Each change takes the acting agent and writes a ``TicketEvent`` saying what changed, so
the ticket's history answers "who did this, and when". Services flush; callers commit.
A change that the search index holds for a message (its ticket's status, its ticket,
its account) puts the message back in the index queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from app.models import Account, Agent, Message, Ticket, TicketEvent, utcnow
from app.models.agent import QUEUES
from app.models.ticket import STATUSES
from app.services import notifications, queue_filters, targets
from app.services.errors import ServiceError
from app.target_rules import Wait

MAX_NOTE_CHARS = 20_000
# The queue's orders: most recent activity first, or what is due soonest (overdue first).
SORTS = ("activity", "due")


@dataclass(frozen=True)
class QueueView:
    """Which tickets a queue page lists: a status, a scope, and optionally one account."""

    status: str = "open"
    scope: str = "mine"
    account_id: int | None = None
    # Filters (``app.services.queue_filters``): part of a sender's address or name, and words.
    sender: str = ""
    words: str = ""
    sort: str = "activity"

    @property
    def is_filtered(self) -> bool:
        return bool(self.account_id is not None or self.sender or self.words)


@dataclass(frozen=True)
class QueuePage:
    tickets: list[Ticket]
    total: int
    page: int
    pages: int
    # Tickets per status in this scope, and per scope in this status.
    status_counts: dict[str, int]
    scope_counts: dict[str, int]
    # Per ticket of the page: who wrote last, and whose turn it is.
    rows: dict[int, QueueRow] = field(default_factory=dict)
    # Per ticket of the page that has a response due: which, and when.
    due: dict[int, Wait] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueRow:
    sender: str
    waits: str  # "first reply", "customer replied" or "customer"


def queue_view(status: str | None, scope: str | None, account_id: int | None, agent: Agent, *,
               sender: str | None = None, words: str | None = None, sort: str | None = None) -> QueueView:
    """Return the view a queue URL asks for, with the agent's default queue when none is named."""
    status = status or "open"
    scope = scope or agent.default_queue
    if status not in STATUSES:
        raise ServiceError(f"the status must be one of {', '.join(STATUSES)}")
    if scope not in QUEUES:
        raise ServiceError(f"the queue must be one of {', '.join(QUEUES)}")
    if (sort or "activity") not in SORTS:
        raise ServiceError(f"the order must be one of {', '.join(SORTS)}")
    return QueueView(status, scope, account_id, queue_filters.clean_sender(sender),
                     queue_filters.clean_words(words), sort or "activity")


def _scoped(query, scope: str, agent: Agent, view: QueueView):
    account_id = view.account_id
    if scope == "mine":
        query = query.where(Ticket.assignee_id == agent.id)
    elif scope == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    elif scope == "unmatched":
        query = query.where(Ticket.account_id.is_(None))
    if account_id is not None:
        query = query.where(Ticket.account_id == account_id)
    return queue_filters.filtered(query, view.sender, view.words)


def list_queue(session: Session, agent: Agent, view: QueueView, page: int) -> QueuePage:
    """Return one page of the view's tickets in the view's order, with the counts and what is due."""
    size = agent.page_size
    base = _scoped(select(Ticket), view.scope, agent, view).where(Ticket.status == view.status)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    newest_first = (Ticket.last_activity_at.desc(), Ticket.id.desc())
    loading = (selectinload(Ticket.account), selectinload(Ticket.assignee))  # not one query per row
    if view.sort == "due":
        tickets = _due_page(session, base, newest_first, loading, size, page)
    else:
        tickets = session.scalars(base.order_by(*newest_first).limit(size).offset((page - 1) * size)
                                  .options(*loading)).all()
    ids = [t.id for t in tickets]
    return QueuePage(list(tickets), total, page, pages, _status_counts(session, agent, view),
                     _scope_counts(session, agent, view), _rows(session, ids), targets.due_now(session, ids))


def _due_page(session: Session, base, newest_first, loading, size: int, page: int) -> list[Ticket]:
    """Return one page of the view ordered by what is due: business hours are counted in Python,
    so the whole view's ids are ordered before the page is cut from them."""
    in_view = base.with_only_columns(Ticket.id, Ticket.account_id, Ticket.status)
    ordered = targets.order_by_due(session, in_view, list(session.scalars(base.with_only_columns(Ticket.id)
                                                                          .order_by(*newest_first))))
    wanted = ordered[(page - 1) * size:page * size]
    found = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(wanted)).options(*loading))}
    return [found[i] for i in wanted]


def _rows(session: Session, ticket_ids: list[int]) -> dict[int, QueueRow]:
    """Say for each ticket who wrote last and whose turn it is: a few grouped reads for the page."""
    if not ticket_ids:
        return {}
    last = dict(session.execute(select(Message.ticket_id, func.max(Message.id))
                                .where(Message.ticket_id.in_(ticket_ids)).group_by(Message.ticket_id)).all())
    last_in = dict(session.execute(select(Message.ticket_id, func.max(Message.id))
                                   .where(Message.ticket_id.in_(ticket_ids), Message.direction == "inbound")
                                   .group_by(Message.ticket_id)).all())
    answered = set(session.scalars(select(Message.ticket_id).where(
        Message.ticket_id.in_(ticket_ids), Message.direction == "outbound").distinct()))
    senders = dict(session.execute(select(Message.id, func.coalesce(func.nullif(Message.from_name, ""),
                                                                     Message.from_addr))
                                   .where(Message.id.in_(list(last_in.values())))).all())
    rows = {}
    for ticket_id in ticket_ids:
        inbound_last = ticket_id in last_in and last_in[ticket_id] == last.get(ticket_id)
        if not inbound_last:
            waits = "customer"
        else:
            waits = "customer replied" if ticket_id in answered else "first reply"
        rows[ticket_id] = QueueRow(senders.get(last_in.get(ticket_id), ""), waits)
    return rows


def _status_counts(session: Session, agent: Agent, view: QueueView) -> dict[str, int]:
    query = _scoped(select(Ticket.status, func.count()), view.scope, agent, view)
    counts = dict(session.execute(query.group_by(Ticket.status)).all())
    return {status: counts.get(status, 0) for status in STATUSES}


def _scope_counts(session: Session, agent: Agent, view: QueueView) -> dict[str, int]:
    counts = {}
    for scope in QUEUES:
        query = _scoped(select(func.count(Ticket.id)), scope, agent, view)
        counts[scope] = session.scalar(query.where(Ticket.status == view.status))
    return counts


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    """Return the ticket or raise ``ServiceError``."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise ServiceError(f"there is no ticket {ticket_id}")
    return ticket


def thread(session: Session, ticket: Ticket) -> list[Message | TicketEvent]:
    """Return the ticket's messages and notes, oldest first."""
    messages = session.scalars(select(Message).where(Message.ticket_id == ticket.id)
                               .options(selectinload(Message.attachments))).all()
    notes = [e for e in ticket.events if e.kind == "note"]
    return sorted([*messages, *notes], key=_when)


def _when(item: Message | TicketEvent) -> tuple[datetime, int]:
    if isinstance(item, TicketEvent):
        return item.at, 1
    return item.date_utc or item.archived_at, 0


def record_event(session: Session, ticket: Ticket, actor: Agent | None, kind: str, detail: str, *,
                 body: str = "", message: Message | None = None) -> TicketEvent:
    """Write one entry of the ticket's history."""
    event = TicketEvent(ticket=ticket, agent=actor, kind=kind, detail=detail, body=body,
                        message=message, at=utcnow())
    session.add(event)
    return event


def set_status(session: Session, ticket: Ticket, actor: Agent, status: str) -> None:
    """Change the ticket's status (open, pending, closed)."""
    if status not in STATUSES:
        raise ServiceError(f"the status must be one of {', '.join(STATUSES)}")
    if status == ticket.status:
        return
    record_event(session, ticket, actor, "status", f"status {ticket.status} → {status}")
    ticket.status = status
    _requeue_ticket(session, ticket)
    session.flush()


def assign(session: Session, ticket: Ticket, actor: Agent | None, assignee_id: int | None) -> None:
    """Give the ticket to an enabled agent, or to nobody (``None``); ``actor`` None is a rule.

    The new assignee is notified unless they took the ticket themselves.
    """
    assignee = None
    if assignee_id is not None:
        assignee = session.get(Agent, assignee_id)
        if assignee is None or assignee.disabled:
            raise ServiceError("tickets can be assigned only to an enabled agent")
    if assignee_id == ticket.assignee_id:
        return
    before = ticket.assignee.name if ticket.assignee else "nobody"
    record_event(session, ticket, actor, "assign",
                 f"assigned {before} → {assignee.name if assignee else 'nobody'}")
    ticket.assignee = assignee
    notifications.ticket_assigned(session, ticket, actor, assignee)
    session.flush()


def add_note(session: Session, ticket: Ticket, actor: Agent, text: str) -> TicketEvent:
    """Add an internal note, which agents see and customers never receive."""
    text = text.strip()
    if not text:
        raise ServiceError("the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise ServiceError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    event = record_event(session, ticket, actor, "note", "internal note", body=text)
    session.flush()
    return event


def move_message(session: Session, message: Message, target_id: int, actor: Agent) -> Ticket:
    """Move a message to another ticket; both tickets' histories say so.

    A ticket left without messages is closed, by the same agent, so the queue does not
    keep a ticket with nothing to answer; mail threading into it later reopens it.
    """
    target = get_ticket(session, target_id)
    source = message.ticket
    if source is not None and source.id == target.id:
        raise ServiceError(f"the message is in ticket {target.id} already")
    origin = f"ticket {source.id}" if source else "no ticket"
    if source is not None:
        record_event(session, source, actor, "move_out", f"message {message.id} moved to ticket {target.id}",
                     message=message)
    record_event(session, target, actor, "move_in", f"message {message.id} moved here from {origin}",
                 message=message)
    message.ticket = target
    message.thread_reason = f"moved here from {origin} by {actor.name}"
    message.indexed_at = None
    target.last_activity_at = max(target.last_activity_at, utcnow())
    session.flush()
    if source is not None and source.messages.first() is None:
        set_status(session, source, actor, "closed")  # nothing to do if it is closed already
    return target


def link_message(session: Session, message: Message, account_id: int, actor: Agent) -> Account:
    """Link an unmatched message to an account; its ticket joins the account if it has none."""
    if message.account_id is not None:
        raise ServiceError("the message is linked to an account already")
    account = session.get(Account, account_id)
    if account is None:
        raise ServiceError("there is no such account")
    message.account_id = account.id
    message.link_reason = f"linked to {account.name} by {actor.name}"
    message.indexed_at = None
    ticket = message.ticket
    if ticket is not None:
        record_event(session, ticket, actor, "link_account",
                     f"message {message.id} linked to {account.name}", message=message)
        if ticket.account_id is None:
            ticket.account_id = account.id
            _requeue_ticket(session, ticket)
    session.flush()
    return account


def _requeue_ticket(session: Session, ticket: Ticket) -> None:
    """Put every message of the ticket back in the index queue."""
    session.execute(update(Message).where(Message.ticket_id == ticket.id).values(indexed_at=None))


def account_tickets(session: Session, account: Account, limit: int = 50) -> list[Ticket]:
    """Return the account's most recently active tickets."""
    return list(session.scalars(
        select(Ticket).where(Ticket.account_id == account.id)
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(limit)
    ))


def enabled_agents(session: Session) -> list[Agent]:
    """Return the agents a ticket can be assigned to, by name."""
    return list(session.scalars(select(Agent).where(Agent.disabled.is_(False)).order_by(Agent.name)))
