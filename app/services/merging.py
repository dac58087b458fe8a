"""Moving a message to another ticket and merging two tickets: what each would change, shown
before it is done, and doing it as a change that can be undone for a while.

A merge takes every message and every history entry of the source ticket to the target;
the source is kept, closed, and names the target (``merged_into_id``), so links to it still
lead somewhere. Both tickets' histories say so and the audit log has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import Agent, Message, Ticket, TicketChange, TicketEvent
from app.services import audit, tickets
from app.services.changes import Scope, record_change, snapshot
from app.services.errors import ServiceError


@dataclass(frozen=True)
class Side:
    """One ticket of a move or merge, as it is and as it will be."""

    id: int
    subject: str
    account: str  # its account's name, or "no account"
    status: str
    status_after: str
    messages: int
    messages_after: int
    assignee: str


@dataclass(frozen=True)
class Preview:
    """What a move or merge will do, for the agent to confirm."""

    kind: str  # "move" or "merge"
    moving: list[Message]
    source: Side | None
    target: Side
    target_account_after: str
    warning: str | None


def preview_move(session: Session, message: Message, target_id: int) -> Preview:
    """Say what moving the message to the ticket would change, or why it cannot be done."""
    target = _open_target(session, target_id)
    source = message.ticket
    if source is not None and source.id == target.id:
        raise ServiceError(f"the message is in ticket {target.id} already")
    left = _count(session, source) - 1 if source is not None else 0
    source_side = _side(session, source, -1, "closed" if left == 0 else source.status) if source else None
    return Preview("move", [message], source_side, _side(session, target, 1, target.status),
                   _account_name(target), _warning(source, target))


def preview_merge(session: Session, source: Ticket, target_id: int) -> Preview:
    """Say what merging the source ticket into the target would change, or why it cannot be done."""
    target = _check_merge(session, source, target_id)
    moving = list(session.scalars(select(Message).where(Message.ticket_id == source.id).order_by(Message.id)))
    account_after = target.account or source.account
    return Preview("merge", moving, _side(session, source, -len(moving), "closed"),
                   _side(session, target, len(moving), target.status),
                   account_after.name if account_after else "no account", _warning(source, target))


def move(session: Session, message: Message, target_id: int, actor: Agent, now: datetime) -> TicketChange:
    """Move the message to the ticket, as a change that can be undone."""
    target = _open_target(session, target_id)
    scope = Scope.of(messages=[message.id], tickets=[message.ticket_id, target.id])
    before = snapshot(session, scope)
    origin = message.ticket_id
    tickets.move_message(session, message, target.id, actor)
    event = _last_event(session, target, "move_in")
    summary = f"message {message.id} moved from {_named(origin)} to ticket {target.id}"
    change = record_change(session, "move", ticket=target, event=event, actor=actor, now=now,
                           summary=summary, before=before, scope=scope)
    audit.append(session, "message moved", at=now, agent_id=actor.id, account_id=message.account_id,
                 detail=f"{summary}, by {actor.email}")
    return change


def merge(session: Session, source: Ticket, target_id: int, actor: Agent, now: datetime) -> TicketChange:
    """Merge the source ticket into the target, as a change that can be undone."""
    target = _check_merge(session, source, target_id)
    message_ids = list(session.scalars(select(Message.id).where(Message.ticket_id == source.id)))
    event_ids = [e.id for e in source.events]
    scope = Scope.of(message_ids, event_ids, [source.id, target.id])
    before = snapshot(session, scope)
    _take_over(session, source, target, actor)
    summary = f"ticket {source.id} merged into ticket {target.id}"
    moved = _messages(len(message_ids))
    event = tickets.record_event(session, target, actor, "merge_in",
                                 f"ticket {source.id} merged here: {moved} and its history")
    tickets.record_event(session, source, actor, "merge_out",
                         f"merged into ticket {target.id}: {_messages(len(message_ids))} moved there, "
                         f"status {before['tickets'][str(source.id)]['status']} → closed")
    change = record_change(session, "merge", ticket=target, event=event, actor=actor, now=now,
                           summary=summary, before=before, scope=scope)
    audit.append(session, "tickets merged", at=now, agent_id=actor.id, account_id=target.account_id,
                 detail=f"{summary} ({_messages(len(message_ids))}), by {actor.email}")
    return change


def _take_over(session: Session, source: Ticket, target: Ticket, actor: Agent) -> None:
    """Give the target the source's messages and history; close the source and name the target."""
    session.execute(update(Message).where(Message.ticket_id == source.id).values(
        ticket_id=target.id, indexed_at=None,
        thread_reason=f"merged here from ticket {source.id} by {actor.name}"))
    session.execute(update(TicketEvent).where(TicketEvent.ticket_id == source.id)
                    .values(ticket_id=target.id))
    if target.account_id is None:
        target.account_id = source.account_id
    if target.assignee_id is None:
        target.assignee_id = source.assignee_id
    target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
    source.status, source.merged_into_id = "closed", target.id
    session.flush()
    session.expire(source, ["events"])
    session.expire(target, ["events"])
    # The target's messages carry its status and account in the search index.
    session.execute(update(Message).where(Message.ticket_id == target.id).values(indexed_at=None))


def _open_target(session: Session, target_id: int) -> Ticket:
    target = tickets.get_ticket(session, target_id)
    if target.merged_into_id is not None:
        raise ServiceError(f"ticket {target.id} was merged into ticket {target.merged_into_id}; "
                           f"choose that one instead")
    return target


def _check_merge(session: Session, source: Ticket, target_id: int) -> Ticket:
    if source.merged_into_id is not None:
        raise ServiceError(f"ticket {source.id} was merged into ticket {source.merged_into_id} already")
    if source.id == target_id:
        raise ServiceError("a ticket cannot be merged into itself")
    return _open_target(session, target_id)


def _count(session: Session, ticket: Ticket) -> int:
    return session.scalar(select(func.count(Message.id)).where(Message.ticket_id == ticket.id))


def _side(session: Session, ticket: Ticket, change: int, status_after: str) -> Side:
    count = _count(session, ticket)
    return Side(ticket.id, ticket.subject or "(no subject)", _account_name(ticket), ticket.status,
                status_after, count, count + change, ticket.assignee.name if ticket.assignee else "nobody")


def _account_name(ticket: Ticket) -> str:
    return ticket.account.name if ticket.account else "no account"


def _warning(source: Ticket | None, target: Ticket) -> str | None:
    if source is None or source.account_id == target.account_id:
        return None
    return (f"the tickets belong to different accounts: ticket {source.id} to {_account_name(source)}, "
            f"ticket {target.id} to {_account_name(target)}")


def _last_event(session: Session, ticket: Ticket, kind: str) -> TicketEvent | None:
    return session.scalar(select(TicketEvent)
                          .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
                          .order_by(TicketEvent.id.desc()).limit(1))


def _named(ticket_id: int | None) -> str:
    return f"ticket {ticket_id}" if ticket_id is not None else "no ticket"


def _messages(count: int) -> str:
    return f"{count} message{'s' if count != 1 else ''}"
