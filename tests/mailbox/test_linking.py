"""The table of linking and threading cases, run through the real ``Archiver`` and database.

Every case starts from the same archive: two accounts and one conversation (a customer's
question and the desk's answer, one ticket), then archives one more message and checks
which account and which ticket it landed in, and the reasons stored for a person to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.models import Message, Ticket
from tests import factories

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"
QUESTION = "<question-1@acme.example>"
ANSWER = "<answer-1@desk.example>"
NEW_THREAD = "new ticket: not a reply to archived mail"
WRONG_ACCOUNT_TAG = ("new ticket: subject tag {tag} ignored, "
                     "the sender does not belong to that ticket's account")


@dataclass(frozen=True)
class Case:
    """One message to archive (factory arguments or a test mail file) and where it must land."""

    account: str | None
    joins_conversation: bool
    link_reason: str
    thread_reason: str
    mail: dict = field(default_factory=dict)
    file: str | None = None
    auto_reason: str | None = None


CASES = {
    "known contact": Case(
        mail={"sender": "owner@gmail.com"}, account="Acme Plumbing", joins_conversation=False,
        link_reason="sender owner@gmail.com is a contact of Acme Plumbing", thread_reason=NEW_THREAD,
    ),
    "known contact written in capitals": Case(
        mail={"sender": "Owner@GMAIL.com"}, account="Acme Plumbing", joins_conversation=False,
        link_reason="sender owner@gmail.com is a contact of Acme Plumbing", thread_reason=NEW_THREAD,
    ),
    "known domain": Case(
        mail={"sender": "jo@acme.example"}, account="Acme Plumbing", joins_conversation=False,
        link_reason="sender domain acme.example belongs to Acme Plumbing", thread_reason=NEW_THREAD,
    ),
    "unknown sender": Case(
        mail={"sender": "stranger@nowhere.example"}, account=None, joins_conversation=False,
        link_reason="unmatched: no account has the contact stranger@nowhere.example "
                    "or the domain nowhere.example",
        thread_reason=NEW_THREAD,
    ),
    "contact of two accounts": Case(
        mail={"sender": "consultant@freelance.example"}, account=None, joins_conversation=False,
        link_reason="unmatched: sender consultant@freelance.example is a contact of several "
                    "accounts (Acme Plumbing, Birch Landscaping)",
        thread_reason=NEW_THREAD,
    ),
    "reply by In-Reply-To": Case(
        mail={"sender": "pat@acme.example", "in_reply_to": ANSWER, "subject": "Re: export"},
        account="Acme Plumbing", joins_conversation=True,
        link_reason="sender domain acme.example belongs to Acme Plumbing",
        thread_reason=f"reply: In-Reply-To names {ANSWER} in ticket {{ticket}}",
    ),
    "reply by References only": Case(
        mail={"sender": "pat@acme.example", "references": [QUESTION, ANSWER]},
        account="Acme Plumbing", joins_conversation=True,
        link_reason="sender domain acme.example belongs to Acme Plumbing",
        thread_reason=f"reply: References names {ANSWER} in ticket {{ticket}}",
    ),
    "reply whose newest reference is unknown": Case(
        mail={"sender": "pat@acme.example", "references": [QUESTION, "<lost@elsewhere.example>"]},
        account="Acme Plumbing", joins_conversation=True,
        link_reason="sender domain acme.example belongs to Acme Plumbing",
        thread_reason=f"reply: References names {QUESTION} in ticket {{ticket}}",
    ),
    "subject tag from the ticket's account": Case(
        mail={"sender": "jo@acme.example", "subject": "Re: {tag} Invoice export fails"},
        account="Acme Plumbing", joins_conversation=True,
        link_reason="sender domain acme.example belongs to Acme Plumbing",
        thread_reason="subject tag {tag} from the ticket's account",
    ),
    "subject tag from a wrong account": Case(
        mail={"sender": "ann@birch.example", "subject": "Re: {tag} Invoice export fails"},
        account="Birch Landscaping", joins_conversation=False,
        link_reason="sender domain birch.example belongs to Birch Landscaping",
        thread_reason=WRONG_ACCOUNT_TAG,
    ),
    "subject tag from an unmatched sender": Case(
        mail={"sender": "stranger@nowhere.example", "subject": "{tag} let me in"},
        account=None, joins_conversation=False,
        link_reason="unmatched: no account has the contact stranger@nowhere.example "
                    "or the domain nowhere.example",
        thread_reason=WRONG_ACCOUNT_TAG,
    ),
    "subject tag naming no ticket": Case(
        mail={"sender": "jo@acme.example", "subject": "Re: [SD-999999] old ticket"},
        account="Acme Plumbing", joins_conversation=False,
        link_reason="sender domain acme.example belongs to Acme Plumbing", thread_reason=NEW_THREAD,
    ),
    "auto-reply (Auto-Submitted)": Case(
        file="auto-submitted-auto-replied.eml", account="Acme Plumbing", joins_conversation=True,
        link_reason="sender domain acme.example belongs to Acme Plumbing",
        thread_reason=f"reply: In-Reply-To names {ANSWER} in ticket {{ticket}}",
        auto_reason="Auto-Submitted: auto-replied",
    ),
    "bounce naming the original in returned headers": Case(
        file="delivery-status-report-bounce.eml", account=None, joins_conversation=True,
        link_reason="unmatched: no account has the contact mailer-daemon@mx.acme.example "
                    "or the domain mx.acme.example",
        thread_reason=f"reply: the delivery report names {ANSWER} in ticket {{ticket}}",
        auto_reason="delivery status report (bounce)",
    ),
    "bounce carrying the whole returned message": Case(
        file="delivery-status-report-returned-message.eml", account=None, joins_conversation=True,
        link_reason="unmatched: no account has the contact postmaster@mx.acme.example "
                    "or the domain mx.acme.example",
        thread_reason=f"reply: the delivery report names {ANSWER} in ticket {{ticket}}",
        auto_reason="delivery status report (bounce)",
    ),
}


def archive(session, raw: bytes, source: str, direction: str = "inbound") -> Message:
    return factories.archived(session, raw, source, direction)


def start_conversation(session) -> int:
    """Create the two accounts and a question answered by the desk; return their ticket id."""
    factories.account(session, "Acme Plumbing", domains=["acme.example"],
                      contacts=["owner@gmail.com", "consultant@freelance.example"])
    factories.account(session, "Birch Landscaping", domains=["birch.example"],
                      contacts=["consultant@freelance.example"])
    question = archive(session, factories.message(1, sender="pat@acme.example",
                                                  subject="Invoice export fails",
                                                  message_id=QUESTION), "test:question")
    answer = archive(session, factories.message(2, sender="support@desk.example",
                                                subject="Re: Invoice export fails",
                                                message_id=ANSWER, in_reply_to=QUESTION,
                                                references=[QUESTION]),
                     "test:answer", direction="outbound")
    assert answer.ticket_id == question.ticket_id
    return question.ticket_id


def case_message(case: Case, tag: str) -> bytes:
    if case.file:
        return (MAIL / case.file).read_bytes()
    mail = dict(case.mail)
    if "subject" in mail:
        mail["subject"] = mail["subject"].format(tag=tag)
    return factories.message(3, **mail)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_message_is_linked_and_threaded_as_the_table_says_with_its_reasons_stored(
        session, case):
    ticket = start_conversation(session)
    tag = f"[{current_app.config['TICKET_TAG_PREFIX']}-{ticket}]"

    message = archive(session, case_message(case, tag), "test:case")

    session.expire_all()  # read back what was stored, not what is cached
    stored = session.get(Message, message.id)
    assert {
        "account": stored.account.name if stored.account else None,
        "joins_conversation": stored.ticket_id == ticket,
        "link_reason": stored.link_reason,
        "thread_reason": stored.thread_reason,
        "auto_reason": stored.auto_reason,
        "quarantined": stored.quarantined,
    } == {
        "account": case.account,
        "joins_conversation": case.joins_conversation,
        "link_reason": case.link_reason,
        "thread_reason": case.thread_reason.format(ticket=ticket, tag=tag),
        "auto_reason": case.auto_reason,
        "quarantined": False,
    }
    tickets = session.scalar(select(func.count(Ticket.id)))
    assert tickets == (1 if case.joins_conversation else 2)
    if not case.joins_conversation:
        assert stored.ticket.account_id == stored.account_id


def test_two_messages_sharing_a_message_id_are_two_messages_and_a_reply_joins_the_first(session):
    factories.account(session, "Acme Plumbing", domains=["acme.example"])
    first = archive(session, (MAIL / "duplicate-message-id-a.eml").read_bytes(), "test:a")
    second = archive(session, (MAIL / "duplicate-message-id-b.eml").read_bytes(), "test:b")
    reply = archive(session, factories.message(
        4, sender="pat@acme.example",
        in_reply_to="<same-id-every-time@broken-mailer.example>"), "test:reply")

    assert first.id != second.id
    assert session.scalar(select(func.count(Message.id))) == 3
    assert reply.ticket_id == first.ticket_id
