"""Moving, merging and linking as changes that can be undone: previews say what will change,
a merge takes messages and history to the target, and an undo restores exactly the earlier
state, within the window and only while nothing else has changed the same things.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.models import Account, AuditEntry, Message, Ticket, TicketEvent
from app.services import account_links, changes, merging, tickets
from app.services.errors import ServiceError
from tests import factories

NOW = datetime(2026, 11, 30, 12, 0)
WINDOW = timedelta(minutes=30)
numbers = itertools.count(100)


@pytest.fixture
def sam(session):
    return factories.agent(session, "sam@desk.example", name="Sam Agent")


@pytest.fixture
def kim(session):
    return factories.agent(session, "kim@desk.example", name="Kim Agent")


def ticket_of(session, sender: str = "alice@customer.example", subject: str | None = None) -> Ticket:
    return factories.archived(
        session, factories.message(next(numbers), sender=sender, subject=subject)
    ).ticket


def state(session) -> dict:
    """Every message's ticket and account, every entry's ticket, every ticket's fields."""
    session.expire_all()
    return {
        "messages": sorted(
            session.execute(
                select(
                    Message.id,
                    Message.ticket_id,
                    Message.account_id,
                    Message.thread_reason,
                    Message.link_reason,
                )
            ).all()
        ),
        "events": dict(session.execute(select(TicketEvent.id, TicketEvent.ticket_id)).all()),
        "tickets": sorted(
            session.execute(
                select(
                    Ticket.id,
                    Ticket.status,
                    Ticket.subject,
                    Ticket.account_id,
                    Ticket.assignee_id,
                    Ticket.merged_into_id,
                    Ticket.last_activity_at,
                )
            ).all()
        ),
    }


def same_but_new_entries(before: dict, after: dict) -> bool:
    """Say whether ``after`` is ``before`` plus history entries written since (undo's own)."""
    kept = {i: t for i, t in after["events"].items() if i in before["events"]}
    return (before["messages"], before["tickets"], before["events"]) == (
        after["messages"],
        after["tickets"],
        kept,
    )


@pytest.fixture
def two_accounts(session, sam, kim):
    """Acme with two tickets (one with two messages, assigned to Kim), Bolt with one."""
    factories.account(session, "Acme", domains=["acme.example"])
    factories.account(session, "Bolt", domains=["bolt.example"])
    first = ticket_of(session, "ann@acme.example", "Export fails")
    factories.archived(
        session,
        factories.message(
            next(numbers), sender="ann@acme.example", in_reply_to=first.messages.first().message_id_header
        ),
    )
    second = ticket_of(session, "bob@acme.example", "Export still fails")
    bolt = ticket_of(session, "eve@bolt.example", "Invoice copies")
    tickets.assign(session, first, sam, kim.id)
    tickets.add_note(session, first, sam, "Asked for the file.")
    session.commit()
    return first, second, bolt


def test_a_merge_takes_every_message_and_the_history_and_closes_the_source_as_merged(
    session, sam, kim, two_accounts
):
    first, second, _ = two_accounts
    moved = [m.id for m in first.messages]
    history = [e.id for e in first.events]
    merging.merge(session, first, second.id, sam, NOW)
    session.commit()
    session.expire_all()
    assert set(moved) <= {m.id for m in second.messages} and first.messages.count() == 0
    assert set(history) <= {e.id for e in second.events}
    assert (first.status, first.merged_into_id) == ("closed", second.id)
    assert second.assignee_id == kim.id, "the target had nobody: it takes the source's assignee"
    assert (
        first.events[-1].detail
        == f"merged into ticket {second.id}: 2 messages moved there, status open → closed"
    )
    assert second.events[-1].detail == f"ticket {first.id} merged here: 2 messages and its history"
    assert session.get(Message, moved[0]).thread_reason == f"merged here from ticket {first.id} by Sam Agent"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tickets merged"))
    assert (
        entry.detail == f"ticket {first.id} merged into ticket {second.id} (2 messages), by sam@desk.example"
    )
    assert tickets.thread(session, second)[-1].body == "Asked for the file.", "notes go with the history"


