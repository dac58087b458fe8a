"""What the index holds about a message besides its own bytes (its ticket's status, its
ticket, its account) follows changes: the change puts the message back in the index
queue, and the worker indexes it again within seconds.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select
from whoosh.query import Term

from app.models import Message
from app.runtime import search_index
from app.services import tickets
from tests import factories
from tests.parts import REPO
from tests.waiting import until


@pytest.fixture
def sam(session):
    return factories.agent(session)



def stored(message_id: int) -> dict:
    """Return the stored fields of the message's document in the index."""
    with search_index().searcher() as searcher:
        found = searcher.search(Term("id", message_id))
        return dict(found[0]) if found else {}


def waiting(session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Message.id).where(Message.indexed_at.is_(None))))


def test_a_status_change_puts_every_message_of_the_ticket_back_in_the_queue(session, sam):
    first = factories.archived(session, factories.message(1))
    answer = factories.archived(session, factories.message(2, in_reply_to="<test-1@customer.example>"))
    other = factories.archived(session, factories.message(3, subject="Another matter"))
    assert answer.ticket_id == first.ticket_id != other.ticket_id
    factories.index_queue(session)

    tickets.set_status(session, first.ticket, sam, "closed")
    session.commit()
    assert waiting(session) == {first.id, answer.id}
    assert factories.index_queue(session) == 2
    assert stored(first.id)["status"] == stored(answer.id)["status"] == "closed"
    assert stored(other.id)["status"] == "open"


def test_a_moved_message_is_indexed_again_with_its_new_ticket(session, sam):
    moved = factories.archived(session, factories.message(1))
    target = factories.archived(session, factories.message(2, subject="Another matter"))
    tickets.set_status(session, target.ticket, sam, "pending")
    session.commit()
    factories.index_queue(session)

    tickets.move_message(session, moved, target.ticket_id, sam)
    session.commit()
    assert waiting(session) == {moved.id}
    factories.index_queue(session)
    assert stored(moved.id)["ticket"] == target.ticket_id
    assert stored(moved.id)["status"] == "pending"


def test_linking_a_message_requeues_it_and_the_ticket_that_gained_the_account(session, sam):
    first = factories.archived(session, factories.message(1, sender="bob@elsewhere.example"))
    answer = factories.archived(session, factories.message(
        2, sender="bob@elsewhere.example", in_reply_to="<test-1@customer.example>"))
    assert answer.ticket_id == first.ticket_id
    acme = factories.account(session, "Acme", domains=("acme.example",))
    factories.index_queue(session)
    assert stored(first.id)["account"] == ""

    tickets.link_message(session, first, acme.id, sam)
    session.commit()
    assert waiting(session) == {first.id, answer.id}
    factories.index_queue(session)
    assert stored(first.id)["account"] == "Acme"
    assert stored(answer.id)["account"] == ""  # still its own sender's: unmatched


def test_the_running_worker_indexes_a_status_change_within_seconds(session, sam, subprocess_env):
    message = factories.archived(session, factories.message(1))
    env = {**subprocess_env, "INDEX_INTERVAL_SECONDS": "1", "POLL_INTERVAL_SECONDS": "3600"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Deadlines a busy machine never reaches unless the worker fails to index at all.
        assert until(lambda: stored(message.id).get("status") == "open", 60), "never indexed"
        tickets.set_status(session, message.ticket, sam, "pending")
        session.commit()
        assert until(lambda: stored(message.id).get("status") == "pending", 60), "the change never indexed"
        # The worker writes the index, then marks the message indexed in the database.
        assert until(lambda: waiting(session) == set(), 60), "the queue never emptied"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=15)[0]
    assert "Traceback" not in output, output
