"""Configured IMAP mailboxes and the per-folder state the poller keeps.

A folder's checkpoint is the highest UID archived under its current UIDVALIDITY;
it only ever moves in the same transaction as the rows of the messages it covers.
The lease columns let pollers on several machines share the work through the
database: one poller holds a folder at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow

SECURITY_CHOICES = ("ssl", "starttls", "none")


class Mailbox(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int]
    security: Mapped[str] = mapped_column(String(10))
    username: Mapped[str] = mapped_column(String(320))
    # The name of the environment variable holding the password, never the password.
    password_env: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    folders: Mapped[list[MailboxFolder]] = relationship(
        back_populates="mailbox", cascade="all, delete-orphan", order_by="MailboxFolder.id"
    )


class MailboxFolder(db.Model):
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    checkpoint_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    # Seen at the last poll: messages on the server and how many were not archived yet.
    server_count: Mapped[int | None]
    server_pending: Mapped[int | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]

    mailbox: Mapped[Mailbox] = relationship(back_populates="folders")
