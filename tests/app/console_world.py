"""A small world for console tests: an account whose records have distinctive strings,
a ticket with an HTML message and attachments, an unmatched ticket, one agent per role, and
a privacy policy version in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app.access import grants
from app.extensions import db
from app.models import Job, PolicyVersion, utcnow
from app.services.mailboxes import add_mailbox
from tests import factories
from tests.dovecot import free_port

ROLES = ("agent", "manager", "admin")
# Strings that exist only in the account's records: no page may ever show one.
RECORD_STRINGS = (
    "Quetzal-Job-Title-4471", "Obsidian-Job-Description-9031", "Marmalade-Task-Title-2210",
    "Pangolin-Task-Notes-5512", "Zeppelin-Todo-Text-7783", "Fennimore-Employee-Name-3390",
    "fennimore.secret@leaky.example", "Gorgonzola-Employee-Notes-6604",
)


@dataclass(frozen=True)
class World:
    account_id: int
    ticket_id: int
    message_id: int
    attachment_id: int
    unmatched_ticket_id: int
    unmatched_message_id: int
    job_id: int
    request_id: int
    agent_id: int
    mailbox_id: int
    policy_version_id: int


def build(app) -> World:
    """Create the world in the application's database and return its ids."""
    with app.app_context():
        session = db.session
        account = factories.account(session, "Leaky Widgets", domains=["leaky.example"],
                                    contacts=["ops@leaky.example"], approvers=["boss@leaky.example"])
        job, job_text, task, task_notes, todo, name, email, notes = RECORD_STRINGS
        factories.records(session, "Leaky Widgets",
                          jobs=[{"title": job, "description": job_text}],
                          tasks=[{"title": task, "notes": task_notes}],
                          todos=[{"text": todo}],
                          employees=[{"name": name, "email": email, "notes": notes}])
        message = factories.archived(session, factories.html_message(
            1, sender="boss@leaky.example", html="<p>Our <b>export</b> fails.</p>",
            attachments=(("export.csv", "text/csv", b"a,b\r\n1,2\r\n"),)))
        stranger = factories.archived(session, factories.message(2, sender="someone@elsewhere.example"))
        staff = {role: factories.agent(session, f"{role}@desk.example", name=f"{role.title()} Person",
                                       role=role) for role in ROLES}
        factories.agent(session, "disabled@desk.example", name="Disabled Person")
        # A request nobody has answered: it opens nothing.
        request, _ = grants.request_access(session, staff["agent"], account, "both", "Checking the export",
                                           1, utcnow(), grants.AccessSettings())
        # A mailbox whose server is not there: its pages answer at once, saying so. Paused,
        # so that the polls of tests that use this world leave it alone.
        mailbox = add_mailbox(session, "unreachable", host="127.0.0.1", port=free_port(), security="none",
                              username="support", password_env=factories.PASSWORD_ENV, folders=["INBOX"])
        mailbox.paused_at = utcnow()
        # A privacy policy version in force since yesterday, written quietly (no audit entry, no
        # notices owed), so that workers started on this world have no notice to send.
        version = PolicyVersion(text="We keep what you send us.", summary="The first version.",
                                effective_on=utcnow().date() - timedelta(days=1))
        session.add(version)
        session.commit()
        job_id = session.scalar(select(Job.id).where(Job.account_id == account.id))
        return World(account.id, message.ticket_id, message.id, message.attachments[0].id,
                     stranger.ticket_id, stranger.id, job_id, request.id, staff["agent"].id, mailbox.id,
                     version.id)
