"""Access to an account's records: requests, customer decisions, grants, their end, break-glass.

Every change is written to the audit log in the same transaction. Functions that must
tell people something return ``Notice`` values; the calling view or command sends them
(``app.services.access_notices``) before committing, so no request exists whose approvers
were never asked. The clock is always an argument: whether a grant is in force is decided
by ``app.access.rules`` at each check, and ``expire_due`` only tidies up and tells people.

Every change of a request's state is one conditional UPDATE (``rows.change_if``): from the state it
must be in, to the next. Two approvers pressing Approve and Deny at once, or revoking
while the agent ends the grant, race for that one row; the database lets exactly one
win, and the other is told who won and when, with nothing changed and nothing audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.links import TokenError, new_token
from app.access.queries import as_grant
from app.access.rules import MANAGER, REQUEST_SCOPES, remaining, scope_words
from app.models import AccessRequest, AccessToken, Account, Agent, Consent
from app.services import audit, notifications
from app.services.errors import ServiceError
from app.services.rows import change_if

PRESET_HOURS = (1, 4, 8, 24)
BREAK_GLASS_MINUTES = 60
MAX_REASON_CHARS = 2000


@dataclass(frozen=True)
class AccessSettings:
    max_hours: int = 72
    decision_hours: int = 24
    log_link_days: int = 90


@dataclass(frozen=True)
class Notice:
    """An email to send: its template, its recipient, the request or consent it is about, and
    links by purpose."""

    template: str
    to: str
    about: AccessRequest | Consent
    links: dict[str, str] = field(default_factory=dict)










def duration_choices(settings: AccessSettings) -> list[int]:
    """Return the durations an agent may ask for, in hours."""
    return [h for h in PRESET_HOURS if h <= settings.max_hours] or [settings.max_hours]


def request_access(session: Session, agent: Agent, account: Account, scope: str, reason: str, hours: int,
                   now: datetime, settings: AccessSettings) -> tuple[AccessRequest, list[Notice]]:
    """Ask the account's approvers for access; return the request and the emails to send them."""
    reason = reason.strip()
    if scope not in REQUEST_SCOPES:
        raise ServiceError(f"the scope must be one of {', '.join(REQUEST_SCOPES)}")
    if not reason:
        raise ServiceError("give a reason: the customer reads it before deciding")
    if len(reason) > MAX_REASON_CHARS:
        raise ServiceError(f"the reason is longer than {MAX_REASON_CHARS} characters")
    if hours not in duration_choices(settings):
        choices = ", ".join(map(str, duration_choices(settings)))
        raise ServiceError(f"the duration must be one of {choices} hours")
    approvers = account.approvers
    if not approvers:
        raise ServiceError(f"{account.name} has no approver contact to ask; an administrator adds one "
                           "with `flask accounts add ... --approver EMAIL`")
    request = AccessRequest(account=account, agent=agent, scope=scope, reason=reason, minutes=hours * 60,
                            status="pending", requested_at=now,
                            decide_by=now + timedelta(hours=settings.decision_hours))
    session.add(request)
    session.flush()
    _audit(session, "access requested", request, now, agent_id=agent.id,
           detail=f"{scope_words(scope)} for {hours} h: {reason}")
    notices = [Notice("request", c.email, request,
                      {"decide": new_token(session, request, "decide", c.email, request.decide_by)})
               for c in approvers]
    return request, notices


def cancel_request(session: Session, agent: Agent, request: AccessRequest, now: datetime) -> None:
    """Withdraw a pending request; only the agent who asked may."""
    if request.agent_id != agent.id:
        raise ServiceError("only the agent who asked may cancel a request")
    if not change_if(session, request, PENDING, status="cancelled", decided_at=now, decided_by=agent.email):
        raise ServiceError(f"the request is {describe(request, now)}, not pending")
    _audit(session, "request cancelled", request, now, agent_id=agent.id)
    session.flush()




