"""Sample accounts and sample mail, so a newcomer has something to look at and search.

The mail is written here, by the product, and archived through the same ingestion
entry point as the poller; seeding twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account
from app.rawstore import RawStore
from app.services.accounts import add_account
from mailbox.ingest import Archiver, BatchResult, Seen

ACCOUNTS = (
    ("Acme Plumbing", ["acme-plumbing.example"], ["ops@acme-plumbing.example"],
     ["owner@acme-plumbing.example"]),
    ("Birch & Co Landscaping", ["birchco.example"], [], ["maria@birchco.example"]),
    ("Copperline Electric", ["copperline.example"], ["office@copperline.example"], []),
)

CONVERSATIONS = (
    ("owner@acme-plumbing.example", "Invoices missing from the March export",
     "Hello, the March export of our invoices stops at the 14th. Could you check why?",
     "Thanks, I re-ran the export and it still ends on the 14th."),
    ("maria@birchco.example", "Cannot add a new crew member",
     "When I add a new employee the form says the email is taken, but it is not.",
     "It worked after I removed the trailing space. Sorry for the noise!"),
    ("office@copperline.example", "Scheduling calendar shows the wrong time zone",
     "Our jobs appear an hour late on the calendar since the clocks changed.",
     None),
    ("tom@unknown-customer.example", "Question about pricing for 40 technicians",
     "We are evaluating your service for a team of 40 field technicians.",
     None),
)


def seed(session: Session, store: RawStore, tag_prefix: str) -> tuple[int, BatchResult]:
    """Create the sample accounts that are missing and archive the sample mail."""
    created = 0
    for name, domains, contacts, approvers in ACCOUNTS:
        if session.scalar(select(Account).where(Account.name == name)) is None:
            add_account(session, name, domains, contacts, approvers)
            created += 1
    session.commit()
    archiver = Archiver(session, store, tag_prefix=tag_prefix)
    result = archiver.archive([(raw, Seen(source=f"demo:{n}"))
                               for n, raw in enumerate(sample_messages())])
    session.commit()
    return created, result


def sample_messages() -> list[bytes]:
    """Return the sample conversations as raw messages, replies threaded by In-Reply-To."""
    start = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    raws = []
    for number, (sender, subject, first, follow_up) in enumerate(CONVERSATIONS):
        when = start + timedelta(days=number, hours=number)
        msgid = f"<sample-{number}@{sender.split('@')[1]}>"
        raws.append(_message(sender, subject, first, when, msgid))
        if follow_up:
            raws.append(_message(sender, f"Re: {subject}", follow_up, when + timedelta(hours=3),
                                 make_msgid(domain=sender.split("@")[1]), reply_to=msgid))
    return raws


def _message(sender: str, subject: str, body: str, when: datetime, msgid: str,
             reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msgid
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    msg.set_content(body)
    return msg.as_bytes()
