"""Two agents on one ticket, through Flask's test client with scripts off: a reply written
before another agent's reply or a customer's new message arrived is held and shown what
arrived, then goes with "Send anyway"; drafts survive a reload and stay their agent's own;
and the page lists who else has the ticket open, until they have been gone for the window.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.models import Message, ReplyDraft, Ticket
from app.services import drafts
from tests import factories
from tests.app import console_world
from tests.web import sign_in

DANA = "dana@desk.example"


@pytest.fixture
def world(web):
    built = console_world.build(web)
    with web.app_context():
        factories.agent(db.session, DANA, name="Dana Agent")
    return built


@pytest.fixture
def clock(web):
    """The application's clock, moved by the test: ``clock.now += timedelta(...)``."""

    class Clock:
        now = datetime(2026, 11, 30, 12, 0)

    web.extensions["clock"] = lambda: Clock.now
    return Clock


def client(web, email: str):
    browser = web.test_client()
    assert sign_in(browser, email).status_code == 302
    return browser


@pytest.fixture
def sam(web, world):
    return client(web, "agent@desk.example")  # "Agent Person"


@pytest.fixture
def dana(web, world):
    return client(web, DANA)


def reply_form(page: str) -> dict:
    """Return the fields of the page's reply form as a browser would post them."""
    form = re.search(r'<form method="post" action="/tickets/\d+/reply".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'<input[^>]*name="(csrf_token|seen_message|seen_event)"[^>]*value="([^"]*)"',
                             form))
    fields["body"] = reply_box(page)
    fields["then_status"] = "pending"
    return fields


def reply_box(page: str) -> str:
    box = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    return html.unescape(box).removeprefix("\r\n").removeprefix("\n")


def ticket_url(world) -> str:
    return f"/tickets/{world.ticket_id}"


def test_a_reply_written_before_another_agents_reply_is_held_and_sent_anyway(web, world, sam, dana,
                                                                            smtp_server):
    web.config["SMTP_URL"] = smtp_server.url
    seen_by_sam = reply_form(sam.get(ticket_url(world)).text)
    seen_by_dana = reply_form(dana.get(ticket_url(world)).text)

    sent = sam.post(f"{ticket_url(world)}/reply", data={**seen_by_sam, "body": "Sam's answer."},
                    follow_redirects=True)
    assert "Reply sent." in sent.text and len(smtp_server.received) == 1

    held = dana.post(f"{ticket_url(world)}/reply", data={**seen_by_dana, "body": "Dana's answer."})
    assert held.status_code == 409
    page = held.text
    assert "Your reply was not sent." in page
    assert re.search(r"Agent Person sent a reply\s+at <time>\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>", page)
    assert "Sam&#39;s answer." in page  # the reply that arrived is in the thread
    assert reply_box(page) == "Dana's answer." and 'value="Send anyway"' in page
    assert len(smtp_server.received) == 1, "the held reply did not leave"
    with web.app_context():
        assert db.session.query(Message).filter_by(direction="outbound").count() == 1
    assert reply_box(dana.get(ticket_url(world)).text) == "Dana's answer.", "kept as a draft"

    anyway = dana.post(f"{ticket_url(world)}/reply", data=reply_form(page), follow_redirects=True)
    assert "Reply sent." in anyway.text
    assert [r.message().get_content().strip() for r in smtp_server.wait_for(2)] == [
        "Sam's answer.", "Dana's answer."]
    with web.app_context():
        assert db.session.query(ReplyDraft).count() == 0, "sending deletes the draft"


def test_a_customers_new_message_holds_a_reply_and_is_shown_as_new(web, world, dana, smtp_server):
    web.config["SMTP_URL"] = smtp_server.url
    seen = reply_form(dana.get(ticket_url(world)).text)
    with web.app_context():
        answer = factories.archived(db.session, factories.message(
            5, sender="boss@leaky.example", subject="Re: HTML message number 1",
            in_reply_to="<html-1@leaky.example>", body="Also, the totals are wrong."))
        assert answer.ticket_id == world.ticket_id
        answer_id = answer.id

    held = dana.post(f"{ticket_url(world)}/reply", data={**seen, "body": "Fixed the export."})
    assert held.status_code == 409
    assert re.search(r"a new message from boss@leaky.example arrived\s+at <time>", held.text)
    assert f'<a href="#m{answer_id}">read it</a>' in held.text
    assert "new since you opened the ticket" in held.text and "Also, the totals are wrong." in held.text
    assert smtp_server.received == []

    again = reply_form(held.text)
    assert int(again["seen_message"]) == answer_id
    assert "Reply sent." in dana.post(f"{ticket_url(world)}/reply", data=again, follow_redirects=True).text
    assert len(smtp_server.wait_for(1)) == 1


def test_a_reply_of_ones_own_or_a_note_since_holds_nothing(web, world, sam, smtp_server):
    web.config["SMTP_URL"] = smtp_server.url
    seen = reply_form(sam.get(ticket_url(world)).text)
    sam.post(f"{ticket_url(world)}/notes", data={"csrf_token": seen["csrf_token"], "text": "Checking."})
    assert "Reply sent." in sam.post(f"{ticket_url(world)}/reply", data={**seen, "body": "First."},
                                     follow_redirects=True).text
    assert "Reply sent." in sam.post(f"{ticket_url(world)}/reply", data={**seen, "body": "Second."},
                                     follow_redirects=True).text
    assert len(smtp_server.wait_for(2)) == 2


