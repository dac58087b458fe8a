"""Customer accounts (subscriber companies), their mail domains and their contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class Account(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[AccountDomain]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountDomain.domain"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contact.email"
    )

    @property
    def approvers(self) -> list[Contact]:
        return [c for c in self.contacts if c.is_approver]


class AccountDomain(db.Model):
    """A mail domain whose senders belong to the account; one account per domain."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    account: Mapped[Account] = relationship(back_populates="domains")


class Contact(db.Model):
    """A person at the account; approvers may later approve access requests."""

    __table_args__ = (UniqueConstraint("account_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    is_approver: Mapped[bool] = mapped_column(default=False)
    # The language the contact's emails and pages are written in (a catalogue's code such
    # as "de"); None until known, which reads as English. ``language_source`` says how it
    # was learnt: "administrator" (which nothing detected overrides), "mail" (the
    # Content-Language of mail they sent) or "visit" (their browser's Accept-Language).
    language: Mapped[str | None] = mapped_column(String(16))
    language_source: Mapped[str | None] = mapped_column(String(16))

    account: Mapped[Account] = relationship(back_populates="contacts")
