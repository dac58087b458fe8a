"""Linking, moving, merging and undoing in the console with scripts off: linking starts with no
account and confirms a sender of another domain, moves and merges show a preview first, and
the history's Undo works within UNDO_MINUTES only.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Account, Message, Ticket, utcnow
from tests import factories
from tests.app import console_world
from tests.web import sign_in, submit


class Clock:
    """The application's clock here: it moves only when the test moves it."""

    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self):
        return self.at


@pytest.fixture
def world(web):
    return console_world.build(web)


@pytest.fixture
def clock(web):
    web.extensions["clock"] = clock = Clock()
    return clock


@pytest.fixture
def agent(web, world, clock):
    client = web.test_client()
    sign_in(client, "agent@desk.example")
    return client


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_linking_starts_with_no_account_and_refuses_to_link_without_one(web, agent, world):
    ticket = f"/tickets/{world.unmatched_ticket_id}"
    page = agent.get(ticket).text
    choice = re.search(r'<select id="link-\d+" name="account">(.*?)</select>', page, re.S).group(1)
    options = re.findall(r"<option ([^>]*)>([^<]*)</option>", choice)
    assert options[:2] == [
        ('value=""', "Choose an account"),
        ('value="new"', "New account from this sender&#39;s domain (elsewhere.example)"),
    ]
    assert "selected" not in choice and ('value="1"', "Leaky Widgets") in options
    refused = submit(agent, ticket, f"/messages/{world.unmatched_message_id}/link", {"account": ""})
    assert refused.status_code == 400
    assert (
        '<span class="field-error" id="account-error">Choose an account to link the message to.</span>'
        in (refused.text)
    )
    with web.app_context():
        assert db.session.get(Message, world.unmatched_message_id).account_id is None


def test_a_sender_of_another_domain_is_linked_only_after_a_confirmation_that_says_so(web, agent, world):
    ticket = f"/tickets/{world.unmatched_ticket_id}"
    link = f"/messages/{world.unmatched_message_id}/link"
    asked = submit(agent, ticket, link, {"account": str(world.account_id)})
    assert asked.status_code == 200
    assert (
        "Mail from someone@elsewhere.example will be linked to Leaky Widgets, "
        "whose domains are leaky.example." in asked.text
    )
    assert 'name="confirmed" value="yes"' in asked.text
    with web.app_context():
        assert db.session.get(Message, world.unmatched_message_id).account_id is None
    done = submit(
        agent, ticket, link, {"account": str(world.account_id), "confirmed": "yes"}, follow_redirects=True
    )
    assert "Message linked to Leaky Widgets." in done.text
    assert f"message {world.unmatched_message_id} linked to Leaky Widgets" in done.text
    with web.app_context():
        assert db.session.get(Ticket, world.unmatched_ticket_id).account_id == world.account_id


def test_a_new_account_is_made_from_the_senders_domain_but_never_from_a_public_one(web, agent, world):
    ticket = f"/tickets/{world.unmatched_ticket_id}"
    done = submit(
        agent,
        ticket,
        f"/messages/{world.unmatched_message_id}/link",
        {"account": "new"},
        follow_redirects=True,
    )
    assert "Message linked to elsewhere.example." in done.text
    with web.app_context():
        made = db.session.query(Account).filter_by(name="elsewhere.example").one()
        assert [d.domain for d in made.domains] == ["elsewhere.example"]
        assert [c.email for c in made.contacts] == ["someone@elsewhere.example"]
        public = factories.archived(db.session, factories.message(40, sender="pat@gmail.com"))
        public_id, public_ticket = public.id, public.ticket_id
    refused = submit(agent, f"/tickets/{public_ticket}", f"/messages/{public_id}/link", {"account": "new"})
    assert refused.status_code == 400
    assert (
        "gmail.com is a public mail provider, which names no company: "
        "link the message to an existing account instead." in refused.text
    )
    assert ">Leaky Widgets</option>" in refused.text, "the existing accounts are offered instead"
    with web.app_context():
        assert db.session.query(Account).filter_by(name="gmail.com").count() == 0


