"""Reading grants and consents from the database: the requests of an account, the grant an
agent holds now, what was opened under grants, and the consent a sending can go under.
Nothing here changes a row; whether a grant or a consent is in force is always the rules'
answer (``app.access.rules``), asked with the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.rules import ConsentTerms, Grant, consent_for, grant_in_force
from app.models import AccessRequest, Account, Agent, AuditEntry, Consent


def as_grant(request: AccessRequest) -> Grant:
    """Return the policy's view of a request."""
    return Grant(request.id, request.agent_id, request.account_id, request.scopes, request.status,
                 request.starts_at, request.ends_at, request.ended_at)


def account_grants(session: Session, account_id: int) -> list[Grant]:
    """Return every approved request of the account, as the policy sees them."""
    rows = session.scalars(select(AccessRequest).where(
        AccessRequest.account_id == account_id, AccessRequest.status == "approved"))
    return [as_grant(r) for r in rows]


def grant_for(session: Session, agent: Agent, account_id: int, scope: str,
              now: datetime) -> AccessRequest | None:
    """Return the request whose grant lets the agent open the account's ``scope`` records now."""
    found = grant_in_force(agent.id, account_id, scope, account_grants(session, account_id), now)
    return session.get(AccessRequest, found.id) if found else None


@dataclass(frozen=True)
class RecordView:
    at: datetime
    agent: str
    kind: str
    record_id: int | None
    request_id: int


def record_views(session: Session, account_id: int) -> list[RecordView]:
    """Return every record list and record opened under the account's grants, newest first."""
    rows = session.execute(
        select(AuditEntry.at, Agent.name, AuditEntry.record_kind, AuditEntry.record_id, AuditEntry.request_id)
        .join(Agent, Agent.id == AuditEntry.agent_id)
        .where(AuditEntry.account_id == account_id, AuditEntry.record_kind.is_not(None))
        .order_by(AuditEntry.id.desc()))
    return [RecordView(*row) for row in rows]


def all_requests(session: Session, account: Account | None = None) -> list[AccessRequest]:
    """Return every request, or one account's, newest first."""
    query = select(AccessRequest).order_by(AccessRequest.id.desc())
    if account is not None:
        query = query.where(AccessRequest.account_id == account.id)
    return list(session.scalars(query))


def requests_of(session: Session, account_id: int, limit: int = 20) -> list[AccessRequest]:
    """Return the account's most recent requests."""
    return list(session.scalars(select(AccessRequest).where(AccessRequest.account_id == account_id)
                                .order_by(AccessRequest.id.desc()).limit(limit)))


def as_consent(consent: Consent) -> ConsentTerms:
    """Return the rules' view of a consent."""
    return ConsentTerms(consent.id, consent.account_id, consent.recipient, consent.content_kind,
                        consent.content_ref, consent.status, consent.decided_at, consent.ends_at,
                        consent.withdrawn_at, consent.decide_by)


def consent_in_force_for(session: Session, account_id: int, recipient: str, content_kind: str,
                         content_ref: str, now: datetime) -> Consent | None:
    """Return the consent that lets this content of the account go to ``recipient`` now, or None."""
    given = session.scalars(select(Consent).where(Consent.account_id == account_id,
                                                  Consent.status == "given"))
    found = consent_for(account_id, recipient, content_kind, content_ref, [as_consent(c) for c in given], now)
    return session.get(Consent, found.id) if found else None


def consents_of(session: Session, account_id: int, limit: int | None = None) -> list[Consent]:
    """Return the account's consents, asked for or given, newest first."""
    query = select(Consent).where(Consent.account_id == account_id).order_by(Consent.id.desc())
    return list(session.scalars(query.limit(limit) if limit else query))


@dataclass(frozen=True)
class ConsentUse:
    at: datetime
    agent: str
    detail: str


def consent_uses(session: Session, account_id: int, consent_id: int | None = None) -> list[ConsentUse]:
    """Return every sending under the account's consents (or one of them), newest first."""
    query = (select(AuditEntry.at, Agent.name, AuditEntry.detail).join(Agent, Agent.id == AuditEntry.agent_id)
             .where(AuditEntry.account_id == account_id, AuditEntry.action == "consent used")
             .order_by(AuditEntry.id.desc()))
    rows = [ConsentUse(*row) for row in session.execute(query)]
    if consent_id is not None:
        # The entry names its consent: "... (consent 12: ...)".
        rows = [u for u in rows if f"(consent {consent_id}:" in u.detail]
    return rows
