"""Response targets and business hours: the desk's own (no account), and an account's overrides.

A column left empty means "as the desk": an account row overrides only what it sets. The
opening hours are stored as written by ``app.business_hours.week_text`` ("09:00-17:00"
or "closed" per weekday, Monday first).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class ResponseTarget(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: the desk's settings, the one row every account falls back to.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), unique=True)
    # Minutes of business time; None: no target (the desk's) or as the desk (an account's).
    first_response_minutes: Mapped[int | None]
    next_response_minutes: Mapped[int | None]
    time_zone: Mapped[str | None] = mapped_column(String(64))
    business_hours: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    account = relationship("Account")
