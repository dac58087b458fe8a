"""Changes an agent can undo for a while: a message moved, two tickets merged, a message linked.

Each keeps, as JSON, where things stood just before (``before``) and just after (``after``):
the ticket and account of each message involved, the ticket of each history entry that
moved, and the fields of each ticket involved. An undo puts ``before`` back, and only while
the same things still stand as ``after`` left them, so it restores exactly. Only links
between messages, tickets and accounts are kept here: what a message says is never part of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow

CHANGE_KINDS = ("move", "merge", "link")


class TicketChange(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    # The ticket whose history shows the change with its Undo button, and that entry.
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_event.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # What was done, in words, e.g. "ticket 4 merged into ticket 7".
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))

    ticket = relationship("Ticket")
    event = relationship("TicketEvent")
    agent = relationship("Agent", foreign_keys=[agent_id])
    undone_by = relationship("Agent", foreign_keys=[undone_by_id])
