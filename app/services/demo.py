"""Sample accounts, mail, records and agents, so a newcomer has something to look at and search.

The mail is written here, by the product, and archived through the same ingestion
entry point as the poller; records go through the same import as ``flask records import``.
The sample agents' passwords are published below and printed by ``flask demo seed``:
they are for trying the product out, never for a production database.
Seeding twice changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Agent, PolicyVersion
from app.rawstore import RawStore
from app.services.accounts import add_account
from app.services.agents import add_agent
from app.services.records import import_records, record_summary
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

# (email, name, role, password): one agent per role, with documented demo passwords.
AGENTS = (
    ("agent@desk.example", "Alex Agent", "agent", "demo-password-agent"),
    ("manager@desk.example", "Morgan Manager", "manager", "demo-password-manager"),
    ("admin@desk.example", "Ada Admin", "admin", "demo-password-admin"),
)

RECORDS = {
    "Acme Plumbing": {
        "jobs": [{"title": "Boiler replacement, 12 Elm Street", "description": "Remove the old "
                  "boiler, fit a condensing one, pressure-test the loop."},
                 {"title": "Leak under kitchen sink", "description": "Trap and waste pipe."}],
        "tasks": [{"title": "Order condensing boiler", "notes": "Ask the supplier for the 30 kW one."}],
        "todos": [{"text": "Renew the van insurance"}, {"text": "Send March invoices"}],
        "employees": [{"name": "Dana Pipe", "email": "dana@acme-plumbing.example",
                       "notes": "Gas Safe registered; on call Tuesdays."}],
    },
    "Birch & Co Landscaping": {
        "jobs": [{"title": "Spring planting at the library", "description": "Tulips and box hedges."}],
        "todos": [{"text": "Sharpen the mower blades"}],
        "employees": [{"name": "Maria Birch", "email": "maria@birchco.example", "notes": "Owner."},
                      {"name": "Sam Rowan", "email": "sam@birchco.example", "notes": "New crew member."}],
    },
    "Copperline Electric": {
        "tasks": [{"title": "Inspect the switchboard at the depot", "notes": "Bring the thermal camera."}],
    },
}


def seed_records(session: Session) -> int:
    """Import the sample records of each sample account that has none yet; return how many."""
    added = 0
    for name, kinds in RECORDS.items():
        account = session.scalar(select(Account).where(Account.name == name))
        if account is None or any(s.count for s in record_summary(session, account)):
            continue
        added += sum(import_records(session, {"account": name, **kinds})[1].values())
    return added


def seed_agents(session: Session) -> list[tuple[str, str, str, bool]]:
    """Create the sample agents that are missing; return (email, role, password, created) each."""
    seeded = []
    for email, name, role, password in AGENTS:
        exists = session.scalar(select(Agent).where(Agent.email == email)) is not None
        if not exists:
            add_agent(session, email, name, role, password)
        seeded.append((email, role, password, not exists))
    return seeded


def seed(session: Session, store: RawStore, tag_prefix: str) -> tuple[int, BatchResult]:
    """Create the sample accounts that are missing and archive the sample mail."""
    created = 0
    for name, domains, contacts, approvers in ACCOUNTS:
        if session.scalar(select(Account).where(Account.name == name)) is None:
            add_account(session, name, domains, contacts, approvers)
            created += 1
    if session.scalar(select(PolicyVersion.id).limit(1)) is None:
        # The sample desk's policy is in force from the start, as a policy a team brings
        # along is; a version published later gives contacts POLICY_NOTICE_DAYS of notice.
        session.add(PolicyVersion(text=SAMPLE_POLICY, summary="The policy the sample desk started with.",
                                  effective_on=date(2026, 1, 1), published_at=datetime(2025, 12, 1)))
    session.commit()
    archiver = Archiver(session, store, tag_prefix=tag_prefix)
    result = archiver.archive([(raw, Seen(source=f"demo:{n}"))
                               for n, raw in enumerate(sample_messages())])
    session.commit()
    return created, result


SAMPLE_POLICY = """Staff never look at your business records (jobs, tasks, todos) or your employee records
without your permission; without it, only their size and quantity may be reviewed.

All e-mail and other communications received from you are retained to help with your inquiries.

None of your company, personal, business or communication information is shared with any other
company or individual without your prior consent.

Cookies serve session security and your settings; request logs are used in aggregate.

Changes to this policy are announced to your company's contacts before they take effect."""


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
    raws.append(_html_message(start + timedelta(days=5)))
    return raws


def _html_message(when: datetime) -> bytes:
    """An HTML message with a remote logo (blocked until asked for) and a CSV attachment."""
    msg = EmailMessage()
    msg["From"] = "Birch & Co Accounts <accounts@birchco.example>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = "Payroll export attached: totals do not match"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = "<sample-html@birchco.example>"
    msg.set_content("Hello,\n\nThe payroll export totals do not match the screen. The export is attached.\n")
    msg.add_alternative(
        '<p><img src="https://birchco.example/logo.png" alt="Birch &amp; Co" width="120"></p>'
        "<p>Hello,</p><p>The <b>payroll export</b> totals do not match the screen "
        "(<span style=\"color:#a00\">1,240.00</span> against 1,420.00). The export is attached.</p>"
        "<p>Maria</p>", subtype="html")
    msg.add_attachment(b"employee,hours,total\r\nA,38,620.00\r\nB,40,620.00\r\n", maintype="text",
                       subtype="csv", filename="payroll-export.csv")
    return msg.as_bytes()


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
