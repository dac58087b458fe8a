"""Emails kept as database rows and sent by any number of workers, each row once.

Privacy policy notices to contacts and notifications emailed to agents are such outboxes.
A row holds what to send and its sending state: ``lease_until``, ``claimed_by``,
``attempts``, ``last_tried_at`` and ``last_error``, and a column that says when it was
sent. Each run takes the rows not sent yet and, for each in turn: claims it with one
conditional UPDATE (not sent, and no worker's lease on it running), committed before
anything is sent, so that when two workers reach the same row the database lets one
through and the other moves on; sends it; and records in the row that it was sent, or the
error, which the next run tries again.

Three failures in a row end a run early (the mail server is down, and every later row would
wait out its timeout too). A claim lasts ``LEASE_TIMEOUTS`` SMTP timeouts: a worker killed
after the server took an email but before the row says so leaves that email to be sent
again once its lease ends, twice rather than never.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.services.errors import ServiceError
from app.services.rows import change_if

FAILURES_IN_A_ROW = 3
LEASE_TIMEOUTS = 4
MAX_ERROR_CHARS = 2_000


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    last_error: str | None = None


def worker_name() -> str:
    """Return who claims a row: this machine and process, as a claim's row shows it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_for(smtp_timeout_seconds: float) -> timedelta:
    """Return how long a claim lasts: long enough for a send that waits out its timeouts."""
    return timedelta(seconds=LEASE_TIMEOUTS * smtp_timeout_seconds)


@dataclass(frozen=True)
class Outbox:
    """One table of emails to send: its model, its sent column, and which rows want sending."""

    model: Any
    sent_at: InstrumentedAttribute
    # Conditions every row to send meets besides not being sent (an agent's notification
    # that asks for no email is no email to send).
    wanted: Sequence[ColumnElement[bool]] = ()

    def _unsent(self) -> list[ColumnElement[bool]]:
        return [*self.wanted, self.sent_at.is_(None)]

    def _unclaimed(self, now: datetime) -> ColumnElement[bool]:
        return or_(self.model.lease_until.is_(None), self.model.lease_until <= now)

    def due_ids(self, session: Session, now: datetime, *also: ColumnElement[bool]) -> list[int]:
        """Return the unsent rows nobody holds (or whose lease ran out), oldest first."""
        return list(session.scalars(select(self.model.id).where(*self._unsent(), self._unclaimed(now), *also)
                                    .order_by(self.model.id)))

    def claim(self, session: Session, row, now: datetime, lease: timedelta, worker: str) -> bool:
        """Take the row for sending until ``now + lease``, unless it is sent or another worker holds it."""
        return change_if(session, row, [*self._unsent(), self._unclaimed(now)], lease_until=now + lease,
                         claimed_by=worker, attempts=self.model.attempts + 1, last_tried_at=now)

    def record_sent(self, session: Session, row, now: datetime) -> None:
        """Mark the row sent; an earlier error stays in it, as its history."""
        change_if(session, row, self._unsent(), **{self.sent_at.key: now}, lease_until=None)

    def record_failure(self, session: Session, row, error: str, worker: str) -> None:
        """Keep the error and give the row back for the next run, while the claim is still ours."""
        change_if(session, row, [*self._unsent(), self.model.claimed_by == worker],
                  last_error=error[:MAX_ERROR_CHARS], lease_until=None)

    def send_due(self, session: Session, clock: Callable[[], datetime], send: Callable[[Any], None],
                 lease: timedelta, should_stop: Callable[[], bool] = lambda: False,
                 also: Sequence[ColumnElement[bool]] = ()) -> SendReport:
        """Claim, send and record each due row in turn, committing each step; return what happened.

        ``also`` narrows the rows chosen (a policy notice goes only to an address that is
        still a contact); ``send`` raises ``ServiceError`` when the email did not leave.
        """
        report, worker = SendReport(), worker_name()
        due = self.due_ids(session, clock(), *also)
        session.commit()
        in_a_row = 0
        for row_id in due:
            if should_stop() or in_a_row >= FAILURES_IN_A_ROW:
                break
            row = session.get(self.model, row_id)
            if not self.claim(session, row, clock(), lease, worker):
                session.rollback()  # sent or taken by another worker meanwhile
                continue
            session.commit()  # every other worker sees the claim before the email leaves
            try:
                send(row)
            except ServiceError as exc:
                self.record_failure(session, row, str(exc), worker)
                session.commit()
                report.failed, report.last_error, in_a_row = report.failed + 1, str(exc), in_a_row + 1
                continue
            self.record_sent(session, row, clock())
            session.commit()
            report.sent, in_a_row = report.sent + 1, 0
        return report
