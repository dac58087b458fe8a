"""Linking a message of no account to an account, safely: a sentence saying when the sender's
domain is not one of the account's, an account made from the sender's domain through the
accounts service (with every check it makes), and the link kept as a change that can be undone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Account, Agent, Message, TicketChange
from app.services import accounts, audit, tickets
from app.services.changes import Scope, record_change, snapshot
from app.services.errors import ServiceError


def sender_domain(message: Message) -> str:
    """Return the domain of the message's sender, lower case, or "" when it names none."""
    return message.from_addr.rpartition("@")[2].strip().lower() if "@" in message.from_addr else ""


def mismatch(message: Message, account: Account) -> str | None:
    """Say, when the sender's domain is not one of the account's, what linking would do."""
    domains = [d.domain for d in account.domains]
    if sender_domain(message) and sender_domain(message) in domains:
        return None
    owned = f"whose domains are {', '.join(domains)}" if domains else "which has no mail domain"
    return f"mail from {message.from_addr or '(no sender)'} will be linked to {account.name}, {owned}"


def link(session: Session, message: Message, account_id: int, actor: Agent, now: datetime) -> TicketChange:
    """Link the message to the account, as a change that can be undone."""
    if message.ticket is None:  # every archived message has one; its history shows the link
        raise ServiceError("the message is in no ticket, so the link could not be recorded")
    scope = Scope.of(messages=[message.id], tickets=[message.ticket_id])
    before = snapshot(session, scope)
    account = tickets.link_message(session, message, account_id, actor)
    summary = f"message {message.id} linked to {account.name}"
    event = next((e for e in reversed(message.ticket.events) if e.kind == "link_account"), None)
    change = record_change(session, "link", ticket=message.ticket, event=event, actor=actor, now=now,
                           summary=summary, before=before, scope=scope)
    audit.append(session, "message linked", at=now, agent_id=actor.id, account_id=account.id,
                 detail=f"{summary}, by {actor.email}")
    return change


def account_from_sender(session: Session, message: Message, actor: Agent, now: datetime) -> Account:
    """Create an account named after the sender's domain, with that domain and the sender as contact."""
    domain = sender_domain(message)
    if not domain:
        raise ServiceError("the message names no sender address, so no account can be made from it; "
                           "link it to an existing account instead", "account")
    if domain in accounts.PUBLIC_MAIL_DOMAINS:
        raise ServiceError(f"{domain} is a public mail provider, which names no company: "
                           "link the message to an existing account instead", "account")
    try:
        return accounts.create_account(session, domain, [domain], [message.from_addr], [], by=actor, now=now)
    except ServiceError as exc:
        raise ServiceError(f"{exc}; link the message to an existing account instead", "account") from exc
