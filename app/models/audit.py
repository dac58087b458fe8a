"""The audit log: append-only, each entry carrying the hash of the one before it.

``hash`` is the SHA-256 of the previous entry's hash and this entry's fields in a fixed
form (``app.services.audit``); ``prev_hash`` is unique, so two writers racing to append
after the same entry cannot both succeed, and the chain never forks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class AuditEntry(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    # Who acted: an agent, or a customer contact's address, or neither (the clock).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_request.id"), index=True)
    record_kind: Mapped[str | None] = mapped_column(String(20))
    record_id: Mapped[int | None]
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
