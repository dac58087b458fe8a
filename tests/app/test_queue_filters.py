"""The queue's filters by sender and by words, checked against a plain reading of the mail the
test wrote: for every filter, every tab (status and scope) and every page, the queue lists
exactly the tickets the brute-force reading finds, in the queue's order, and counts them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from app.models import Ticket
from app.services import tickets
from app.services.queue_filters import clean_words
from tests import factories

SENDERS = [("Dana Scully", "dana@customer.example"), ("", "bob@customer.example"),
           ("Robert Paulson", "rp@other.example"), ("Ålice Ünder", "alice@customer.example")]
SUPPORT = ("Support Desk", "support@desk.example")
WORDS = ["invoice", "export", "login", "password", "refund", "Crash", "100%_done", "a_b"]


@dataclass(frozen=True)
class Written:
    ticket_id: int
    direction: str
    name: str
    address: str
    subject: str
    body: str


def contains(haystack: str, needle: str) -> bool:
    return needle.lower() in haystack.lower()


def brute_force(session, written: list[Written], agent, status: str, scope: str, sender: str,
                words: str) -> list[int]:
    """Return the ids of the tickets a queue should list, read from the mail as written."""
    found = []
    for ticket in session.query(Ticket).all():
        mail = [w for w in written if w.ticket_id == ticket.id]
        from_customer = [w for w in mail if w.direction == "inbound"]
        by_sender = not sender or any(contains(w.address, sender) or contains(w.name, sender)
                                      for w in from_customer)
        by_words = all(contains(ticket.subject, word)
                       or any(contains(w.subject, word) or contains(w.body, word) for w in mail)
                       for word in clean_words(words).split())
        in_scope = {"mine": ticket.assignee_id == agent.id, "unassigned": ticket.assignee_id is None,
                    "all": True, "unmatched": ticket.account_id is None}[scope]
        if by_sender and by_words and in_scope and ticket.status == status:
            found.append(ticket)
    found.sort(key=lambda t: (t.last_activity_at, t.id), reverse=True)
    return [t.id for t in found]


@pytest.fixture
def mail(session):
    """About twenty tickets of mixed senders, words, statuses and assignees; what was written."""
    factories.account(session)
    sam = factories.agent(session, "sam@desk.example", name="Sam Agent")
    pick = random.Random(20261130)
    written: list[Written] = []

    def write(n: int, reply_to: int | None = None, direction: str = "inbound") -> int:
        name, address = pick.choice(SENDERS) if direction == "inbound" else SUPPORT
        subject = " ".join(pick.sample(WORDS, 2)) + f" {n}"
        body = " ".join(pick.sample(WORDS, 3)) + " please help"
        sender = f"{name} <{address}>" if name else address
        raw = factories.message(n, sender=sender, subject=subject, body=body,
                                in_reply_to=f"<test-{reply_to}@customer.example>" if reply_to else None)
        message = factories.archived(session, raw, direction=direction)
        written.append(Written(message.ticket_id, direction, name, address, message.subject, body))
        return message.ticket_id

    for n in range(1, 21):
        write(n)
    for n, first in ((21, 2), (22, 5), (23, 9), (24, 14)):
        write(n, reply_to=first)
    write(25, reply_to=3, direction="outbound")
    all_tickets = session.query(Ticket).order_by(Ticket.id).all()
    for ticket in all_tickets[::4]:
        tickets.set_status(session, ticket, sam, "pending")
    for ticket in all_tickets[1::5]:
        tickets.set_status(session, ticket, sam, "closed")
    for ticket in all_tickets[::3]:
        tickets.assign(session, ticket, sam, sam.id)
    sam.page_size = 5
    session.commit()
    return sam, written


FILTERS = [("dana", ""), ("CUSTOMER.example", ""), ("paulson", ""), ("rob", ""), ("support", ""),
           ("ålice", ""), ("nobody-at-all", ""), ("", "invoice"), ("", "EXPORT login"),
           ("", "refund crash please"),
           ("", "inv"), ("", "%"), ("", "a_b"), ("", "_"), ("", "nothing-here"), ("dana", "export"),
           ("customer", "login password")]


def test_the_filters_list_what_a_plain_reading_of_the_mail_finds_in_every_tab_and_page(session, mail):
    sam, written = mail
    assert len({w.ticket_id for w in written}) == 20 and any(w.direction == "outbound" for w in written)
    for sender, words in FILTERS:
        for scope in ("mine", "unassigned", "all", "unmatched"):
            for status in ("open", "pending", "closed"):
                view = tickets.queue_view(status, scope, None, sam, sender=sender, words=words)
                expected = brute_force(session, written, sam, status, scope, sender, words)
                first = tickets.list_queue(session, sam, view, 1)
                listed = [t.id for p in range(1, first.pages + 1)
                          for t in tickets.list_queue(session, sam, view, p).tickets]
                assert listed == expected, (sender, words, scope, status)
                assert first.total == len(expected)
                assert first.status_counts[status] == len(expected) == first.scope_counts[scope]
        counts = tickets.list_queue(session, sam, tickets.queue_view("open", "all", None, sam, sender=sender,
                                                                     words=words), 1)
        assert counts.status_counts == {s: len(brute_force(session, written, sam, s, "all", sender, words))
                                        for s in ("open", "pending", "closed")}
        assert counts.scope_counts == {q: len(brute_force(session, written, sam, "open", q, sender, words))
                                       for q in ("mine", "unassigned", "all", "unmatched")}


def test_the_filters_combine_with_the_account_and_find_something(session, mail):
    sam, written = mail
    account_id = session.query(Ticket.account_id).filter(Ticket.account_id.isnot(None)).first()[0]
    view = tickets.queue_view("open", "all", account_id, sam, sender="customer.example", words="please")
    found = tickets.list_queue(session, sam, view, 1)
    expected = [t for t in brute_force(session, written, sam, "open", "all", "customer.example", "please")
                if session.get(Ticket, t).account_id == account_id]
    assert found.total == len(expected) > 0
    assert tickets.queue_view("open", "all", None, sam, sender="  dana  ", words=" a  b ").sender == "dana"
    assert tickets.queue_view("open", "all", None, sam, words=" a  b ").words == "a b"
