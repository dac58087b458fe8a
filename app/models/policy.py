"""Versions of the privacy policy, and the notice of each version owed to each company contact.

A ``PolicyVersion`` is published once and never edited: a change is a new version, which
replaces it from its own effective date. The version in force is the newest whose
effective date has come (dates are UTC days).

A ``PolicyNotice`` is one email owed to one contact (an address of an account) about one
version. Workers claim a row before sending it (``lease_until``, ``claimed_by``), so two
workers never send the same notice; ``sent_at`` is set once the mail server took it, and
``attempts`` and ``last_error`` say how sending went until then.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class PolicyVersion(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    # What changed, in the words the notice email and the public page use.
    summary: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None when published from the command line.
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))

    published_by = relationship("Agent")


class PolicyNotice(db.Model):
    __table_args__ = (UniqueConstraint("version_id", "account_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    # The contact's address as it was when the notice was owed; a contact removed before
    # it was sent is not written to (the row stays, to say so).
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_tried_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # A worker sending it holds it until then; past it, another worker may take it again.
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # Indexed: each run of the worker looks for the few rows not sent yet.
    sent_at: Mapped[datetime | None] = mapped_column(index=True)

    version = relationship("PolicyVersion")
    account = relationship("Account")
