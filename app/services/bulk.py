"""Changes to many tickets at once, from the queue: assign them, or set their status.

Each ticket is changed through the same service as a change to one ticket
(``tickets.assign``, ``tickets.set_status``), so each ticket's history names the agent
and the change exactly as a single change does; like those, a bulk change writes no
audit entry of its own. It is all or nothing: a ticket id that does not exist (or that
the agent may not see; today every agent sees every ticket) refuses the whole change
before anything is changed, and a refusal midway leaves the caller to roll back.
Services flush; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ids import MAX_ID
from app.models import Agent, Ticket
from app.services import tickets
from app.services.errors import ServiceError

MAX_TICKETS = 500  # far more than a page of the queue holds


@dataclass(frozen=True)
class BulkResult:
    named: int  # tickets the change named
    changed: int  # of them, tickets it changed (the others were so already)


def chosen_tickets(session: Session, agent: Agent, ticket_ids: list[int]) -> list[Ticket]:
    """Return the named tickets, in id order, or refuse them all naming the first one missing."""
    wanted = sorted(set(ticket_ids))
    if not wanted:
        raise ServiceError("no ticket was selected")
    if len(wanted) > MAX_TICKETS:
        raise ServiceError(f"at most {MAX_TICKETS} tickets can be changed at once")
    storable = [i for i in wanted if 0 < i <= MAX_ID]  # a larger number names no row, and binds to none
    found = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(storable)))}
    missing = [i for i in wanted if i not in found or not can_see(agent, found[i])]
    if missing:
        names = ", ".join(f"#{i}" for i in missing[:5]) + (" and more" if len(missing) > 5 else "")
        raise ServiceError(f"no ticket was changed, as {names} "
                           f"{'does' if len(missing) == 1 else 'do'} not exist or cannot be seen")
    return [found[i] for i in wanted]


def can_see(agent: Agent, ticket: Ticket) -> bool:
    """Say whether the agent may see the ticket: every enabled agent sees every ticket."""
    return not agent.disabled


def assign_all(session: Session, actor: Agent, ticket_ids: list[int], assignee_id: int | None) -> BulkResult:
    """Give every named ticket to an enabled agent, or to nobody (``None``)."""
    chosen = chosen_tickets(session, actor, ticket_ids)
    changed = sum(ticket.assignee_id != assignee_id for ticket in chosen)
    for ticket in chosen:
        tickets.assign(session, ticket, actor, assignee_id)
    return BulkResult(len(chosen), changed)


def set_status_all(session: Session, actor: Agent, ticket_ids: list[int], status: str) -> BulkResult:
    """Set every named ticket's status (open, pending, closed)."""
    chosen = chosen_tickets(session, actor, ticket_ids)
    changed = sum(ticket.status != status for ticket in chosen)
    for ticket in chosen:
        tickets.set_status(session, ticket, actor, status)
    return BulkResult(len(chosen), changed)


def summary(result: BulkResult, done: str) -> str:
    """Say what a bulk change did in one sentence: "3 tickets assigned to Dana."."""
    noun = "ticket" if result.named == 1 else "tickets"
    already = result.named - result.changed
    if already == 0 or result.named == 1:
        return f"{result.named} {noun} {done}."
    return f"{result.named} {noun} {done} ({already} {'was' if already == 1 else 'were'} so already)."
