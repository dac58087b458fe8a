"""Saved replies: texts agents keep to answer common questions, shared or their own.

Every agent sees the shared replies and their own personal ones, never another agent's
personal ones. A shared reply is changed or removed by its author, a manager or an
administrator; a personal one by its author alone. Changes to shared replies are
written to the audit log, since they change what the whole team sends customers;
personal ones are the agent's own, like saved searches.

A reply's text may hold placeholders, filled when it is put in a reply box:
``{customer_name}`` (the display name of the message answered, else its address),
``{ticket_number}`` and ``{agent_name}``. An unknown one, such as a typo, is refused
when the reply is saved, so no customer ever receives a "{custmer_name}".
Services flush; callers commit.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.access.rules import is_managing
from app.models import Agent, SavedReply
from app.services import audit
from app.services.errors import ServiceError

MAX_TITLE_CHARS = 100
MAX_BODY_CHARS = 20_000
PLACEHOLDERS = ("customer_name", "ticket_number", "agent_name")
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]*)\}")


def visible(session: Session, agent: Agent) -> list[SavedReply]:
    """Return the replies the agent may use: shared ones and their own, by title."""
    return list(session.scalars(
        select(SavedReply).where(or_(SavedReply.shared.is_(True), SavedReply.author_id == agent.id))
        .order_by(SavedReply.title, SavedReply.id)))


def can_see(agent: Agent, reply: SavedReply) -> bool:
    return reply.shared or reply.author_id == agent.id


def can_edit(agent: Agent, reply: SavedReply) -> bool:
    """Say whether the agent may change or remove the reply."""
    return reply.author_id == agent.id or (reply.shared and is_managing(agent.role))


def find(session: Session, agent: Agent, reply_id: int) -> SavedReply | None:
    """Return the reply if the agent may see it; another agent's personal reply is not found."""
    reply = session.get(SavedReply, reply_id)
    return reply if reply is not None and can_see(agent, reply) else None


def check_text(title: str, body: str) -> None:
    """Refuse an empty or over-long title or text, or a placeholder the desk does not fill."""
    if not title.strip():
        raise ServiceError("give the reply a title", "title")
    if len(title.strip()) > MAX_TITLE_CHARS:
        raise ServiceError(f"the title is longer than {MAX_TITLE_CHARS} characters", "title")
    if not body.strip():
        raise ServiceError("the reply's text is empty", "body")
    if len(body) > MAX_BODY_CHARS:
        raise ServiceError(f"the text is longer than {MAX_BODY_CHARS} characters", "body")
    unknown = [name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS]
    if unknown:
        known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        raise ServiceError(f"{{{unknown[0][:40]}}} is not a placeholder the desk fills; use {known}", "body")


def create(session: Session, agent: Agent, title: str, body: str, shared: bool, now: datetime) -> SavedReply:
    """Save a new reply written by the acting agent."""
    check_text(title, body)
    reply = SavedReply(author_id=agent.id, title=title.strip(), body=_tidy(body), shared=shared,
                       created_at=now, updated_at=now)
    session.add(reply)
    session.flush()
    if shared:
        _audit(session, "saved reply added", agent, reply, now)
    return reply


def update(session: Session, agent: Agent, reply: SavedReply, title: str, body: str, shared: bool,
           now: datetime) -> SavedReply:
    """Change a reply the agent may change; only its author may make it personal again."""
    _check_may_edit(agent, reply)
    check_text(title, body)
    if reply.shared and not shared and reply.author_id != agent.id:
        raise ServiceError("only its author can make a shared reply personal", "shared")
    was_shared = reply.shared
    reply.title, reply.body, reply.shared, reply.updated_at = title.strip(), _tidy(body), shared, now
    session.flush()
    if was_shared or shared:
        _audit(session, "saved reply changed", agent, reply, now)
    return reply


def delete(session: Session, agent: Agent, reply: SavedReply, now: datetime) -> None:
    """Remove a reply the agent may change."""
    _check_may_edit(agent, reply)
    if reply.shared:
        _audit(session, "saved reply removed", agent, reply, now)
    session.delete(reply)
    session.flush()


def fill(text: str, *, customer_name: str, ticket_number: int, agent_name: str) -> str:
    """Return the text with its placeholders filled; anything else in braces is left as written."""
    values = {"customer_name": customer_name, "ticket_number": str(ticket_number), "agent_name": agent_name}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _check_may_edit(agent: Agent, reply: SavedReply) -> None:
    if not can_edit(agent, reply):
        raise ServiceError("only its author can change a personal reply, and only its author, a manager "
                           "or an administrator a shared one")


def _tidy(body: str) -> str:
    return body.replace("\r\n", "\n").strip("\n")


def _audit(session: Session, action: str, agent: Agent, reply: SavedReply, now: datetime) -> None:
    kind = "shared" if reply.shared else "now personal"
    audit.append(session, action, at=now, agent_id=agent.id,
                 detail=f"{reply.title!r} ({kind}, id {reply.id})")
