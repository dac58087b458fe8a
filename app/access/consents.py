"""Consents to share an account's data with someone outside the support team: asking,
the customer's decision, withdrawal, and each use, every change audited.

An agent asks for one recipient, one piece of content and one purpose; the account's
approvers are emailed a link (``Notice`` values the calling view sends, as grants do).
The first approver to decide wins: a conditional UPDATE moves the consent from pending,
and a second decision is told who decided first. A given consent lasts the days the
agent asked for, or fewer if the approver shortens it, and any approver can withdraw it
from the link in their confirmation email; the next forward or export under it is
refused. Whether a consent allows a sending now is ``rules.consent_in_force``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.access.grants import Notice
from app.access.links import TokenError, new_consent_token
from app.access.queries import as_consent
from app.access.rules import CONSENT_DAYS, CONTENT_KINDS, MAX_PURPOSE_CHARS, consent_state, normalise_address
from app.models import AccessToken, Account, Agent, Consent
from app.services import audit
from app.services.errors import ServiceError
from app.services.rows import change_if

DECISION_HOURS = 72


def ask(session: Session, agent: Agent, account: Account, recipient: str, content_kind: str,
        content_ref: str, content: str, purpose: str, days: int,
        now: datetime) -> tuple[Consent, list[Notice]]:
    """Ask the account's approvers to consent to a sharing; return it and the emails to send."""
    recipient = normalise_address(recipient)
    purpose = purpose.strip()
    if content_kind not in CONTENT_KINDS:
        raise ServiceError(f"the content must be one of {', '.join(CONTENT_KINDS)}")
    if not purpose:
        raise ServiceError("give the purpose: the customer reads it before deciding", "purpose")
    if len(purpose) > MAX_PURPOSE_CHARS:
        raise ServiceError(f"the purpose is longer than {MAX_PURPOSE_CHARS} characters", "purpose")
    if days not in CONSENT_DAYS:
        raise ServiceError(f"the consent can last {', '.join(map(str, CONSENT_DAYS))} days", "days")
    approvers = account.approvers
    if not approvers:
        raise ServiceError(f"{account.name} has no approver contact to ask; an administrator adds one "
                           "on the account's page")
    consent = Consent(account=account, agent=agent, recipient=recipient, content_kind=content_kind,
                      content_ref=content_ref, content=content, purpose=purpose, days=days,
                      status="pending", requested_at=now, decide_by=now + timedelta(hours=DECISION_HOURS))
    session.add(consent)
    session.flush()
    _audit(session, "consent requested", consent, now, agent_id=agent.id,
           detail=f"{_what(consent)}, for {days} days: {purpose}")
    notices = [Notice("consent_request", c.email, consent,
                      {"consent": new_consent_token(session, consent, "consent", c.email,
                                                    consent.decide_by)})
               for c in approvers]
    return consent, notices


def decide(session: Session, token: AccessToken, give: bool, days: int | None, now: datetime,
           log_link_days: int) -> list[Notice]:
    """Give (possibly for fewer days) or refuse a pending consent; the first decision wins."""
    consent = token.consent
    days = consent.days if days is None else days
    if give and not 1 <= days <= consent.days:
        raise ServiceError(f"the consent can be shortened, not lengthened: at most {consent.days} days")
    decision = {"status": "given", "ends_at": now + timedelta(days=days)} if give else {"status": "refused"}
    pending = [Consent.status == "pending", Consent.decide_by > now]
    if not change_if(session, consent, pending, decided_at=now, decided_by=token.contact_email, **decision):
        raise TokenError(f"This request was already decided: it is {describe(consent, now)}.", 409)
    token.used_at = now
    if not give:
        _audit(session, "consent refused", consent, now, contact_email=token.contact_email,
               detail=_what(consent))
        session.flush()
        return [Notice("consent_refused", token.contact_email, consent)]
    _audit(session, "consent given", consent, now, contact_email=token.contact_email,
           detail=f"{_what(consent)}, until {consent.ends_at:%Y-%m-%d %H:%M} UTC: {consent.purpose}")
    session.flush()
    until = now + timedelta(days=log_link_days)
    return [Notice("consent_given" if c.email == token.contact_email else "consent_given_by_other", c.email,
                   consent, {"withdraw": new_consent_token(session, consent, "withdraw", c.email,
                                                            max(consent.ends_at, until))})
            for c in consent.account.approvers]


def withdraw(session: Session, token: AccessToken, now: datetime) -> list[Notice]:
    """Withdraw a given consent at the customer's word; nothing more is sent under it."""
    consent = token.consent
    in_force = [Consent.status == "given", Consent.withdrawn_at.is_(None), Consent.ends_at > now]
    if not change_if(session, consent, in_force, withdrawn_at=now, withdrawn_by=token.contact_email):
        raise TokenError(f"This consent is not in force any more ({describe(consent, now)}).", 409)
    token.used_at = now
    _audit(session, "consent withdrawn", consent, now, contact_email=token.contact_email,
           detail=_what(consent))
    session.flush()
    return [Notice("consent_withdrawn", c.email, consent) for c in consent.account.approvers]


def note_use(session: Session, agent: Agent, consent: Consent, what: str, now: datetime) -> None:
    """Write a sending under a consent to the audit log."""
    _audit(session, "consent used", consent, now, agent_id=agent.id, detail=f"{what} ({_what(consent)})")


def note_refusal(session: Session, agent: Agent, account: Account | None, what: str, why: str,
                 now: datetime) -> None:
    """Write a sending refused for want of consent to the audit log."""
    audit.append(session, "sharing refused", at=now, agent_id=agent.id,
                 account_id=account.id if account else None, detail=f"{what}: {why}")


def describe(consent: Consent, now: datetime) -> str:
    """Say in a few words where a consent stands at ``now``."""
    return consent_state(as_consent(consent), now)


def _what(consent: Consent) -> str:
    return f"consent {consent.id}: {consent.content} to {consent.recipient}"


def _audit(session: Session, action: str, consent: Consent, now: datetime, **fields) -> None:
    audit.append(session, action, at=now, account_id=consent.account_id, **fields)