def test_mail_for_a_merged_ticket_joins_the_ticket_it_was_merged_into(session, sam, two_accounts):
    first, second, _ = two_accounts
    merging.merge(session, first, second.id, sam, NOW)
    session.commit()
    answer = factories.archived(
        session,
        factories.message(next(numbers), sender="ann@acme.example", subject=f"Re: Export [SD-{first.id}]"),
    )
    assert answer.ticket_id == second.id
    assert first.messages.count() == 0 and first.status == "closed"


def test_merge_then_undo_restores_exactly_the_earlier_state(session, sam, two_accounts):
    first, _, bolt = two_accounts
    before = state(session)
    change = merging.merge(session, first, bolt.id, sam, NOW)
    session.commit()
    assert state(session) != before
    changes.undo(session, change, sam, NOW + timedelta(minutes=29), WINDOW)
    session.commit()
    assert same_but_new_entries(before, state(session))
    session.expire_all()
    assert [e.detail for e in first.events][-1] == f"undone: ticket {first.id} merged into ticket {bolt.id}"
    assert [e.kind for e in bolt.events][-2:] == ["merge_in", "undo"]
    assert session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "merge undone")).startswith(
        f"undone: ticket {first.id} merged into ticket {bolt.id}"
    )
    with pytest.raises(ServiceError, match="undone already"):
        changes.undo(session, change, sam, NOW, WINDOW)


def test_an_undo_is_refused_after_the_window_and_changes_nothing(session, sam, two_accounts):
    first, second, _ = two_accounts
    change = merging.merge(session, first, second.id, sam, NOW)
    session.commit()
    after = state(session)
    with pytest.raises(ServiceError, match="can be undone for 30 minutes after they are made"):
        changes.undo(session, change, sam, NOW + WINDOW + timedelta(seconds=1), WINDOW)
    session.rollback()
    assert state(session) == after


def test_an_undo_is_refused_once_something_later_changed_the_same_messages(session, sam, two_accounts):
    first, second, bolt = two_accounts
    merge = merging.merge(session, first, second.id, sam, NOW)
    session.commit()
    one = session.scalar(select(Message.id).where(Message.ticket_id == second.id).order_by(Message.id))
    move = merging.move(session, session.get(Message, one), bolt.id, sam, NOW)
    session.commit()
    after = state(session)
    with pytest.raises(ServiceError, match="were changed since, so undoing it would not restore exactly"):
        changes.undo(session, merge, sam, NOW, WINDOW)
    session.rollback()
    assert state(session) == after
    changes.undo(session, move, sam, NOW, WINDOW)  # the later change undone, the merge can be again
    changes.undo(session, merge, sam, NOW, WINDOW)
    session.commit()
    assert session.get(Message, one).ticket_id == first.id


def test_an_undo_is_refused_once_the_merged_ticket_was_reopened(session, sam, two_accounts):
    first, second, _ = two_accounts
    merge = merging.merge(session, first, second.id, sam, NOW)
    tickets.set_status(session, first, sam, "open")
    session.commit()
    with pytest.raises(ServiceError, match="can no longer be undone"):
        changes.undo(session, merge, sam, NOW, WINDOW)


def test_the_move_preview_says_which_message_moves_and_what_each_ticket_ends_up_with(session, two_accounts):
    first, second, bolt = two_accounts
    message = second.messages.first()
    preview = merging.preview_move(session, message, bolt.id)
    assert [m.id for m in preview.moving] == [message.id]
    assert (
        preview.source.id,
        preview.source.messages,
        preview.source.messages_after,
        preview.source.status_after,
    ) == (second.id, 1, 0, "closed")
    assert (
        preview.target.id,
        preview.target.subject,
        preview.target.account,
        preview.target.messages_after,
    ) == (bolt.id, "Invoice copies", "Bolt", 2)
    assert preview.warning == (
        f"the tickets belong to different accounts: ticket {second.id} to Acme, ticket {bolt.id} to Bolt"
    )
    assert merging.preview_move(session, first.messages.first(), second.id).warning is None
    with pytest.raises(ServiceError, match="already"):
        merging.preview_move(session, message, second.id)
    assert session.get(Message, message.id).ticket_id == second.id, "a preview changes nothing"


