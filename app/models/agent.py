"""Staff who sign in to the console: support agents, managers and administrators.

An agent's session and "remember me" cookies carry ``id:session_version``; raising the
version (on sign-out, on disabling) makes every cookie issued before it worthless, so
revoking needs no server-side list of sessions.  Per-agent settings live here too.
"""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.time import utcnow

ROLES = ("agent", "manager", "admin")
QUEUES = ("mine", "unassigned", "all", "unmatched")
DEFAULT_PAGE_SIZE = 25
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_QUEUE = "mine"


class Agent(UserMixin, db.Model):
    __table_args__ = (CheckConstraint("role IN ('agent', 'manager', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default="agent")
    # An argon2id hash in PHC string form; the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    page_size: Mapped[int] = mapped_column(default=DEFAULT_PAGE_SIZE)
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    default_queue: Mapped[str] = mapped_column(String(20), default=DEFAULT_QUEUE)

    def get_id(self) -> str:
        """Return the identity Flask-Login puts in session and remember cookies."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return not self.disabled
