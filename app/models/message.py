"""Archived messages, every place each was seen, and their attachments.

A message is identified by the sha256 of its raw bytes: the same bytes seen in two
folders, or delivered twice, are one message with two locations.  A location is
(folder, UIDVALIDITY, UID) for mail polled over IMAP, or a source string for
imported files.  The raw bytes live in the raw store, addressed by that hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow


class Message(db.Model):
    __table_args__ = (
        # Mail by day and direction (the dashboard's volumes and accounts of the last weeks).
        Index("ix_message_when", func.coalesce(text("date_utc"), text("archived_at")), "direction"),
        # A ticket's first customer message and first reply after it (first responses).
        Index("ix_message_ticket_direction_when", "ticket_id", "direction",
              func.coalesce(text("date_utc"), text("archived_at"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(8), default="inbound")
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="", index=True)
    from_name: Mapped[str] = mapped_column(Text, default="")
    to_addrs: Mapped[str] = mapped_column(Text, default="")
    cc_addrs: Mapped[str] = mapped_column(Text, default="")
    date_utc: Mapped[datetime | None] = mapped_column(index=True)
    # The sender's UTC offset in minutes, so the original local time can be shown.
    date_offset_minutes: Mapped[int | None]
    message_id_header: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references_ids: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    link_reason: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    thread_reason: Mapped[str] = mapped_column(Text, default="")
    # Why the message counts as automatic (auto-reply, bounce), or None for a person.
    auto_reason: Mapped[str | None] = mapped_column(Text)
    quarantined: Mapped[bool] = mapped_column(default=False, index=True)
    parse_error: Mapped[str | None] = mapped_column(Text)
    defects: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Null until the search index holds the message: the indexer's work queue.
    indexed_at: Mapped[datetime | None] = mapped_column(index=True)
    # How the console shows the message, read from the raw message the first time it is
    # shown and kept, so that a ticket's page does not parse every message on each view:
    # null until then; true for HTML (in a sandboxed frame), false for text.
    shown_as_html: Mapped[bool | None]
    # Remote images and other remote content its HTML would load, blocked until allowed.
    remote_resources: Mapped[int] = mapped_column(default=0, server_default="0")

    account = relationship("Account")
    ticket = relationship("Ticket", back_populates="messages")

    @classmethod
    def when(cls, message=None):
        """The time a message counts at: its own date, else when it was archived. The
        dashboard's figures read it through the indexes below, over the weeks they show,
        so their cost follows the mail of those weeks, not the size of the archive."""
        message = message if message is not None else cls
        return func.coalesce(message.date_utc, message.archived_at)

    locations: Mapped[list[MessageLocation]] = relationship(
        back_populates="message", order_by="MessageLocation.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class MessageLocation(db.Model):
    __table_args__ = (UniqueConstraint("folder_id", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("mailbox_folder.id"), index=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    # For imports: the place and a prefix of the content hash, e.g. "mbox:/path#3 sha256:0123abcd...",
    # so a rewritten file whose position now holds other mail loses nothing.
    source: Mapped[str | None] = mapped_column(String(2000), unique=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="locations")
    folder = relationship("MailboxFolder")


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))

    message: Mapped[Message] = relationship(back_populates="attachments")