def decide(session: Session, token: AccessToken, approve: bool, hours: float | None, now: datetime,
           settings: AccessSettings) -> list[Notice]:
    """Approve (possibly for less time) or deny a pending request; the first decision wins."""
    request = token.request
    if request.status == "pending" and now >= request.decide_by:
        expire_request(session, request, now)
    minutes = request.minutes if hours is None else round(hours * 60)
    if approve and not 1 <= minutes <= request.minutes:
        raise ServiceError("the duration can be shortened, not lengthened: "
                           f"at most {request.minutes // 60} h")
    decision = {"status": "approved", "starts_at": now, "ends_at": now + timedelta(minutes=minutes)} \
        if approve else {"status": "denied"}
    if not change_if(session, request, [*PENDING, AccessRequest.decide_by > now],
                 decided_at=now, decided_by=token.contact_email, **decision):
        raise TokenError(f"This request was already decided: it is {_decided(request)}.", 409)
    token.used_at = now
    if not approve:
        _audit(session, "access denied", request, now, contact_email=token.contact_email)
        notifications.access_decided(session, request, "denied", token.contact_email, now)
        session.flush()
        # The approver who denied keeps a link to the account's access log all the same.
        log_until = now + timedelta(days=settings.log_link_days)
        return [Notice("denied", token.contact_email, request,
                       {"log": new_token(session, request, "log", token.contact_email, log_until)})]
    _audit(session, "access approved", request, now, contact_email=token.contact_email,
           detail=f"{scope_words(request.scope)} until {request.ends_at:%Y-%m-%d %H:%M} UTC ({minutes} min)")
    notifications.access_decided(session, request, "approved", token.contact_email, now)
    session.flush()
    return _grant_notices(session, request, now, settings)


def _decided(request: AccessRequest) -> str:
    """Say what became of a request and who decided when, e.g. "denied, by ann@... at ... UTC"."""
    words = request.status.replace("_", " ")
    if request.decided_by:
        words += f", by {request.decided_by}"
    if request.decided_at:
        words += f" at {request.decided_at:%Y-%m-%d %H:%M:%S} UTC"
    return words


def _grant_notices(session: Session, request: AccessRequest, now: datetime, settings: AccessSettings,
                   template: str | None = None) -> list[Notice]:
    """Tell every approver of a grant, each with their own links to end it and to see its log.

    The one who approved gets "granted", the others "approved" (by someone else), unless
    ``template`` names one for all (break-glass).
    """
    notices = []
    for contact in request.account.approvers:
        email = contact.email
        log_until = now + timedelta(days=settings.log_link_days)
        links = {"revoke": new_token(session, request, "revoke", email, request.ends_at),
                 "log": new_token(session, request, "log", email, log_until)}
        chosen = template or ("granted" if email == request.decided_by else "approved")
        notices.append(Notice(chosen, email, request, links))
    return notices


def revoke(session: Session, token: AccessToken, now: datetime) -> list[Notice]:
    """End a grant at the customer's word; it stops at the agent's next request."""
    request = token.request
    ended = _end(session, request, now, "revoked", token.contact_email, contact_email=token.contact_email)
    if ended is None:
        raise TokenError(f"This access is not active any more ({describe(request, now)}).", 409)
    token.used_at = now
    notifications.access_decided(session, request, "revoked", token.contact_email, now)
    return ended


def revoke_by_operator(session: Session, request: AccessRequest, now: datetime) -> list[Notice]:
    """End a grant from the command line (``flask access revoke``)."""
    ended = _end(session, request, now, "revoked", "an operator", detail="by an operator")
    if ended is None:
        raise ServiceError(f"grant {request.id} is not active ({describe(request, now)})")
    return ended


def end_grant(session: Session, agent: Agent, request: AccessRequest, now: datetime) -> list[Notice]:
    """End one's own grant before its time."""
    if request.agent_id != agent.id:
        raise ServiceError("only the agent who holds a grant may end it")
    ended = _end(session, request, now, "ended", agent.email, agent_id=agent.id)
    if ended is None:
        raise ServiceError(f"the access is not active ({describe(request, now)})")
    return ended


def _end(session: Session, request: AccessRequest, now: datetime, reason: str, by: str,
         **who) -> list[Notice] | None:
    """End a grant in force now; return the notices, or None when it was not in force."""
    # policy.is_in_force, as the UPDATE's condition.
    in_force = [AccessRequest.status == "approved", AccessRequest.ended_at.is_(None),
                AccessRequest.starts_at <= now, AccessRequest.ends_at > now]
    if not change_if(session, request, in_force, ended_at=now, end_reason=reason, ended_by=by,
                 end_noticed_at=now):
        return None
    _audit(session, f"grant {reason}", request, now, **who)
    session.flush()
    return [Notice("ended", c.email, request) for c in request.account.approvers]


def expire_request(session: Session, request: AccessRequest, now: datetime) -> None:
    """Mark an undecided request past its time as expired, which denies it."""
    if change_if(session, request, [*PENDING, AccessRequest.decide_by <= now], status="expired"):
        _audit(session, "request expired", request, now, detail="no decision in time: denied")
        session.flush()


