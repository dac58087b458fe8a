"""Two agents on one ticket in headless Chromium: the reply box's draft is saved while the
agent types and is there after a reload; the page's heartbeat shows who else has the
ticket open; and a reply posted after another agent's is held, then sent anyway.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from tests import factories
from tests.browser import keep_on_loopback, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.conftest import BROWSER_TIMEOUT_MS

SAM, DANA = "sam@desk.example", "dana@desk.example"


@pytest.fixture
def ticket_url(live_server):
    app = live_server.app
    app.config["PRESENCE_HEARTBEAT_SECONDS"] = 1  # the heartbeat shows within a test's patience
    with app.app_context():
        factories.account(db.session, "Customer Co", domains=["customer.example"])
        factories.agent(db.session, SAM, name="Sam Agent")
        factories.agent(db.session, DANA, name="Dana Agent")
        ticket_id = factories.archived(db.session, factories.message(1, subject="Totals are wrong")).ticket_id
    return f"{live_server.url}/tickets/{ticket_id}"


@pytest.fixture
def second_page(browser):
    """Another agent's browser: its own cookies, kept on loopback."""
    context = browser.new_context()
    keep_on_loopback(context)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_a_typed_reply_is_still_there_after_a_reload(page, live_server, ticket_url):
    scripts = record_scripts(page)
    sign_in(page, live_server, SAM, factories.AGENT_PASSWORD)
    page.goto(ticket_url)
    page.fill("#reply textarea", "Looking at the totals now; more soon.")
    page.locator("#reply .draft-status", has_text="Draft saved.").wait_for()

    page.reload()
    assert page.input_value("#reply textarea") == "Looking at the totals now; more soon."
    assert scripts.errors == [] and live_server.errors == []


def test_a_second_agent_sees_who_else_is_there_and_is_warned_before_replying_twice(
        page, second_page, live_server, ticket_url, smtp_server):
    live_server.app.config["SMTP_URL"] = smtp_server.url
    sam, dana = page, second_page
    sign_in(sam, live_server, SAM, factories.AGENT_PASSWORD)
    sign_in(dana, live_server, DANA, factories.AGENT_PASSWORD)
    sam.goto(ticket_url)
    dana.goto(ticket_url)
    assert "Also open by: Sam Agent (viewing)" in dana.inner_text("#presence")
    dana.fill("#reply textarea", "Dana's take on the totals.")
    # Sam's page learns of Dana from its heartbeat, without a reload.
    sam.locator("#presence", has_text="Dana Agent (replying)").wait_for()

    sam.fill("#reply textarea", "Sam's fix for the totals.")
    sam.click("#reply >> text=Send reply")
    assert "Reply sent." in sam.inner_text("main")
    assert len(smtp_server.wait_for(1)) == 1

    dana.click("#reply >> text=Send reply")
    warning = dana.locator(".held-reply")
    warning.wait_for()
    assert "Your reply was not sent." in warning.inner_text()
    assert "Sam Agent sent a reply" in warning.inner_text()
    assert "Sam's fix for the totals." in dana.inner_text(".thread")
    assert dana.input_value("#reply textarea") == "Dana's take on the totals."
    assert len(smtp_server.received) == 1

    dana.click("#reply input[value='Send anyway']")  # the button; the warning names it too
    assert "Reply sent." in dana.inner_text("main")
    assert len(smtp_server.wait_for(2)) == 2
    assert live_server.errors == []
