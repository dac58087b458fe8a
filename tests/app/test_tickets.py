"""Working tickets through the services: the queue's views, counts and pages, and every
change an agent makes, each written to the ticket's history with who and when.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Ticket
from app.services import tickets
from app.services.errors import ServiceError
from tests import factories


@pytest.fixture
def sam(session):
    return factories.agent(session, "sam@desk.example", name="Sam Agent")


@pytest.fixture
def kim(session):
    return factories.agent(session, "kim@desk.example", name="Kim Agent")


def ticket_of(session, n: int, sender: str = "alice@customer.example") -> Ticket:
    return factories.archived(session, factories.message(n, sender=sender)).ticket


def queue(session, agent, status="open", scope="all", account_id=None, page=1):
    return tickets.list_queue(session, agent, tickets.QueueView(status, scope, account_id), page)


def test_the_queue_lists_tickets_by_last_activity_with_counts_per_view(session, sam, kim):
    factories.account(session)
    first, second = ticket_of(session, 1), ticket_of(session, 2)
    stranger = ticket_of(session, 3, "x@else.example")
    tickets.assign(session, first, sam, sam.id)
    tickets.set_status(session, second, sam, "pending")
    session.commit()

    open_all = queue(session, sam)
    assert [t.id for t in open_all.tickets] == [stranger.id, first.id]
    assert open_all.status_counts == {"open": 2, "pending": 1, "closed": 0}
    assert open_all.scope_counts == {"mine": 1, "unassigned": 1, "all": 2, "unmatched": 1}
    assert [t.id for t in queue(session, sam, scope="mine").tickets] == [first.id]
    assert queue(session, kim, scope="mine").total == 0
    assert [t.id for t in queue(session, sam, scope="unmatched").tickets] == [stranger.id]
    assert [t.id for t in queue(session, sam, status="pending").tickets] == [second.id]
    assert [t.id for t in queue(session, sam, account_id=first.account_id).tickets] == [first.id]


def test_the_queue_pages_by_the_agents_page_size_and_keeps_pages_in_range(session, sam):
    factories.account(session)
    made = [ticket_of(session, n).id for n in range(12)]
    sam.page_size = 5
    pages = [queue(session, sam, page=p) for p in (1, 2, 3)]
    assert [p.pages for p in pages] == [3, 3, 3]
    assert [t.id for p in pages for t in p.tickets] == list(reversed(made))
    assert queue(session, sam, page=99).page == 3
    assert queue(session, sam, page=-4).page == 1


def test_an_unknown_queue_or_status_is_refused_with_the_choices(sam):
    with pytest.raises(ServiceError, match="mine, unassigned, all, unmatched"):
        tickets.queue_view("open", "everything", None, sam)
    with pytest.raises(ServiceError, match="open, pending, closed"):
        tickets.queue_view("done", "all", None, sam)
    assert tickets.queue_view(None, None, None, sam).scope == sam.default_queue


def test_every_change_is_in_the_history_with_who_and_what(session, sam, kim):
    ticket = ticket_of(session, 1)
    tickets.set_status(session, ticket, sam, "pending")
    tickets.assign(session, ticket, sam, kim.id)
    tickets.add_note(session, ticket, kim, "Called the customer; export fixed tomorrow.")
    tickets.assign(session, ticket, kim, None)
    session.commit()
    history = [(e.agent.name, e.kind, e.detail) for e in ticket.events]
    assert history == [
        ("Sam Agent", "status", "status open → pending"),
        ("Sam Agent", "assign", "assigned nobody → Kim Agent"),
        ("Kim Agent", "note", "internal note"),
        ("Kim Agent", "assign", "assigned Kim Agent → nobody"),
    ]
    assert all(e.at is not None for e in ticket.events)


def test_notes_join_the_thread_in_time_order_after_the_messages(session, sam):
    ticket = ticket_of(session, 1)
    note = tickets.add_note(session, ticket, sam, "Looking into it")
    session.commit()
    assert tickets.thread(session, ticket) == [ticket.messages.first(), note]


def test_a_disabled_agent_cannot_be_given_tickets_and_empty_notes_are_refused(session, sam, kim):
    ticket = ticket_of(session, 1)
    kim.disabled = True
    with pytest.raises(ServiceError, match="enabled agent"):
        tickets.assign(session, ticket, sam, kim.id)
    with pytest.raises(ServiceError, match="empty"):
        tickets.add_note(session, ticket, sam, "   ")
    assert ticket.events == []


def test_a_moved_message_leaves_history_on_both_tickets(session, sam):
    factories.account(session)
    one, two = ticket_of(session, 1), ticket_of(session, 2)
    message = one.messages.first()
    tickets.move_message(session, message, two.id, sam)
    session.commit()
    assert message.ticket_id == two.id
    assert message.thread_reason == f"moved here from ticket {one.id} by Sam Agent"
    assert [e.detail for e in one.events] == [f"message {message.id} moved to ticket {two.id}",
                                              "status open → closed"]
    assert [e.detail for e in two.events] == [f"message {message.id} moved here from ticket {one.id}"]
    with pytest.raises(ServiceError, match="no ticket 999"):
        tickets.move_message(session, message, 999, sam)
    with pytest.raises(ServiceError, match="already"):
        tickets.move_message(session, message, two.id, sam)


def test_a_ticket_its_last_message_left_is_closed_and_one_with_messages_stays_open(session, sam):
    factories.account(session)
    one, two, three = ticket_of(session, 1), ticket_of(session, 2), ticket_of(session, 3)
    original, extra = one.messages.first(), three.messages.first()

    tickets.move_message(session, extra, one.id, sam)
    session.commit()
    assert three.status == "closed" and three.events[-1].detail == "status open → closed"
    assert one.status == "open"

    tickets.move_message(session, original, two.id, sam)
    session.commit()
    assert one.status == "open" and two.status == "open"  # one still holds a message

    tickets.move_message(session, extra, two.id, sam)
    session.commit()
    assert one.status == "closed" and one.events[-1].agent_id == sam.id
    assert [status for status, in session.execute(select(Ticket.status).order_by(Ticket.id))] == [
        "closed", "open", "closed"]


def test_linking_an_unmatched_message_gives_its_ticket_the_account(session, sam):
    ticket = ticket_of(session, 1, sender="someone@gmail.example")
    account = factories.account(session, "Gmail User Co", domains=["gmailuser.example"])
    message = ticket.messages.first()
    assert ticket.account_id is None
    tickets.link_message(session, message, account.id, sam)
    session.commit()
    assert (message.account_id, ticket.account_id) == (account.id, account.id)
    assert message.link_reason == "linked to Gmail User Co by Sam Agent"
    assert ticket.events[0].detail == f"message {message.id} linked to Gmail User Co"
    with pytest.raises(ServiceError, match="already"):
        tickets.link_message(session, message, account.id, sam)


def test_a_customers_answer_reopens_a_pending_ticket_but_an_auto_reply_does_not(session, sam):
    factories.account(session)
    ticket = ticket_of(session, 1)
    tickets.set_status(session, ticket, sam, "pending")
    session.commit()
    factories.archived(session, factories.message(
        2, in_reply_to="<test-1@customer.example>", headers={"Auto-Submitted": "auto-replied"}))
    assert ticket.status == "pending"
    factories.archived(session, factories.message(3, in_reply_to="<test-1@customer.example>"))
    assert ticket.status == "open"
    assert ticket.events[-1].agent is None
    assert ticket.events[-1].detail == "status pending → open: the customer answered"
