"""Reply drafts: what an agent has typed in a ticket's reply box, kept on the server so that a
reload, a crash or another computer does not lose it.

A draft belongs to one agent and one ticket; nobody else ever reads it. Sending the reply
or discarding the draft deletes it. A save that left the browser before the agent's own
reply was sent (a script saving as the agent typed, racing the Send button) must not bring
the draft back: a save names the newest ticket event its page showed, and is ignored when
the agent has replied on the ticket since.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Agent, ReplyDraft, Ticket, TicketEvent
from app.services.errors import ServiceError
from app.services.outbound import MAX_REPLY_CHARS


def draft_of(session: Session, agent: Agent, ticket: Ticket) -> ReplyDraft | None:
    """Return the agent's draft reply on the ticket, if they have one."""
    return session.scalar(select(ReplyDraft).where(ReplyDraft.agent_id == agent.id,
                                                   ReplyDraft.ticket_id == ticket.id))


def save_draft(session: Session, agent: Agent, ticket: Ticket, body: str, at: datetime,
               seen_event: int | None = None) -> str:
    """Keep ``body`` as the agent's draft on the ticket; return "saved", "discarded" (the text
    was empty) or "stale" (the agent has replied since the page that saved it was shown)."""
    if len(body) > MAX_REPLY_CHARS:
        raise ServiceError(f"the draft is longer than {MAX_REPLY_CHARS} characters")
    if seen_event is not None and _replied_since(session, agent, ticket, seen_event):
        return "stale"
    if not body.strip():
        discard_draft(session, agent, ticket)
        return "discarded"
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # One statement: two saves at once (two tabs, a script and a button) keep one row.
    statement = insert(ReplyDraft).values(agent_id=agent.id, ticket_id=ticket.id, body=body, saved_at=at)
    session.execute(statement.on_conflict_do_update(index_elements=["agent_id", "ticket_id"],
                                                    set_={"body": body, "saved_at": at}))
    return "saved"


def discard_draft(session: Session, agent: Agent, ticket: Ticket) -> None:
    """Delete the agent's draft on the ticket, if there is one."""
    session.execute(delete(ReplyDraft).where(ReplyDraft.agent_id == agent.id,
                                             ReplyDraft.ticket_id == ticket.id))


def _replied_since(session: Session, agent: Agent, ticket: Ticket, event_id: int) -> bool:
    return session.scalar(select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.agent_id == agent.id, TicketEvent.kind == "reply",
        TicketEvent.id > event_id).limit(1)) is not None
