"""Response targets of a ticket, as pure rules: what is due, when, and whether it was met.

A ticket's messages alternate between the customer waiting and the desk having answered.
The customer's first message starts the first-response target; after the desk has
written, the customer's next message starts a next-response target. A message from the
desk answers whatever was waiting. Each wait is due its target's business time after it
began (``app.business_hours``); a kind with no target set is never due.

Pure: the caller reads the messages (which ones count is its choice: a forward or an
auto-reply answers or asks nothing) and passes ``now``; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.business_hours import DEFAULT_HOURS, BusinessHours, add_business_time

FIRST, NEXT = "first", "next"
KINDS = {FIRST: "first response", NEXT: "next response"}
MET, MISSED = "met", "missed"


@dataclass(frozen=True)
class Targets:
    """The targets that apply to a ticket: minutes of business time per kind (None: no target)."""

    first_minutes: int | None = None
    next_minutes: int | None = None
    hours: BusinessHours = DEFAULT_HOURS

    def minutes(self, kind: str) -> int | None:
        return self.first_minutes if kind == FIRST else self.next_minutes


NO_TARGETS = Targets()


@dataclass(frozen=True)
class Wait:
    """The customer waiting for the desk: since when, answered when, due when."""

    kind: str  # FIRST or NEXT
    asked: datetime
    answered: datetime | None
    due: datetime | None  # None: no target of this kind

    def outcome(self, now: datetime) -> str | None:
        """Return MET or MISSED once the wait is settled by ``now``, else None (or no target)."""
        if self.due is None:
            return None
        if self.answered is not None:
            return MET if self.answered <= self.due else MISSED
        return MISSED if now > self.due else None

    def settled_at(self, now: datetime) -> datetime | None:
        """Return when the outcome was decided: the answer that met it, or the due time it missed."""
        outcome = self.outcome(now)
        if outcome is None:
            return None
        return self.answered if outcome == MET else self.due


def waits(messages: Iterable[tuple[datetime, bool]], targets: Targets) -> list[Wait]:
    """Return every wait of a ticket from its messages as (when, from the customer), oldest first."""
    found: list[Wait] = []
    asked: datetime | None = None
    answered_before = False
    for when, inbound in messages:
        if inbound and asked is None:
            asked = when
            kind = NEXT if answered_before else FIRST
        elif not inbound:
            if asked is not None:
                found.append(_wait(kind, asked, when, targets))
                asked = None
            answered_before = True
    if asked is not None:
        found.append(_wait(kind, asked, None, targets))
    return found


def _wait(kind: str, asked: datetime, answered: datetime | None, targets: Targets) -> Wait:
    minutes = targets.minutes(kind)
    due = None if minutes is None else add_business_time(targets.hours, asked, timedelta(minutes=minutes))
    return Wait(kind, asked, answered, due)


def now_due(found: list[Wait], closed: bool) -> Wait | None:
    """Return the wait a ticket has due now: the unanswered last one with a target; none once closed."""
    if closed or not found:
        return None
    last = found[-1]
    return last if last.answered is None and last.due is not None else None


def overdue_by(wait: Wait | None, now: datetime) -> timedelta | None:
    """Return how long past its due time the wait is at ``now``, or None if it is not overdue."""
    if wait is None or wait.due is None or now <= wait.due:
        return None
    return now - wait.due
