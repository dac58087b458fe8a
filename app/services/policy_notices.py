"""Emailing the notices of a privacy policy version, each once, from any number of workers.

Each run looks for the notices not sent yet whose address is still a contact of its
account, and for each in turn: claims it with one conditional UPDATE (not sent, and no
worker's lease on it running), committed before anything is sent, so that when two
workers reach the same row the database lets one claim through and the other moves on;
sends it through ``SMTP_URL``; and records in the row that it was sent, or the error.

A notice the mail server refused or could not take keeps its error and is tried again
by the next run. Three failures in a row end a run early: the server is most likely down,
and every other notice would wait its timeout for nothing.

A claim lasts ``LEASE_TIMEOUTS`` SMTP timeouts. A worker killed after the server took an
email but before the row says so leaves that notice to be sent again once its lease
ends: SMTP gives no way to ask a server whether it already has a message, so that one
case sends twice rather than never.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Contact, PolicyNotice, PolicyVersion
from app.services.errors import ServiceError
from app.services.outbound import automatic_email, desk_sender, outbound_transport
from app.services.rows import change_if

FAILURES_IN_A_ROW = 3
LEASE_TIMEOUTS = 4
MAX_ERROR_CHARS = 2_000
PUBLIC_PATH = "/privacy"


def version_path(version: PolicyVersion) -> str:
    """Return the public page of a version, from the site's root."""
    return f"{PUBLIC_PATH}/versions/{version.id}"


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    last_error: str | None = None


def worker_name() -> str:
    """Return who claims a notice: this machine and process, as a claim's row shows it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def due_notice_ids(session: Session, now: datetime) -> list[int]:
    """Return the unsent notices nobody holds (or whose lease ran out) to addresses still contacts."""
    still_a_contact = select(Contact.id).where(Contact.account_id == PolicyNotice.account_id,
                                               Contact.email == PolicyNotice.email).exists()
    return list(session.scalars(
        select(PolicyNotice.id)
        .where(PolicyNotice.sent_at.is_(None), _unclaimed(now), still_a_contact)
        .order_by(PolicyNotice.id)))


def _unclaimed(now: datetime):
    return or_(PolicyNotice.lease_until.is_(None), PolicyNotice.lease_until <= now)


def claim(session: Session, notice: PolicyNotice, now: datetime, lease: timedelta, worker: str) -> bool:
    """Take the notice for sending until ``now + lease``, unless it is sent or another worker holds it."""
    return change_if(session, notice, [PolicyNotice.sent_at.is_(None), _unclaimed(now)],
                     lease_until=now + lease, claimed_by=worker, attempts=PolicyNotice.attempts + 1,
                     last_tried_at=now)


def record_sent(session: Session, notice: PolicyNotice, now: datetime) -> None:
    """Mark the notice sent; an earlier error stays in the row, as its history."""
    change_if(session, notice, [PolicyNotice.sent_at.is_(None)], sent_at=now, lease_until=None)


def record_failure(session: Session, notice: PolicyNotice, error: str, worker: str) -> None:
    """Keep the error and give the notice back for the next run, while the claim is still ours."""
    change_if(session, notice, [PolicyNotice.sent_at.is_(None), PolicyNotice.claimed_by == worker],
              last_error=error[:MAX_ERROR_CHARS], lease_until=None)


def send_due(session: Session, clock: Callable[[], datetime], send: Callable[[PolicyNotice], None],
             lease: timedelta, should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Claim, send and record each due notice in turn, committing each step; return what happened."""
    report, worker = SendReport(), worker_name()
    due = due_notice_ids(session, clock())
    session.commit()
    in_a_row = 0
    for notice_id in due:
        if should_stop() or in_a_row >= FAILURES_IN_A_ROW:
            break
        notice = session.get(PolicyNotice, notice_id)
        if not claim(session, notice, clock(), lease, worker):
            session.rollback()  # sent or taken by another worker meanwhile
            continue
        session.commit()  # the claim is seen by every other worker before the email leaves
        try:
            send(notice)
        except ServiceError as exc:
            record_failure(session, notice, str(exc), worker)
            session.commit()
            report.failed, report.last_error, in_a_row = report.failed + 1, str(exc), in_a_row + 1
            continue
        record_sent(session, notice, clock())
        session.commit()
        report.sent, in_a_row = report.sent + 1, 0
    return report


def send_policy_notices(session: Session, clock: Callable[[], datetime],
                        should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Send the due notices through ``SMTP_URL``; raise ``ServiceError`` when it is not set."""
    config = current_app.config
    transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])
    sender = config["SUPPORT_ADDRESS"]

    def send(notice: PolicyNotice) -> None:
        transport.send(notice_email(notice, clock().date()), sender, [notice.email])

    lease = timedelta(seconds=LEASE_TIMEOUTS * config["SMTP_TIMEOUT_SECONDS"])
    return send_due(session, clock, send, lease, should_stop)


def notice_email(notice: PolicyNotice, today: date) -> bytes:
    """Return the notice's email: what changed, from when, where to read it, whom to ask."""
    config = current_app.config
    version = notice.version
    ahead = version.effective_on > today
    body = render_template("mail/policy_notice.txt", notice=notice, version=version, ahead=ahead,
                           version_url=config["PUBLIC_URL"] + version_path(version),
                           summary=_indented(version.summary))
    subject = (f"Our privacy policy {'changes' if ahead else 'changed'} on "
               f"{version.effective_on:%B} {version.effective_on.day}, {version.effective_on.year}")
    return automatic_email(desk_sender(config), notice.email, subject, body)


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" if line.strip() else "" for line in text.splitlines())
