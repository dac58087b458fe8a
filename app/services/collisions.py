"""Two people answering one ticket: what arrived on it since an agent's page was shown.

The reply form carries a seen-marker, the newest message and the newest ticket event
its page showed. When the reply is posted, a customer's message archived since, or a
reply another agent sent or a message they moved in since, means the agent wrote without
knowing of it: the reply is held and the agent shown what arrived. Ids only grow, so "since" needs no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Agent, Message, Ticket, TicketEvent


@dataclass(frozen=True)
class SeenMarker:
    """The newest message and ticket event a page showed (0: none)."""

    message_id: int
    event_id: int


@dataclass(frozen=True)
class Arrival:
    """Something that arrived on the ticket after the page was shown."""

    kind: str  # "message" from the customer; "reply" or a message "moved" here by another agent
    who: str
    at: datetime
    message_id: int | None


def seen_marker(session: Session, ticket: Ticket) -> SeenMarker:
    """Return the marker of everything on the ticket now."""
    newest_message = session.scalar(select(func.max(Message.id)).where(Message.ticket_id == ticket.id))
    newest_event = session.scalar(select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id))
    return SeenMarker(newest_message or 0, newest_event or 0)


def arrived_since(session: Session, ticket: Ticket, agent: Agent, seen: SeenMarker) -> list[Arrival]:
    """Return the customer messages, and other agents' replies and messages moved in, that came
    after ``seen``, oldest first.

    Auto-replies and bounces are left out: they change nothing a reply would say.
    """
    messages = session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.direction == "inbound", Message.auto_reason.is_(None),
        Message.id > seen.message_id)).all()
    events = session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("reply", "move_in")),
        TicketEvent.id > seen.event_id)).all()
    # A message moved here is told as moved, by whom; one the agent moved here holds nothing.
    moved = {e.message_id for e in events if e.kind == "move_in"}
    arrivals = [Arrival("message", _sender(m), m.archived_at, m.id) for m in messages if m.id not in moved]
    arrivals += [Arrival("reply" if e.kind == "reply" else "moved", e.agent.name, e.at, e.message_id)
                 for e in events if e.agent_id != agent.id]  # both kinds always name their agent
    return sorted(arrivals, key=lambda a: a.at)


def _sender(message: Message) -> str:
    if message.from_name and message.from_addr:
        return f"{message.from_name} <{message.from_addr}>"
    return message.from_name or message.from_addr or "an unknown sender"
