"""What agents are told about their work: in the console, by email, or both, as each chose.

A ``Notification`` is one thing that happened to one agent's work (a ticket assigned to
them, a customer's answer on their ticket, a customer's decision on their access request,
a grant about to end). ``in_console`` rows are listed on the agent's notifications page
until read (``read_at``); ``by_email`` rows are also the email outbox: a worker claims a
row before sending it (``lease_until``, ``claimed_by``), so two workers never send the same
email, and ``email_sent_at`` is set once the mail server took it; ``attempts`` and
``last_error`` say how sending went until then.

A ``NotificationPreference`` is an agent's choice for one kind of event; an agent
without a row for a kind has that kind's defaults (``app.services.notifications.KINDS``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow

NOTIFICATION_KINDS = ("assigned", "answered", "access", "grant_ending")


class Notification(db.Model):
    __table_args__ = (
        # The notifications page and the unread count read one agent's rows, newest first.
        Index("ix_notification_agent", "agent_id", "in_console", "read_at", "id"),
        # Each run of the worker looks for the few emails not sent yet.
        Index("ix_notification_outbox", "by_email", "email_sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # What happened, in one sentence, as the page lists it and the email's subject says it.
    text: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_request.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_console: Mapped[bool] = mapped_column(default=True)
    read_at: Mapped[datetime | None]
    by_email: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    last_tried_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    email_sent_at: Mapped[datetime | None]

    agent = relationship("Agent")
    ticket = relationship("Ticket")
    account = relationship("Account")
    request = relationship("AccessRequest")
    message = relationship("Message")


class NotificationPreference(db.Model):
    __table_args__ = (UniqueConstraint("agent_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    kind: Mapped[str] = mapped_column(String(20))
    in_console: Mapped[bool]
    by_email: Mapped[bool]
