"""The reply box in headless Chromium: `r` puts the cursor in it, and a saved reply goes in
at the cursor without leaving the page.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import utcnow
from app.services import saved_replies
from tests import factories
from tests.browser import record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

EMAIL = "sam@desk.example"


@pytest.fixture
def ticket_id(live_server):
    with live_server.app.app_context():
        factories.account(db.session, "Customer Co", domains=["customer.example"])
        sam = factories.agent(db.session, EMAIL, name="Sam Agent")
        saved_replies.create(db.session, sam, "Fixed", "Ticket {ticket_number} is fixed, {customer_name}.",
                             True, utcnow())
        db.session.commit()
        message = factories.archived(db.session, factories.message(1, sender="Ann <ann@customer.example>"))
        return message.ticket_id


def test_r_focuses_the_reply_box_and_a_saved_reply_is_inserted_at_the_cursor(page, live_server, ticket_id):
    scripts = record_scripts(page)
    sign_in(page, live_server, EMAIL, factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/tickets/{ticket_id}")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "body"
    page.keyboard.type("Hello. ")
    address = page.url
    page.select_option("#saved-reply", label="Fixed")
    page.click("form[data-saved-replies] >> text=Insert")
    box = page.input_value("#reply textarea[name=body]")
    assert box.startswith(f"Hello. Ticket {ticket_id} is fixed, Ann.\n\nOn ")
    assert page.url == address, "inserted without reloading the page"
    assert scripts.errors == []
