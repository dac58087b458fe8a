"""Archived messages, every place each was seen, and their attachments.

A message is identified by the sha256 of its raw bytes: the same bytes seen in two
folders, or delivered twice, are one message with two locations.  A location is
(folder, UIDVALIDITY, UID) for mail polled over IMAP, or a source string for
imported files.  The raw bytes live in the raw store, addressed by that hash.

Not every message came by mail: a phone call, a chat or a meeting an agent logged, and
a message sent through the public contact form, are archived as RFC 5322 messages too
(``app.services.communications``), with their ``channel`` saying so. Those entries are
kept as written: nothing may change what they say or delete them (``ENTRY_CONTENT`` and
the guard below; the database has triggers of its own, see the migration ``b7e4f2a9c1d3``).
A correction is a new entry naming the one it corrects.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.extensions import db
from app.models.time import utcnow

# How a communication reached the desk, and how the console names each.
CHANNELS = {"email": "Email", "phone": "Phone call", "chat": "Chat", "meeting": "Meeting",
            "form": "Contact form"}
# The channels an agent logs by hand; only these take corrections.
LOGGED_CHANNELS = ("phone", "chat", "meeting")
# What a logged or contact-form entry says, where and when: never changed once archived.
# Where it is filed (account, ticket, the reasons) and how the console shows it may change.
ENTRY_CONTENT = ("sha256", "size", "direction", "subject", "from_addr", "from_name", "to_addrs", "cc_addrs",
                 "date_utc", "date_offset_minutes", "message_id_header", "in_reply_to", "references_ids",
                 "body_text", "auto_reason", "quarantined", "parse_error", "defects", "archived_at",
                 "channel", "logged_by_id", "duration_minutes", "corrects_id")
KEPT_AS_WRITTEN = ("Archived communications are kept as written and cannot be edited or deleted; "
                   "log a correction instead, which names the entry it corrects.")


class EntryKeptAsWritten(RuntimeError):
    """Something tried to change what a logged or contact-form entry says, or to delete it."""


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
    # How it reached the desk (a key of CHANNELS). Set by the code that archives it, never
    # read from a header: any sender can write "X-Desk-Channel: phone" into mail.
    channel: Mapped[str] = mapped_column(String(10), default="email", server_default="email")
    # For a logged entry: the agent who logged it, and how long the call or meeting lasted.
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    duration_minutes: Mapped[int | None]
    # A correction names the entry it corrects; both are kept.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)

    account = relationship("Account")
    ticket = relationship("Ticket", back_populates="messages")
    logged_by = relationship("Agent")
    corrects = relationship("Message", remote_side=[id])

    @property
    def is_entry(self) -> bool:
        """True for a communication that did not come by mail (logged, or the contact form)."""
        return self.channel != "email"

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)

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


@event.listens_for(Session, "before_flush")
def _keep_entries_as_written(session: Session, flush_context, instances) -> None:
    # Code that changes what an entry says, or deletes it, stops here, before any SQL (a
    # deletion would first unlink the entry's locations); statements that bypass the ORM
    # meet the database's triggers instead.
    for item in session.deleted:
        entry = item if isinstance(item, Message) else getattr(item, "message", None)
        if isinstance(item, Message | Attachment) and entry is not None and entry.channel != "email":
            raise EntryKeptAsWritten(KEPT_AS_WRITTEN)
    for item in session.dirty:
        if isinstance(item, Message) and _changes_an_entry(item):
            raise EntryKeptAsWritten(KEPT_AS_WRITTEN)


def _changes_an_entry(message: Message) -> bool:
    state = inspect(message)
    if state.attrs.channel.history.deleted:
        return True  # no message's channel ever changes, mail's included
    changed = (name for name in ENTRY_CONTENT if state.attrs[name].history.has_changes())
    return message.channel != "email" and next(changed, None) is not None
