"""Configured IMAP mailboxes and the per-folder state the poller keeps.

A mailbox signs in with a password read from an environment variable (kind
``password``), or with OAuth2 (kinds ``microsoft``, ``google`` and ``oauth2``, any
provider with an authorization and a token endpoint): then ``MailboxOAuth`` keeps the
application registered at the provider and the refresh token, both secrets encrypted
(``app.secretbox``). Access tokens are never stored; they live in the memory of the
process that uses them (``app.services.oauth``).

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
KINDS = ("password", "microsoft", "google", "oauth2")
OAUTH_KINDS = KINDS[1:]
MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


class Mailbox(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int]
    security: Mapped[str] = mapped_column(String(10))
    username: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(10), default="password")
    # The name of the environment variable holding the password, never the password;
    # None for OAuth2 mailboxes.
    password_env: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A paused mailbox is not polled or watched until it is resumed.
    paused_at: Mapped[datetime | None]
    # Where replies leave through this mailbox's own account (SMTP with the same sign-in);
    # None sends them through the desk's SMTP_URL.
    smtp_host: Mapped[str | None] = mapped_column(String(253))
    smtp_port: Mapped[int | None]
    smtp_security: Mapped[str | None] = mapped_column(String(10))

    # The folders polled now. A folder an administrator removed keeps its row (its archived
    # mail keeps its location, and its checkpoint serves if it is chosen again) and is left
    # out here; ``all_folders`` has every one.
    folders: Mapped[list[MailboxFolder]] = relationship(
        back_populates="mailbox", cascade="all, delete-orphan", order_by="MailboxFolder.id",
        primaryjoin="and_(Mailbox.id == MailboxFolder.mailbox_id, MailboxFolder.removed_at.is_(None))",
    )
    all_folders: Mapped[list[MailboxFolder]] = relationship(viewonly=True, order_by="MailboxFolder.id")
    oauth: Mapped[MailboxOAuth | None] = relationship(
        back_populates="mailbox", cascade="all, delete-orphan", uselist=False
    )

    @property
    def uses_oauth(self) -> bool:
        return self.kind in OAUTH_KINDS

    @property
    def needs_reconnecting(self) -> bool:
        """True once a refresh of its OAuth2 token was refused, until it is connected again."""
        return self.oauth is not None and self.oauth.failed_at is not None

    @property
    def connected(self) -> bool:
        """A password mailbox always is; an OAuth2 one once it holds a working refresh token."""
        if not self.uses_oauth:
            return True
        return self.oauth is not None and self.oauth.refresh_token is not None and not self.needs_reconnecting


class MailboxOAuth(db.Model):
    """The OAuth2 side of a mailbox: the provider's endpoints, the registered application,
    and the refresh token of the account that consented.

    ``client_secret`` and ``refresh_token`` hold Fernet ciphertext made with
    ``ENCRYPTION_KEY``; someone who reads the database without the key can neither refresh
    a token nor pose as the application. ``failed_at`` is set when the provider refused a
    refresh (consent revoked, refresh token expired, secret changed): the mailbox then
    needs reconnecting, and ``notified_at`` records that the administrators were told once.
    """

    __tablename__ = "mailbox_oauth"

    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret: Mapped[str | None] = mapped_column(Text)
    authorize_url: Mapped[str] = mapped_column(String(2000))
    token_url: Mapped[str] = mapped_column(String(2000))
    device_url: Mapped[str | None] = mapped_column(String(2000))
    scopes: Mapped[str] = mapped_column(Text)
    mechanism: Mapped[str] = mapped_column(String(12), default="XOAUTH2")
    refresh_token: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)
    notified_at: Mapped[datetime | None]

    mailbox: Mapped[Mailbox] = relationship(back_populates="oauth")


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
    # Set when an administrator stopped archiving the folder; None while it is polled.
    removed_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]

    mailbox: Mapped[Mailbox] = relationship(back_populates="folders")