def test_the_merge_preview_lists_the_messages_and_refuses_what_cannot_be_merged(session, sam, two_accounts):
    first, second, bolt = two_accounts
    preview = merging.preview_merge(session, first, second.id)
    assert [m.id for m in preview.moving] == [m.id for m in first.messages]
    assert (preview.source.messages_after, preview.source.status_after) == (0, "closed")
    assert (preview.target.messages, preview.target.messages_after, preview.target_account_after) == (
        1,
        3,
        "Acme",
    )
    assert preview.warning is None
    assert "different accounts" in merging.preview_merge(session, first, bolt.id).warning
    with pytest.raises(ServiceError, match="cannot be merged into itself"):
        merging.preview_merge(session, first, first.id)
    merging.merge(session, first, second.id, sam, NOW)
    with pytest.raises(ServiceError, match=f"was merged into ticket {second.id} already"):
        merging.preview_merge(session, first, bolt.id)
    with pytest.raises(ServiceError, match=f"was merged into ticket {second.id}; choose that one instead"):
        merging.preview_merge(session, bolt, first.id)


def test_a_link_and_its_undo_restore_the_message_and_the_tickets_account(session, sam):
    acme = factories.account(session, "Acme", domains=["acme.example"])
    ticket = ticket_of(session, "someone@else.example")
    message = ticket.messages.first()
    assert account_links.mismatch(message, acme) == (
        "mail from someone@else.example will be linked to Acme, whose domains are acme.example"
    )
    before = state(session)
    change = account_links.link(session, message, acme.id, sam, NOW)
    session.commit()
    assert (message.account_id, ticket.account_id) == (acme.id, acme.id)
    changes.undo(session, change, sam, NOW, WINDOW)
    session.commit()
    assert same_but_new_entries(before, state(session))


def test_a_new_account_from_the_senders_domain_goes_through_the_accounts_checks(session, sam):
    ticket = ticket_of(session, "Pat@Widgets.example")
    message = ticket.messages.first()
    account = account_links.account_from_sender(session, message, sam, NOW)
    assert (account.name, [d.domain for d in account.domains], [c.email for c in account.contacts]) == (
        "widgets.example",
        ["widgets.example"],
        ["pat@widgets.example"],
    )
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.account_id == account.id))
        == "account added"
    )
    public = ticket_of(session, "someone@gmail.com").messages.first()
    with pytest.raises(
        ServiceError,
        match="^gmail.com is a public mail provider, which names no company: "
        "link the message to an existing account instead$",
    ):
        account_links.account_from_sender(session, public, sam, NOW)
    again = ticket_of(session, "lee@widgets.example").messages.first()
    again.account_id = None
    with pytest.raises(
        ServiceError, match="named 'widgets.example' exists already; link the message to an existing account"
    ):
        account_links.account_from_sender(session, again, sam, NOW)
    assert session.scalar(select(Account).where(Account.name == "gmail.com")) is None


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.integers(0, 4), st.integers(0, 2)),
        st.tuples(st.just("merge"), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("undo"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_undoing_changes_newest_first_restores_each_earlier_state(session, sam, actions):
    """Any sequence of moves, merges and undos: each undo puts back exactly the state before its change."""
    made = [ticket_of(session, f"p{next(numbers)}@acme.example") for _ in range(3)]
    for ticket in made[:2]:  # two messages more in the first two tickets
        factories.archived(
            session, factories.message(next(numbers), in_reply_to=ticket.messages.first().message_id_header)
        )
    message_ids = [m.id for t in made for m in t.messages]
    ticket_ids = [t.id for t in made]
    start, done = state(session), []
    for kind, a, b in actions:
        if kind == "undo":
            if done:
                change, before = done.pop()
                changes.undo(session, change, sam, NOW, WINDOW)
                session.commit()
                assert same_but_new_entries(before, state(session))
            continue
        before = state(session)
        try:
            if kind == "move":
                change = merging.move(session, session.get(Message, message_ids[a]), ticket_ids[b], sam, NOW)
            else:
                change = merging.merge(session, session.get(Ticket, ticket_ids[a]), ticket_ids[b], sam, NOW)
        except ServiceError:
            session.rollback()
            assert state(session) == before
            continue
        session.commit()
        done.append((change, before))
    while done:
        change, _ = done.pop()
        changes.undo(session, change, sam, NOW, WINDOW)
        session.commit()
    assert same_but_new_entries(start, state(session))
