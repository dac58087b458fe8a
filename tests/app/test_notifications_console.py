"""The notifications page, its unread count in every console page's header, marking read one
and all, and the choices on the settings page: forms and links only, as without scripts.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agent, Notification
from app.services import notifications, tickets
from tests import factories
from tests.web import sign_in, submit

START = datetime(2026, 6, 1, 9, 0)


@pytest.fixture
def desk(web):
    """Kim (in Paris) and Sam, two tickets Sam assigned to Kim, and Kim signed in."""
    web.extensions["clock"] = lambda: START
    with web.app_context():
        session = db.session
        factories.account(session, "Customer Co", domains=["customer.example"])
        kim = factories.agent(session, "kim@desk.example", name="Kim Agent")
        kim.time_zone = "Europe/Paris"
        sam = factories.agent(session, "sam@desk.example", name="Sam Agent")
        made = [factories.archived(session, factories.message(n)).ticket for n in (1, 2)]
        for ticket in made:
            tickets.assign(session, ticket, sam, kim.id)
        session.commit()
        ids = [t.id for t in made]
    client = web.test_client()
    assert sign_in(client, "kim@desk.example").status_code == 302
    return client, ids


def unread_badge(page: str) -> str | None:
    found = re.search(r'>Notifications <span class="badge[^"]*" title="unread">(\d+)<', page)
    return found.group(1) if found else None


def test_every_console_page_shows_the_unread_count_and_the_page_lists_them_newest_first(web, desk):
    client, (first, second) = desk
    for path in ("/tickets", "/accounts", "/settings", "/notifications"):
        assert unread_badge(client.get(path).text) == "2", path

    page = client.get("/notifications").text
    newest, oldest = (page.index(f'href="/tickets/{t}"') for t in (second, first))
    assert newest < oldest
    assert f"Sam Agent assigned ticket #{second} to you: Question number 2" in page
    assert "2026-06-01 11:00 CEST" in page  # the agent's time zone


def test_marking_one_read_then_all_read_clears_the_count(web, desk):
    client, _ = desk
    with web.app_context():
        ids = db.session.scalars(select(Notification.id).order_by(Notification.id)).all()
    done = submit(client, "/notifications", f"/notifications/{ids[0]}/read")
    assert done.status_code == 302 and done.location.endswith("/notifications")
    assert unread_badge(client.get("/tickets").text) == "1"

    page = submit(client, "/notifications", "/notifications/read", follow_redirects=True).text
    assert "1 notification marked read." in page
    assert unread_badge(page) is None and "Mark all read" not in page
    assert "Mark read" not in page


def test_opening_a_ticket_marks_what_was_told_about_it_read_and_nothing_else(web, desk):
    client, (first, second) = desk
    assert client.get(f"/tickets/{first}").status_code == 200
    page = client.get("/notifications").text
    assert unread_badge(page) == "1"
    assert re.search(rf'class="read"[^>]*>.*?href="/tickets/{first}"', page, re.S)
    assert re.search(rf'class="unread"[^>]*>.*?href="/tickets/{second}"', page, re.S)


def test_nobody_marks_another_agents_notification_read(web, desk):
    _, _ = desk
    lee = web.test_client()
    with web.app_context():
        factories.agent(db.session, "lee@desk.example", name="Lee Agent")
        theirs = db.session.scalar(select(Notification.id))
    sign_in(lee, "lee@desk.example")
    assert submit(lee, "/notifications", f"/notifications/{theirs}/read").status_code == 404
    assert "No notifications yet." in lee.get("/notifications").text
    with web.app_context():
        assert db.session.get(Notification, theirs).read_at is None


def boxes(page: str) -> dict[str, bool]:
    found = re.findall(r'<input([^>]*)name="((?:console|email)_\w+)"', page)
    return {name: " checked" in attributes for attributes, name in found}


def test_the_settings_page_shows_the_defaults_and_keeps_the_agents_choices(web, desk):
    client, _ = desk
    assert boxes(client.get("/settings").text) == {
        "console_assigned": True, "email_assigned": True, "console_answered": True,
        "email_answered": True, "console_access": True, "email_access": True,
        "console_grant_ending": True, "email_grant_ending": False}

    saved = submit(client, "/settings", "/settings/notifications",
                   {"console_assigned": "y", "email_grant_ending": "y"}, follow_redirects=True)
    assert "Notification settings saved." in saved.text
    chosen = boxes(saved.text)
    assert chosen["console_assigned"] and not chosen["email_assigned"] and chosen["email_grant_ending"]
    assert not chosen["console_answered"]
    with web.app_context():
        kim = db.session.scalar(select(Agent).where(Agent.email == "kim@desk.example"))
        assert notifications.preferences(db.session, kim)["access"] == notifications.Choice(False, False)
