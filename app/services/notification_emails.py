"""Emailing agents the notifications they chose to get by email, each once, from any number of workers.

The notification rows that ask for an email are the outbox. Each run takes the rows not
sent yet and, for each in turn: claims it with one conditional UPDATE (not sent, and no
worker's lease on it running), committed before anything is sent, so that when two
workers reach the same row the database lets one through and the other moves on; sends
it through ``SMTP_URL`` from the desk's name and ``SUPPORT_ADDRESS``; and records in the
row that it was sent, or the error, which the next run tries again.

As with privacy policy notices (``app.services.policy_notices``), three failures in a row
end a run early, and a worker killed after the server took an email but before the row
says so leaves that email to be sent again once its lease ends: twice rather than never.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Notification
from app.services.errors import ServiceError
from app.services.notifications import path_of
from app.services.outbound import automatic_email, desk_sender, outbound_transport
from app.services.policy_notices import worker_name
from app.services.rows import change_if

FAILURES_IN_A_ROW = 3
LEASE_TIMEOUTS = 4
MAX_ERROR_CHARS = 2_000
WIDTH = 72
SUBJECTS = {"assigned": "Assigned to you", "answered": "A customer answered",
            "access": "Your access to records", "grant_ending": "Your access to records ends soon"}


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    last_error: str | None = None


def _unclaimed(now: datetime):
    return or_(Notification.lease_until.is_(None), Notification.lease_until <= now)


def _unsent():
    return (Notification.by_email.is_(True), Notification.email_sent_at.is_(None))


def due_ids(session: Session, now: datetime) -> list[int]:
    """Return the unsent emails nobody holds (or whose lease ran out), oldest first."""
    return list(session.scalars(select(Notification.id).where(*_unsent(), _unclaimed(now))
                                .order_by(Notification.id)))


def claim(session: Session, notification: Notification, now: datetime, lease: timedelta, worker: str) -> bool:
    """Take the email for sending until ``now + lease``, unless it is sent or another worker holds it."""
    return change_if(session, notification, [*_unsent(), _unclaimed(now)], lease_until=now + lease,
                     claimed_by=worker, attempts=Notification.attempts + 1, last_tried_at=now)


def record_sent(session: Session, notification: Notification, now: datetime) -> None:
    """Mark the email sent; an earlier error stays in the row, as its history."""
    change_if(session, notification, list(_unsent()), email_sent_at=now, lease_until=None)


def record_failure(session: Session, notification: Notification, error: str, worker: str) -> None:
    """Keep the error and give the email back for the next run, while the claim is still ours."""
    change_if(session, notification, [*_unsent(), Notification.claimed_by == worker],
              last_error=error[:MAX_ERROR_CHARS], lease_until=None)


def send_due(session: Session, clock: Callable[[], datetime], send: Callable[[Notification], None],
             lease: timedelta, should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Claim, send and record each due email in turn, committing each step; return what happened."""
    report, worker = SendReport(), worker_name()
    due = due_ids(session, clock())
    session.commit()
    in_a_row = 0
    for notification_id in due:
        if should_stop() or in_a_row >= FAILURES_IN_A_ROW:
            break
        notification = session.get(Notification, notification_id)
        if not claim(session, notification, clock(), lease, worker):
            session.rollback()  # sent or taken by another worker meanwhile
            continue
        session.commit()  # every other worker sees the claim before the email leaves
        try:
            send(notification)
        except ServiceError as exc:
            record_failure(session, notification, str(exc), worker)
            session.commit()
            report.failed, report.last_error, in_a_row = report.failed + 1, str(exc), in_a_row + 1
            continue
        record_sent(session, notification, clock())
        session.commit()
        report.sent, in_a_row = report.sent + 1, 0
    return report


def send_notification_emails(session: Session, clock: Callable[[], datetime],
                             should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Send the due emails through ``SMTP_URL``; raise ``ServiceError`` when it is not set."""
    config = current_app.config
    transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])

    def send(notification: Notification) -> None:
        to = notification.agent.email
        transport.send(notification_email(notification), config["SUPPORT_ADDRESS"], [to])

    lease = timedelta(seconds=LEASE_TIMEOUTS * config["SMTP_TIMEOUT_SECONDS"])
    return send_due(session, clock, send, lease, should_stop)


def notification_email(notification: Notification) -> bytes:
    """Return the email of a notification: what happened, when, and the link to the page it is about."""
    config = current_app.config
    link = config["PUBLIC_URL"] + path_of(notification)
    paragraphs = [
        f"Hello {notification.agent.name},",
        f"{notification.text}.",
        f"Open it in the console: {link}",
        f"This happened at {notification.created_at:%Y-%m-%d %H:%M} UTC. You get this email because "
        "your settings in the console ask for it; change them at "
        f"{config['PUBLIC_URL']}/settings",
    ]
    body = "\n\n".join(_wrapped(p) for p in paragraphs) + "\n"
    about = f"ticket #{notification.ticket_id}" if notification.ticket_id else ""
    subject = " ".join(part for part in (SUBJECTS[notification.kind] + (":" if about else ""), about) if part)
    return automatic_email(desk_sender(config), notification.agent.email, subject, body)


def _wrapped(paragraph: str) -> str:
    # Links are never broken across lines: a client would cut them where the line ends.
    return textwrap.fill(paragraph, WIDTH, break_long_words=False, break_on_hyphens=False)
