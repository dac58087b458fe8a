"""Emailing the notices of a privacy policy version, each once, from any number of workers.

The ``policy_notice`` rows are an outbox (``app.services.outbox``): each run sends the
notices not sent yet whose address is still a contact of its account, through
``SMTP_URL``, each claimed by one worker before it leaves. A notice the mail server refused
or could not take keeps its error and is tried again by the next run; SMTP gives no way to
ask a server whether it already has a message, so a worker killed between the server's
acceptance and the row's update sends that one notice twice rather than never.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from flask import current_app, render_template
from flask_babel import format_date, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.i18n import in_locale
from app.models import Contact, PolicyNotice, PolicyVersion
from app.services import contact_languages
from app.services.outbound import automatic_email, desk_sender, outbound_transport
from app.services.outbox import Outbox, SendReport, lease_for

PUBLIC_PATH = "/privacy"


def version_path(version: PolicyVersion) -> str:
    """Return the public page of a version, from the site's root."""
    return f"{PUBLIC_PATH}/versions/{version.id}"


OUTBOX = Outbox(PolicyNotice, PolicyNotice.sent_at)


def _still_a_contact():
    return select(Contact.id).where(Contact.account_id == PolicyNotice.account_id,
                                    Contact.email == PolicyNotice.email).exists()


def send_policy_notices(session: Session, clock: Callable[[], datetime],
                        should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Send the due notices through ``SMTP_URL``; raise ``ServiceError`` when it is not set."""
    config = current_app.config
    transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])
    sender = config["SUPPORT_ADDRESS"]

    def send(notice: PolicyNotice) -> None:
        transport.send(notice_email(notice, clock().date()), sender, [notice.email])

    lease = lease_for(config["SMTP_TIMEOUT_SECONDS"])
    return OUTBOX.send_due(session, clock, send, lease, should_stop, also=[_still_a_contact()])


def notice_email(notice: PolicyNotice, today: date) -> bytes:
    """Return the notice's email: what changed, from when, where to read it, whom to ask."""
    config = current_app.config
    version = notice.version
    ahead = version.effective_on > today
    with in_locale(contact_languages.language_of(db.session, notice.account_id, notice.email)):
        body = render_template("mail/policy_notice.txt", notice=notice, version=version, ahead=ahead,
                               version_url=config["PUBLIC_URL"] + version_path(version),
                               summary=_indented(version.summary))
        day = format_date(version.effective_on, "long")
        subject = (gettext("Our privacy policy changes on %(day)s", day=day) if ahead
                   else gettext("Our privacy policy changed on %(day)s", day=day))
    return automatic_email(desk_sender(config), notice.email, subject, body)


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" if line.strip() else "" for line in text.splitlines())
