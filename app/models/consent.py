"""Consents to share: a company contact's prior permission for one recipient outside the
support team to receive one piece of the account's data, for one purpose, until a date.

A ``Consent`` is asked for by an agent (pending), given or refused by one of the account's
approvers from an emailed link, or left undecided (expired); a given consent can be
withdrawn by any approver at any time, after which nothing more is sent under it. What
it covers is ``content_kind`` and ``content_ref``: a ticket or a message by id, or an
export by its format and query; ``content`` says the same in words for the people who
read it. Whether a consent allows a sending is decided by ``app.access.rules`` with the
clock, never by these columns alone. A grant to open records is not a consent to share.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class Consent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    # The one address the data may go to, lower-cased.
    recipient: Mapped[str] = mapped_column(String(320))
    content_kind: Mapped[str] = mapped_column(String(10))
    content_ref: Mapped[str] = mapped_column(String(1000))
    content: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    days: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decide_by: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    # The approver's address as it was at the decision.
    decided_by: Mapped[str | None] = mapped_column(String(320))
    ends_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(320))

    account = relationship("Account")
    agent = relationship("Agent")
