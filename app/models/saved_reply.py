"""Replies agents keep to send again: shared with the whole team, or an agent's own.

A shared reply is seen by every agent and changed by its author, managers and
administrators; a personal one is seen and changed by its author alone. Its text may
hold placeholders (``{customer_name}``, ``{ticket_number}``, ``{agent_name}``) that are
filled when it is put in a reply box (``app.services.saved_replies``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class SavedReply(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    shared: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("Agent")