def test_a_draft_survives_a_reload_is_its_agents_own_and_can_be_discarded(web, world, sam, dana):
    quote = reply_box(sam.get(ticket_url(world)).text)
    form = reply_form(sam.get(ticket_url(world)).text)
    saved = sam.post(f"{ticket_url(world)}/draft", data={**form, "body": "Half a thought"},
                     follow_redirects=True)
    assert "Draft saved." in saved.text and reply_box(saved.text) == "Half a thought"
    assert reply_box(sam.get(ticket_url(world)).text) == "Half a thought"
    assert reply_box(dana.get(ticket_url(world)).text) == quote, "another agent never sees it"

    quiet = sam.post(f"{ticket_url(world)}/draft", data={**form, "body": "A whole thought", "quiet": "1"})
    assert quiet.json == {"saved": True, "outcome": "saved"}
    assert reply_box(sam.get(ticket_url(world)).text) == "A whole thought"

    discarded = sam.post(f"{ticket_url(world)}/draft/discard", data={"csrf_token": form["csrf_token"]},
                         follow_redirects=True)
    assert "Draft discarded." in discarded.text and reply_box(discarded.text) == quote


def test_a_draft_saved_after_its_agent_replied_does_not_come_back(web, world, sam, smtp_server):
    web.config["SMTP_URL"] = smtp_server.url
    form = reply_form(sam.get(ticket_url(world)).text)
    sam.post(f"{ticket_url(world)}/reply", data={**form, "body": "Sent."})
    late = sam.post(f"{ticket_url(world)}/draft", data={**form, "body": "Sent.", "quiet": "1"})
    assert late.json == {"saved": False, "outcome": "stale"}
    with web.app_context():
        assert db.session.query(ReplyDraft).count() == 0


def also_open(page: str) -> str:
    found = re.search(r'<p id="presence"[^>]*>\s*Also open by: <span class="others">(.*?)</span>', page, re.S)
    return html.unescape(found.group(1))


def test_the_page_lists_who_else_has_the_ticket_open_until_the_window_passes(web, world, sam, dana, clock):
    assert also_open(sam.get(ticket_url(world)).text) == ""
    assert also_open(dana.get(ticket_url(world)).text) == "Agent Person (viewing)"
    assert also_open(sam.get(ticket_url(world)).text) == "Dana Agent (viewing)"

    token = reply_form(dana.get(ticket_url(world)).text)["csrf_token"]
    clock.now += timedelta(seconds=90)
    beat = dana.post(f"{ticket_url(world)}/presence", data={"csrf_token": token, "activity": "replying"})
    assert beat.json == {"others": "Agent Person (viewing)"}  # Sam's load, 90 s ago
    assert also_open(sam.get(ticket_url(world)).text) == "Dana Agent (replying)"
    assert dana.post(f"{ticket_url(world)}/presence", data={"csrf_token": token, "activity": "gone"}
                     ).status_code == 400

    clock.now += timedelta(seconds=web.config["PRESENCE_WINDOW_SECONDS"] + 1)
    assert also_open(sam.get(ticket_url(world)).text) == "", "Dana gave no sign within the window"
    assert 'id="presence"' in sam.get(f"/tickets/{world.unmatched_ticket_id}").text


def test_a_draft_or_a_presence_is_kept_once_per_agent_and_ticket(app, session):
    factories.account(session)
    ticket = factories.archived(session, factories.message(1)).ticket
    sam = factories.agent(session)
    at = datetime(2026, 11, 30, 12, 0)
    assert drafts.save_draft(session, sam, ticket, "one", at) == "saved"
    assert drafts.save_draft(session, sam, ticket, "two", at) == "saved"
    session.commit()
    assert [d.body for d in session.query(ReplyDraft)] == ["two"]
    assert drafts.save_draft(session, sam, ticket, "   ", at) == "discarded"
    assert drafts.draft_of(session, sam, ticket) is None
    assert session.get(Ticket, ticket.id) is not None


def test_an_auto_reply_holds_nothing_and_a_message_moved_in_by_another_agent_does(app, session):
    from app.services import tickets
    from app.services.collisions import arrived_since, seen_marker

    factories.account(session)
    ticket = factories.archived(session, factories.message(1)).ticket
    elsewhere = factories.archived(session, factories.message(2, subject="Another matter")).ticket
    sam, dana = factories.agent(session), factories.agent(session, DANA, name="Dana Agent")
    seen = seen_marker(session, ticket)
    factories.archived(session, factories.message(3, in_reply_to="<test-1@customer.example>",
                                                  headers={"Auto-Submitted": "auto-replied"}))
    assert arrived_since(session, ticket, sam, seen) == []

    moved = elsewhere.messages.first()
    tickets.move_message(session, moved, ticket.id, dana)
    session.commit()
    (arrival,) = arrived_since(session, ticket, sam, seen)
    assert (arrival.kind, arrival.who, arrival.message_id) == ("moved", "Dana Agent", moved.id)
    assert arrived_since(session, ticket, dana, seen) == [], "what one did oneself holds nothing"
