"""What agents are doing on a ticket right now: the reply each is writing (a draft, kept until
it is sent or discarded) and who has the ticket open (presence, kept for a few minutes).

Both are one row per agent and ticket, written by upsert; neither is part of the archive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class ReplyDraft(db.Model):
    """The text an agent has typed in a ticket's reply box and not sent; only they see it."""

    __table_args__ = (UniqueConstraint("agent_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketPresence(db.Model):
    """An agent had the ticket open at ``seen_at``, reading it ("viewing") or typing a reply."""

    __table_args__ = (UniqueConstraint("agent_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    activity: Mapped[str] = mapped_column(String(10))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    agent = relationship("Agent")
