"""Access requests and the grants they become, and the single-purpose links customers use.

An ``AccessRequest`` is the whole life of one permission: an agent asks (pending), the
account's approver decides (approved or denied) or nobody does (expired), or the agent
withdraws it (cancelled). An approved request is a grant from ``starts_at`` to
``ends_at``; ``ended_at`` is set when it is revoked or ended early. Whether a grant is
active is decided by the clock at each check (``app.access.rules``), never by these
columns alone. Break-glass access is a request by a manager that a second manager
confirms instead of a customer.

``AccessToken`` rows hold only the SHA-256 of each emailed link's secret, bound to one
request and one purpose (decide, revoke, view the log), or to one consent (decide on it,
withdraw it), and an expiry. A token found in an
archived message is leaked: it stops working at once (``leaked_at``, and the message it
was found in), and its contact is sent a new link (``replaced_at``, when that was done).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.access.rules import request_scopes
from app.extensions import db
from app.models.time import utcnow

REQUEST_STATUSES = ("pending", "approved", "denied", "expired", "cancelled", "awaiting_confirmation")
TOKEN_PURPOSES = ("decide", "revoke", "log", "consent", "withdraw")


class AccessRequest(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    scope: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(24), default="pending", index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decide_by: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    # The approver's address, or the confirming manager's, as it was at the decision.
    decided_by: Mapped[str | None] = mapped_column(String(320))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # Who ended it early: the approver's or agent's address, or "an operator".
    ended_by: Mapped[str | None] = mapped_column(String(320))
    break_glass: Mapped[bool] = mapped_column(default=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    # Set once the worker has told everyone that the grant ended (tidiness, not access).
    end_noticed_at: Mapped[datetime | None]
    # Set once the worker has told the agent that the grant is about to end.
    ending_notified_at: Mapped[datetime | None]

    account = relationship("Account")
    agent = relationship("Agent", foreign_keys=[agent_id])
    confirmed_by = relationship("Agent", foreign_keys=[confirmed_by_id])

    @property
    def scopes(self) -> tuple[str, ...]:
        return request_scopes(self.scope)


class AccessToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # A link is about an access request or about a consent to share (``app.models.consent``).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_request.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    contact_email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Indexed: the few leaked tokens are looked up among all of them to be replaced.
    leaked_at: Mapped[datetime | None] = mapped_column(index=True)
    leaked_in_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    # Null while a leaked token still waits for its contact to be sent a new link.
    replaced_at: Mapped[datetime | None]

    request: Mapped[AccessRequest | None] = relationship()
    consent = relationship("Consent")

    @property
    def account_id(self) -> int:
        return (self.request or self.consent).account_id