def expire_due(session: Session, now: datetime) -> list[Notice]:
    """Expire undecided requests and note grants that ran out; return the emails to send."""
    for request in session.scalars(select(AccessRequest).where(
            AccessRequest.status == "pending", AccessRequest.decide_by <= now)):
        expire_request(session, request, now)
    notices: list[Notice] = []
    for request in session.scalars(select(AccessRequest).where(
            AccessRequest.status == "approved", AccessRequest.end_noticed_at.is_(None),
            AccessRequest.ends_at <= now)):
        if not change_if(session, request, [AccessRequest.end_noticed_at.is_(None)], end_noticed_at=now,
                     end_reason=request.end_reason or "expired"):
            continue  # another worker noticed it first
        _audit(session, "grant expired", request, now,
               detail=f"ended at {request.ends_at:%Y-%m-%d %H:%M} UTC")
        notices += [Notice("ended", c.email, request) for c in request.account.approvers]
    session.flush()
    return notices


def break_glass(session: Session, manager: Agent, account: Account, scope: str, reason: str,
                now: datetime) -> AccessRequest:
    """Ask a second manager to confirm access without the customer; at most one hour."""
    if manager.role != MANAGER:
        raise ServiceError("only a manager may open records without the customer's approval")
    reason = reason.strip()
    if len(reason) < 20:
        raise ServiceError("write the reason in full (20 characters or more): the customer will read it")
    if scope not in REQUEST_SCOPES:
        raise ServiceError(f"the scope must be one of {', '.join(REQUEST_SCOPES)}")
    request = AccessRequest(account=account, agent=manager, scope=scope, reason=reason[:MAX_REASON_CHARS],
                            minutes=BREAK_GLASS_MINUTES, status="awaiting_confirmation", requested_at=now,
                            decide_by=now + timedelta(hours=1), break_glass=True)
    session.add(request)
    session.flush()
    _audit(session, "BREAK-GLASS requested", request, now, agent_id=manager.id, detail=reason)
    return request


def confirm_break_glass(session: Session, second: Agent, request: AccessRequest, now: datetime,
                        settings: AccessSettings) -> list[Notice]:
    """A second manager confirms break-glass access; the approvers are told at once."""
    if second.role != MANAGER or second.id == request.agent_id:
        raise ServiceError("break-glass access needs a second manager, not the one who asked")
    waiting = [AccessRequest.status == "awaiting_confirmation", AccessRequest.decide_by > now]
    if not change_if(session, request, waiting, status="approved", confirmed_by_id=second.id, decided_at=now,
                 decided_by=second.email, starts_at=now,
                 ends_at=now + timedelta(minutes=BREAK_GLASS_MINUTES)):
        raise ServiceError("this break-glass request is not waiting for confirmation any more")
    _audit(session, "BREAK-GLASS opened", request, now, agent_id=second.id,
           detail=f"confirmed for {request.agent.name}: {request.reason}")
    session.flush()
    return _grant_notices(session, request, now, settings, template="break_glass")


def note_view(session: Session, agent: Agent, request: AccessRequest, kind: str, record_id: int | None,
              now: datetime) -> None:
    """Write a record view (or a list, with ``record_id`` None) to the audit log under its grant."""
    action = "record viewed" if record_id is not None else "records listed"
    _audit(session, action, request, now, agent_id=agent.id, record_kind=kind, record_id=record_id)


def describe(request: AccessRequest, now: datetime) -> str:
    """Say in a few words where a request stands at ``now``."""
    if request.status == "approved":
        if request.ended_at is not None:
            by = f" by {request.ended_by}" if request.ended_by else ""
            return f"{request.end_reason} at {request.ended_at:%Y-%m-%d %H:%M} UTC{by}"
        if now >= request.ends_at:
            return f"expired at {request.ends_at:%Y-%m-%d %H:%M} UTC"
        return "active"
    if request.status == "pending" and now >= request.decide_by:
        return "expired without a decision"
    return request.status.replace("_", " ")






def remaining_minutes(request: AccessRequest, now: datetime) -> int:
    """Return the whole minutes a grant still runs (zero unless it is in force)."""
    return int(remaining(as_grant(request), now).total_seconds() // 60)




def request_summary(request: AccessRequest, now: datetime) -> dict:
    """Return a request as a row for printing or JSON: no reason text beyond the first line."""
    return {"id": request.id, "account": request.account.name, "agent": request.agent.email,
            "scope": request.scope + (" (break-glass)" if request.break_glass else ""),
            "state": describe(request, now),
            "requested_at": request.requested_at.isoformat(timespec="seconds"),
            "ends_at": request.ends_at.isoformat(timespec="seconds") if request.ends_at else ""}




PENDING = (AccessRequest.status == "pending",)






def _audit(session: Session, action: str, request: AccessRequest, now: datetime, **fields) -> None:
    audit.append(session, action, at=now, account_id=request.account_id, request_id=request.id, **fields)


