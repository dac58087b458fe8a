"""Emailing agents the notifications they chose to get by email, each once, from any number of workers.

The notification rows that ask for an email are an outbox (``app.services.outbox``), as
privacy policy notices are: each run sends the ones not sent yet through ``SMTP_URL``, from
the desk's name and ``SUPPORT_ADDRESS``, each claimed by one worker before it leaves, and a
refused one is tried again by the next run.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.models import Notification
from app.services.notifications import path_of
from app.services.outbound import automatic_email, desk_sender, outbound_transport
from app.services.outbox import Outbox, SendReport, lease_for

WIDTH = 72
SUBJECTS = {"assigned": "Assigned to you", "answered": "A customer answered",
            "access": "Your access to records", "grant_ending": "Your access to records ends soon"}


OUTBOX = Outbox(Notification, Notification.email_sent_at, wanted=[Notification.by_email.is_(True)])


def send_notification_emails(session: Session, clock: Callable[[], datetime],
                             should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Send the due emails through ``SMTP_URL``; raise ``ServiceError`` when it is not set."""
    config = current_app.config
    transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])

    def send(notification: Notification) -> None:
        to = notification.agent.email
        transport.send(notification_email(notification), config["SUPPORT_ADDRESS"], [to])

    return OUTBOX.send_due(session, clock, send, lease_for(config["SMTP_TIMEOUT_SECONDS"]), should_stop)


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