def test_moving_a_message_shows_a_preview_first_and_happens_on_confirmation(web, agent, world):
    source = f"/tickets/{world.unmatched_ticket_id}"
    preview = agent.get(f"/messages/{world.unmatched_message_id}/move/preview?ticket={world.ticket_id}")
    words = text_of(preview.text)
    assert f"Move this message to ticket #{world.ticket_id}?" in words
    assert f"Message {world.unmatched_message_id}: Question number 2 from someone@elsewhere.example" in words
    assert (
        f"The tickets belong to different accounts: ticket {world.unmatched_ticket_id} to no account, "
        f"ticket {world.ticket_id} to Leaky Widgets." in words
    )
    assert f"#{world.unmatched_ticket_id} Question number 2 no account 1 → 0 open → closed" in words
    assert f"#{world.ticket_id} HTML message number 1 Leaky Widgets 1 → 2 open" in words
    with web.app_context():
        assert db.session.get(Message, world.unmatched_message_id).ticket_id == world.unmatched_ticket_id
    done = submit(
        agent,
        preview.request.full_path,
        f"/messages/{world.unmatched_message_id}/move",
        {"ticket": str(world.ticket_id)},
        follow_redirects=True,
    )
    assert f"Message moved to ticket {world.ticket_id}." in done.text
    refused = agent.get(f"/messages/{world.message_id}/move/preview?ticket=999", follow_redirects=True)
    assert "Not done: there is no ticket 999." in refused.text
    assert source


def merge(agent, world):
    page = f"/tickets/{world.unmatched_ticket_id}/merge/preview?into={world.ticket_id}"
    return submit(
        agent,
        page,
        f"/tickets/{world.unmatched_ticket_id}/merge",
        {"into": str(world.ticket_id)},
        follow_redirects=True,
    )


def test_merging_shows_a_preview_then_merges_and_the_merged_ticket_leads_to_the_target(web, agent, world):
    preview = text_of(
        agent.get(f"/tickets/{world.unmatched_ticket_id}/merge/preview?into={world.ticket_id}").text
    )
    assert f"Merge ticket #{world.unmatched_ticket_id} into ticket #{world.ticket_id}?" in preview
    assert "The message that moves (1)" in preview and "The tickets belong to different accounts" in preview
    assert f"open → closed (merged into #{world.ticket_id})" in preview
    merged = merge(agent, world)
    assert f"Ticket {world.unmatched_ticket_id} merged into this one." in merged.text
    assert f"ticket {world.unmatched_ticket_id} merged here: 1 message and its history" in merged.text
    followed = agent.get(f"/tickets/{world.unmatched_ticket_id}", follow_redirects=True)
    assert followed.request.path == f"/tickets/{world.ticket_id}"
    assert f"Ticket #{world.unmatched_ticket_id} was merged into ticket #{world.ticket_id}." in followed.text
    with web.app_context():
        source = db.session.get(Ticket, world.unmatched_ticket_id)
        assert (source.status, source.merged_into_id) == ("closed", world.ticket_id)


def test_undo_from_the_history_restores_the_tickets_and_is_refused_after_the_window(web, agent, world, clock):
    page = merge(agent, world).text
    undo = re.search(r'action="(/changes/\d+/undo)"', page).group(1)
    undone = submit(
        agent, f"/tickets/{world.ticket_id}", undo, {"ticket": str(world.ticket_id)}, follow_redirects=True
    )
    assert f"Undone: ticket {world.unmatched_ticket_id} merged into ticket {world.ticket_id}." in undone.text
    with web.app_context():
        source = db.session.get(Ticket, world.unmatched_ticket_id)
        assert (source.status, source.merged_into_id, source.messages.count()) == ("open", None, 1)
    page = merge(agent, world).text
    undo = re.search(r'action="(/changes/\d+/undo)"', page).group(1)
    clock.at += timedelta(minutes=31)
    later = agent.get(f"/tickets/{world.ticket_id}").text
    assert undo not in later, "no Undo button once the window has passed"
    refused = submit(
        agent, f"/tickets/{world.ticket_id}", undo, {"ticket": str(world.ticket_id)}, follow_redirects=True
    )
    assert (
        "Not done: this change can no longer be undone: "
        "changes can be undone for 30 minutes after they are made." in refused.text
    )
    with web.app_context():
        assert db.session.get(Ticket, world.unmatched_ticket_id).merged_into_id == world.ticket_id
