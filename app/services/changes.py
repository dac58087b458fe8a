"""Undoable changes: where messages, history entries and tickets stood before and after a move,
a merge or a link, and putting the earlier state back.

A change keeps two snapshots of the same things. An undo is allowed while the window lasts
and while those things still stand exactly as the change left them; it then restores the
first snapshot, so nothing is guessed. What a message says is never in a snapshot: only
which ticket and account it is filed under, and why. The caller passes the clock and the
window, so nothing here reads the time or the configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import Agent, Message, Ticket, TicketChange, TicketEvent
from app.services import audit
from app.services.errors import ServiceError
from app.services.tickets import record_event

MESSAGE_FIELDS = ("ticket_id", "account_id", "thread_reason", "link_reason")
TICKET_FIELDS = ("status", "subject", "account_id", "assignee_id", "merged_into_id")
# Kept and put back, but not compared: new mail in a ticket moves it without touching
# what the change did.
ACTIVITY = "last_activity_at"


@dataclass(frozen=True)
class Scope:
    """The messages, history entries and tickets a change touches."""

    message_ids: tuple[int, ...] = ()
    event_ids: tuple[int, ...] = ()
    ticket_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, messages: Iterable[int] = (), events: Iterable[int] = (),
           tickets: Iterable[int | None] = ()) -> Scope:
        """Return the scope of these ids, each once, in order; ``None`` tickets are left out."""
        return cls(tuple(sorted(set(messages))), tuple(sorted(set(events))),
                   tuple(sorted({t for t in tickets if t is not None})))


def snapshot(session: Session, scope: Scope) -> dict:
    """Return where the scope's messages, entries and tickets stand now, as JSON-ready data."""
    session.flush()
    messages = session.scalars(select(Message).where(Message.id.in_(scope.message_ids)))
    events = session.scalars(select(TicketEvent).where(TicketEvent.id.in_(scope.event_ids)))
    tickets = session.scalars(select(Ticket).where(Ticket.id.in_(scope.ticket_ids)))
    return {
        "messages": {str(m.id): {f: getattr(m, f) for f in MESSAGE_FIELDS} for m in messages},
        "events": {str(e.id): e.ticket_id for e in events},
        "tickets": {str(t.id): {**{f: getattr(t, f) for f in TICKET_FIELDS},
                                ACTIVITY: t.last_activity_at.isoformat()} for t in tickets},
    }


def scope_of(state: dict) -> Scope:
    """Return the scope a snapshot covers."""
    return Scope.of((int(i) for i in state["messages"]), (int(i) for i in state["events"]),
                    (int(i) for i in state["tickets"]))


def compared(state: dict) -> dict:
    """Return a snapshot without what later mail may change on its own (last activity)."""
    return {**state, "tickets": {i: {k: v for k, v in t.items() if k != ACTIVITY}
                                 for i, t in state["tickets"].items()}}


def record_change(session: Session, kind: str, *, ticket: Ticket, event: TicketEvent | None, actor: Agent,
                  now: datetime, summary: str, before: dict, scope: Scope) -> TicketChange:
    """Keep a change that was just made, with the state before it and the state it left."""
    change = TicketChange(kind=kind, ticket=ticket, event=event, agent=actor, at=now, summary=summary,
                          before=json.dumps(before, sort_keys=True),
                          after=json.dumps(snapshot(session, scope), sort_keys=True))
    session.add(change)
    session.flush()
    return change


def can_undo(change: TicketChange, now: datetime, window: timedelta) -> bool:
    """Say whether the change is not undone yet and still inside the undo window."""
    return change.undone_at is None and now - change.at <= window


def undo(session: Session, change: TicketChange, actor: Agent, now: datetime,
         window: timedelta) -> TicketChange:
    """Put back where things stood before the change, if nothing changed them since."""
    session.refresh(change, with_for_update=True)  # two agents pressing Undo at once: one undoes it
    if change.undone_at is not None:
        raise ServiceError("this change was undone already")
    if now - change.at > window:
        raise ServiceError(f"this change can no longer be undone: changes can be undone for "
                           f"{_minutes(window)} after they are made")
    before, after = json.loads(change.before), json.loads(change.after)
    if compared(snapshot(session, scope_of(after))) != compared(after):
        raise ServiceError("this change can no longer be undone: its messages or tickets were changed "
                           "since, so undoing it would not restore exactly what was there before")
    _restore(session, before, after)
    change.undone_at, change.undone_by = now, actor
    _record_undo(session, change, actor, now, [int(i) for i in before["tickets"]])
    session.flush()
    return change


def _restore(session: Session, before: dict, after: dict) -> None:
    for message_id, fields in before["messages"].items():
        session.execute(update(Message).where(Message.id == int(message_id))
                        .values(**fields, indexed_at=None))
    for event_id, ticket_id in before["events"].items():
        session.execute(update(TicketEvent).where(TicketEvent.id == int(event_id))
                        .values(ticket_id=ticket_id))
    for ticket_id, fields in before["tickets"].items():
        ticket = session.get(Ticket, int(ticket_id))
        for name in TICKET_FIELDS:
            setattr(ticket, name, fields[name])
        if ticket.last_activity_at.isoformat() == after["tickets"][ticket_id][ACTIVITY]:
            ticket.last_activity_at = datetime.fromisoformat(fields[ACTIVITY])
    ticket_ids = [int(i) for i in before["tickets"]]
    # Their tickets' status and account are in the search index: index them again.
    session.execute(update(Message).where(Message.ticket_id.in_(ticket_ids)).values(indexed_at=None))
    session.flush()
    session.expire_all()


def _record_undo(session: Session, change: TicketChange, actor: Agent, now: datetime,
                 ticket_ids: list[int]) -> None:
    detail = f"undone: {change.summary}"
    for ticket_id in ticket_ids:
        record_event(session, session.get(Ticket, ticket_id), actor, "undo", detail)
    ticket = session.get(Ticket, change.ticket_id)
    audit.append(session, f"{change.kind} undone", at=now, agent_id=actor.id, account_id=ticket.account_id,
                 detail=f"{detail} (change {change.id}), by {actor.email}")


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def changes_beside(session: Session, ticket: Ticket) -> dict[int, TicketChange]:
    """Return the ticket's changes by the history entry they are shown beside."""
    # By the entry's ticket: a merge takes the entries, and their changes, to the target.
    found = session.scalars(select(TicketChange).join(TicketEvent, TicketChange.event_id == TicketEvent.id)
                            .where(TicketEvent.ticket_id == ticket.id))
    return {c.event_id: c for c in found}


def change_with_id(session: Session, change_id: int) -> TicketChange:
    """Return the change or raise ``ServiceError``."""
    change = session.get(TicketChange, change_id)
    if change is None:
        raise ServiceError(f"there is no change {change_id}")
    return change
