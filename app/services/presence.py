"""Who has a ticket open: each agent's last sign of life on it, reading it or writing a reply.

A ticket page records its agent as "viewing" when it loads; while it stays open a script
renews that, and says "replying" while the agent types. Whoever gave no sign within the
window (a few minutes, ``PRESENCE_WINDOW_SECONDS``) has left. Times come from the caller's
clock, so tests move time instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Agent, Ticket, TicketPresence
from app.services.errors import ServiceError

ACTIVITIES = ("viewing", "replying")


@dataclass(frozen=True)
class Present:
    name: str
    activity: str
    seen_at: datetime


def note_presence(session: Session, agent: Agent, ticket: Ticket, activity: str, at: datetime,
                  window: timedelta) -> None:
    """Record that the agent has the ticket open now, viewing or replying."""
    if activity not in ACTIVITIES:
        raise ServiceError(f"the activity must be one of {', '.join(ACTIVITIES)}")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(TicketPresence).values(agent_id=agent.id, ticket_id=ticket.id, activity=activity,
                                              seen_at=at)
    session.execute(statement.on_conflict_do_update(index_elements=["agent_id", "ticket_id"],
                                                    set_={"activity": activity, "seen_at": at}))
    # The agent's own rows past the window say nothing any more; only the agent's, so that
    # two agents' page loads never wait on each other's rows.
    session.execute(delete(TicketPresence).where(TicketPresence.agent_id == agent.id,
                                                 TicketPresence.seen_at < at - window))


def others_present(session: Session, agent: Agent, ticket: Ticket, at: datetime,
                   window: timedelta) -> list[Present]:
    """Return the other agents who had the ticket open within the window, by name."""
    rows = session.execute(
        select(Agent.name, TicketPresence.activity, TicketPresence.seen_at)
        .join(Agent, Agent.id == TicketPresence.agent_id)
        .where(TicketPresence.ticket_id == ticket.id, TicketPresence.agent_id != agent.id,
               TicketPresence.seen_at >= at - window, Agent.disabled.is_(False))
        .order_by(Agent.name)).all()
    return [Present(name, activity, seen_at) for name, activity, seen_at in rows]


def describe(present: list[Present]) -> str:
    """Return "Dana (viewing), Sam (replying)", or "" when nobody else is there."""
    return ", ".join(f"{p.name} ({p.activity})" for p in present)
