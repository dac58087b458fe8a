"""Support tickets: a thread of messages with one customer account, and its history.

Every change an agent makes to a ticket (status, assignee, a note, a reply, a logged call, a message
moved in or out, an account linked) is a ``TicketEvent`` naming who and when; notes are
events with a body, so the thread and the history read from one table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow

STATUSES = ("open", "pending", "closed")
EVENT_KINDS = ("status", "assign", "note", "reply", "log", "move_in", "move_out", "link_account",
               "merge_in", "merge_out", "undo")


class Ticket(db.Model):
    __table_args__ = (
        # Each queue, in its order (most recent activity first), and an account's tickets.
        Index("ix_ticket_queue", "status", "last_activity_at", "id"),
        Index("ix_ticket_account_activity", "account_id", "last_activity_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # A ticket merged into another is kept, closed, and names the ticket that took its messages.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))

    account = relationship("Account")
    assignee = relationship("Agent")
    merged_into = relationship("Ticket", remote_side=[id])
    messages = relationship(
        "Message", back_populates="ticket", order_by="Message.id", lazy="dynamic"
    )
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )


class TicketEvent(db.Model):
    """One change to a ticket: what, by whom, when; ``body`` holds a note's text."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    # None: the archive itself, e.g. a customer's answer reopening a pending ticket.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    # What changed, in words, e.g. "status open → pending".
    detail: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    agent = relationship("Agent")
    message = relationship("Message")
