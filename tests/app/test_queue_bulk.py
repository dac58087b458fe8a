"""The queue's filters in the page and its bulk actions, through Flask's test client with
scripts off: filters kept in the URL and the tabs, an empty filtered queue offering to clear
them, and bulk changes written one history entry per ticket with the agent, all or nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agent, Ticket, TicketEvent
from tests.app import console_world
from tests.web import form_token, sign_in, submit

QUEUE = "/tickets?queue=all&status=open&sender=leaky"


@pytest.fixture
def world(web):
    return console_world.build(web)


@pytest.fixture
def agent(web, world):
    client = web.test_client()
    sign_in(client, "agent@desk.example")
    return client


def events(web, ticket_id: int) -> list[tuple[str, str, str]]:
    with web.app_context():
        found = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                   .order_by(TicketEvent.id))
        return [(e.agent.name if e.agent else "", e.kind, e.detail) for e in found]


def agent_id(web, email: str) -> int:
    with web.app_context():
        return db.session.scalar(select(Agent.id).where(Agent.email == email))


def bulk(client, queue: str, ticket_ids: list[int], **fields):
    """Post the queue's bulk form as a browser would: the ticked rows, the choices, one button."""
    data = {"ticket": [str(i) for i in ticket_ids], "assignee": "", "status": "open", "next": queue, **fields}
    return submit(client, queue, "/tickets/bulk", data)


ASSIGN = {"assign": "Assign selected"}


def statuses(web, *ticket_ids: int) -> list[tuple[str, int | None]]:
    with web.app_context():
        return [(t.status, t.assignee_id) for t in (db.session.get(Ticket, i) for i in ticket_ids)]


def test_the_filters_are_in_the_url_the_tabs_and_the_form_and_an_empty_result_offers_to_clear(agent, world):
    page = agent.get(QUEUE).text
    assert f'href="/tickets/{world.ticket_id}"' in page
    assert f'href="/tickets/{world.unmatched_ticket_id}"' not in page
    assert 'All <span class="count">1</span>' in page
    assert 'Unmatched mail <span class="count">0</span>' in page
    assert 'href="/tickets?status=pending&amp;queue=all&amp;sender=leaky"' in page
    assert 'name="sender" value="leaky"' in page and '<label for="filter-words">Words</label>' in page

    words = agent.get("/tickets?queue=all&words=INVOICE+fails").text  # in the unmatched message's text
    assert f'href="/tickets/{world.unmatched_ticket_id}"' in words and 'value="INVOICE fails"' in words
    assert f'href="/tickets/{world.ticket_id}"' not in words

    empty = agent.get("/tickets?queue=all&status=open&words=no-such-word-anywhere").text
    assert "No open tickets in this view match the filters." in empty
    assert '<a href="/tickets?status=open&amp;queue=all">Clear the filters</a>' in empty
    assert 'id="bulk"' not in empty


def test_bulk_assign_writes_one_history_entry_per_ticket_with_the_agent_and_returns_to_the_queue(web, agent,
                                                                                                 world):
    both = [world.ticket_id, world.unmatched_ticket_id]
    manager = agent_id(web, "manager@desk.example")
    queue = "/tickets?queue=all&status=open"
    assert f'name="ticket" value="{world.ticket_id}" form="bulk"' in agent.get(queue).text
    done = bulk(agent, queue, both, assignee=str(manager), **ASSIGN)
    assert done.status_code == 302 and done.location == queue
    assert "2 tickets assigned to Manager Person." in agent.get(done.location).text
    for ticket_id in both:
        assert events(web, ticket_id) == [("Agent Person", "assign", "assigned nobody → Manager Person")]
    assert statuses(web, *both) == [("open", manager), ("open", manager)]

    again = bulk(agent, queue, [world.ticket_id], assignee="me", **ASSIGN)
    assert "1 ticket assigned to you." in agent.get(again.location).text
    bulk(agent, queue, both, assignee="", **ASSIGN)
    assert statuses(web, *both) == [("open", None), ("open", None)]
    assert [e[2] for e in events(web, world.ticket_id)] == [
        "assigned nobody → Manager Person", "assigned Manager Person → Agent Person",
        "assigned Agent Person → nobody"]


def test_select_all_on_the_page_closes_every_ticket_of_the_page_without_scripts(web, agent, world):
    both = [world.ticket_id, world.unmatched_ticket_id]
    queue = "/tickets?queue=all&status=open"
    page = agent.get(queue).text
    assert '<input type="checkbox" id="bulk-all" name="all_on_page" value="y">' in page
    assert all(f'<input type="hidden" name="page_ids" value="{i}">' in page for i in both)
    done = bulk(agent, queue, [], page_ids=[str(i) for i in both], all_on_page="y", close="Close selected")
    assert "2 tickets closed." in agent.get(done.location).text
    assert statuses(web, *both) == [("closed", None), ("closed", None)]
    for ticket_id in both:
        assert events(web, ticket_id) == [("Agent Person", "status", "status open → closed")]

    moved = bulk(agent, queue, [world.ticket_id], status="pending", move="Move selected")
    assert "1 ticket moved to pending." in agent.get(moved.location).text
    assert events(web, world.ticket_id)[-1] == ("Agent Person", "status", "status closed → pending")


def test_a_bulk_action_naming_a_missing_ticket_changes_nothing_and_says_so_in_one_sentence(web, agent, world):
    queue = "/tickets?queue=all&status=open"
    for ids in ([world.ticket_id, 987654], [world.ticket_id, 2**63 + 5]):
        done = bulk(agent, queue, ids, assignee="me", **ASSIGN)
        page = agent.get(done.location).text
        assert f"Not done: no ticket was changed, as #{ids[1]} does not exist or cannot be seen." in page
    nothing = bulk(agent, queue, [], assignee="me", **ASSIGN)
    assert "Not done: no ticket was selected." in agent.get(nothing.location).text
    assert events(web, world.ticket_id) == [] and statuses(web, world.ticket_id) == [("open", None)]


def test_a_bulk_action_without_the_forms_csrf_token_is_refused_and_changes_nothing(web, agent, world):
    data = {"ticket": [str(world.ticket_id)], "assignee": "me", "status": "open", "close": "Close selected",
            "next": "/tickets"}
    assert agent.post("/tickets/bulk", data=data).status_code == 400
    assert agent.post("/tickets/bulk", data={**data, "csrf_token": form_token(agent, "/tickets") + "x"}
                      ).status_code == 400
    assert events(web, world.ticket_id) == [] and statuses(web, world.ticket_id) == [("open", None)]
