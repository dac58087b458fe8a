"""Staff who sign in to the console: support agents, managers and administrators.

An agent's session and "remember me" cookies carry ``id:session_version``; raising the
version (on sign-out, on disabling) makes every cookie issued before it worthless, so
revoking needs no server-side list of sessions.  Per-agent settings live here too.

Two-factor sign-in: ``totp_secret`` is the authenticator app's secret, encrypted
(``app.secretbox``); it counts only from ``totp_enabled_at``, once a first code proved the
app holds it. ``totp_last_step`` is the 30-second step of the last code accepted, so no
code works twice. Recovery codes are kept as SHA-256 hashes, each good once.
"""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.access.rules import AGENT, ROLES
from app.extensions import db
from app.models.time import utcnow

QUEUES = ("mine", "unassigned", "all", "unmatched")
DEFAULT_PAGE_SIZE = 25
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_QUEUE = "mine"
DEFAULT_LANGUAGE = "en"


class Agent(UserMixin, db.Model):
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default=AGENT)
    # An argon2id hash in PHC string form; the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    page_size: Mapped[int] = mapped_column(default=DEFAULT_PAGE_SIZE)
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    default_queue: Mapped[str] = mapped_column(String(20), default=DEFAULT_QUEUE)
    # Added below every reply the agent sends, after a "-- " line; empty for none.
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The console is written in it unless a page chooses another (a customer's page).
    language: Mapped[str] = mapped_column(String(16), default=DEFAULT_LANGUAGE,
                                          server_default=DEFAULT_LANGUAGE)
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", order_by="RecoveryCode.id")

    def get_id(self) -> str:
        """Return the identity Flask-Login puts in session and remember cookies."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return not self.disabled

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class RecoveryCode(db.Model):
    """A single-use code that signs an agent in when their authenticator app is lost."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]

    agent: Mapped[Agent] = relationship(back_populates="recovery_codes")
